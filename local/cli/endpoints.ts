import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EndpointsFile } from '../cloud/local-cloud.ts';

/** The running local cloud's endpoints, or a clear error telling how to start it. */
export function runningCloud(stateDir = path.join(process.cwd(), '.local')): EndpointsFile {
  const file = path.join(stateDir, 'endpoints.json');
  if (!existsSync(file)) {
    throw new Error('The local cloud is not running: start it with `npm start` (in another terminal) first.');
  }
  return JSON.parse(readFileSync(file, 'utf8')) as EndpointsFile;
}
