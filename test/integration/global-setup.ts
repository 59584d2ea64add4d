import { appendFileSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { type LocalCloud, startLocalCloud } from '../../local/cloud/local-cloud.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    consoleUrl: string;
    servicesUrl: string;
    stateDir: string;
    endpoints: LocalCloud['endpoints'];
    /** The replication in force (`SHOP_REPLICATION`, default exp:20ms) and DynamoDB Local behind it. */
    replication: { model: string; dynamodbLocal: string; postgresStandbyUrl?: string };
  }
}

/**
 * Starts the embedded local cloud once for the integration suite: fresh state in a directory of
 * its own (inside the repository, where the embedded Postgres may enter it), free ports, and a
 * full stop afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = path.resolve(import.meta.dirname, '../..');
  const stateDir = path.join(root, '.local', `test-${process.pid}`);
  // Every log line of the run goes to a file; deploy warnings also to the console.
  const logFile = path.join(root, '.local', 'integration-tests.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(logFile, '');
  // The synth is cached across runs (what the chaos harness does too): the cloud re-synthesizes
  // anyway when the sources' hash in `.source-hash` differs, so a stale cache costs nothing.
  const synthCache = path.join(root, '.local', 'integration-cdk.out');
  if (existsSync(synthCache)) {
    mkdirSync(stateDir, { recursive: true });
    cpSync(synthCache, path.join(stateDir, 'cdk.out'), { recursive: true });
  }
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      root,
      stateDir,
      fresh: true,
      apiPort: 0,
      emulatorPorts: { dynamodb: 0, s3: 0, postgres: 0 },
      log: (entry) => {
        appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
        if (entry.source === 'deploy') console.error(JSON.stringify(entry));
      },
    });
  } catch (error) {
    console.error(`local cloud failed to start; its log: ${logFile}`);
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  rmSync(synthCache, { recursive: true, force: true });
  cpSync(path.join(stateDir, 'cdk.out'), synthCache, { recursive: true });
  console.log(
    `local cloud for tests: ${cloud.apiUrl}, replication ${cloud.replication.model} (${JSON.stringify(cloud.timings)})`,
  );
  project.provide('apiUrl', cloud.apiUrl);
  project.provide('consoleUrl', cloud.consoleUrl);
  project.provide('servicesUrl', cloud.servicesUrl);
  project.provide('stateDir', stateDir);
  project.provide('endpoints', cloud.endpoints);
  project.provide('replication', {
    model: cloud.replication.model,
    dynamodbLocal: cloud.replication.dynamodbLocal,
    postgresStandbyUrl: cloud.replication.postgresStandby?.url,
  });
  return async () => {
    await cloud.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
}
