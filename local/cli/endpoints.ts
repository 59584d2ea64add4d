import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readControlToken } from '../cloud/control-token.ts';
import type { EndpointsFile } from '../cloud/local-cloud.ts';

/** The running local cloud's endpoints, or a clear error telling how to start it. */
export function runningCloud(
  stateDir = path.join(process.cwd(), '.local'),
): EndpointsFile & { stateDir: string } {
  const file = path.join(stateDir, 'endpoints.json');
  if (!existsSync(file)) {
    throw new Error('The local cloud is not running: start it with `npm start` (in another terminal) first.');
  }
  return { stateDir, ...(JSON.parse(readFileSync(file, 'utf8')) as EndpointsFile) };
}

/**
 * Calls the running cloud's control API (`/_local<route>`) with the control token from its state
 * directory.
 *
 * @example
 * const response = await controlFetch(runningCloud(), '/faults', { method: 'POST', body: '{"kind":"kill-postgres"}' });
 */
export function controlFetch(
  cloud: EndpointsFile & { stateDir: string },
  route: string,
  init: RequestInit = {},
): Promise<Response> {
  const token = readControlToken(cloud.stateDir);
  if (!token) throw new Error(`No control token in ${cloud.stateDir}: is the local cloud running there?`);
  return fetch(`${cloud.servicesUrl}/_local${route}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  });
}
