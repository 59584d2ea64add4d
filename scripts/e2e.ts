/**
 * `npm run test:e2e -- …`: runs the end-to-end suite (test/e2e) against a deployed target.
 *
 *   --url <api> [--token-cmd "<cmd>"]   any deployment: the API's base URL; tokens from `<cmd> <userId>
 *                                       [--admin]` (default `node local/cli/token.ts`, the key that
 *                                       the local cloud and deploy-localstack.sh use)
 *   --target localstack                 reads the URL from the stack outputs in LocalStack
 *                                       (AWS_ENDPOINT_URL, default http://127.0.0.1:4566)
 *   --target aws                        reads the outputs with your AWS credentials, creates Cognito
 *                                       test users for the run and deletes them afterwards
 *   --stage dev|prod                    (default dev)
 *   --etl auto|yes|no                   run the ETL test? auto: when the target has the ETL stack
 *   --timeout <seconds>                 deadline for asynchronous effects (default 90, 300 on AWS)
 *   --reporter, --output-file           passed to vitest
 *
 * Exits with vitest's status.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { OUTPUTS } from '../infra/stacks/services-stack.ts';
import type { E2eContext } from '../test/e2e/context.ts';
import { cognitoTestUsers } from './lib/cognito-users.ts';
import { stackOutputs } from './lib/stacks.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const USERS = ['admin', 'alice', 'bob'] as const;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'token-cmd': { type: 'string' },
    target: { type: 'string' },
    stage: { type: 'string', default: 'dev' },
    etl: { type: 'string', default: 'auto' },
    timeout: { type: 'string' },
    reporter: { type: 'string' },
    'output-file': { type: 'string' },
  },
});

function usage(message: string): never {
  console.error(
    `${message}\nUsage: npm run test:e2e -- --url <api> [--token-cmd "<cmd>"] | --target localstack|aws`,
  );
  process.exit(2);
}

const target = values.target ?? (values.url ? 'url' : usage('Give --url or --target'));
if (!['url', 'localstack', 'aws'].includes(target))
  usage(`--target must be localstack or aws, got "${target}"`);
if (!['auto', 'yes', 'no'].includes(values.etl)) usage(`--etl must be auto, yes or no, got "${values.etl}"`);
const prefix = `Shop-${values.stage}`;
const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const cleanups: (() => Promise<void>)[] = [];

/** Tokens from a command that prints one for `<userId> [--admin]` (`npm run token` and the like). */
function tokensFromCommand(command: string): E2eContext['tokens'] {
  const token = (user: string) =>
    execFileSync(
      'sh',
      [
        '-c',
        `${command} "$@"`,
        'token-cmd',
        `e2e-${runId}-${user}`,
        ...(user === 'admin' ? ['--admin'] : []),
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ).trim();
  return Object.fromEntries(USERS.map((user) => [user, token(user)])) as E2eContext['tokens'];
}

/** `GET /etl/runs` as admin: 200 where the route exists. */
async function probeEtl(url: string, adminToken: string): Promise<E2eContext['etl']> {
  const response = await fetch(`${url}/etl/runs?limit=1`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  if (response.ok) return { enabled: true };
  if (response.status === 404 || response.status === 403) {
    return { enabled: false, reason: `the API has no /etl/runs route (HTTP ${response.status})` };
  }
  throw new Error(`GET /etl/runs: HTTP ${response.status} ${await response.text()}`);
}

async function resolveContext(): Promise<E2eContext> {
  let url = values.url;
  let tokens: E2eContext['tokens'] | undefined;
  let etl: E2eContext['etl'] | undefined;
  if (target === 'localstack' || target === 'aws') {
    if (target === 'localstack') {
      process.env.AWS_ENDPOINT_URL ??= 'http://127.0.0.1:4566';
      process.env.AWS_ACCESS_KEY_ID ??= 'test';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
      process.env.AWS_REGION ??= 'us-east-1';
    }
    const cloudformation = new CloudFormationClient({});
    const services = await stackOutputs(cloudformation, `${prefix}-Services`);
    if (!services?.[OUTPUTS.apiUrl])
      throw new Error(`${prefix}-Services is not deployed or has no ${OUTPUTS.apiUrl} output`);
    // LocalStack serves every API under its own endpoint, which works offline (the execute-api host
    // names in ApiUrl need DNS): <endpoint>/_aws/execute-api/<apiId>/<stage>.
    url ??=
      target === 'localstack'
        ? `${process.env.AWS_ENDPOINT_URL}/_aws/execute-api/${services[OUTPUTS.apiId]}/v1`
        : services[OUTPUTS.apiUrl];
    const hasEtl = (await stackOutputs(cloudformation, `${prefix}-Etl`)) !== undefined;
    if (values.etl === 'auto')
      etl = hasEtl ? { enabled: true } : { enabled: false, reason: `no ${prefix}-Etl stack on ${target}` };
    if (target === 'aws' && !values['token-cmd']) {
      const userPoolId = services[OUTPUTS.userPoolId];
      const clientId = services[OUTPUTS.e2eClientId];
      if (!userPoolId || !clientId)
        throw new Error(`${prefix}-Services has no ${OUTPUTS.userPoolId}/${OUTPUTS.e2eClientId} outputs`);
      const users = await cognitoTestUsers({ userPoolId, clientId, runId, users: USERS, admins: ['admin'] });
      cleanups.push(users.remove);
      tokens = users.tokens as E2eContext['tokens'];
    }
  }
  if (!url) usage('No API URL');
  url = url.replace(/\/+$/, '');
  tokens ??= tokensFromCommand(
    values['token-cmd'] ?? `${JSON.stringify(process.execPath)} local/cli/token.ts`,
  );
  if (values.etl !== 'auto')
    etl = { enabled: values.etl === 'yes', reason: values.etl === 'no' ? '--etl no' : undefined };
  etl ??= await probeEtl(url, tokens.admin);
  const timeoutMs = Number(values.timeout ?? (target === 'aws' ? 300 : 90)) * 1000;
  if (!(timeoutMs > 0)) usage(`--timeout must be a number of seconds, got "${values.timeout}"`);
  return { url, target, runId, tokens, etl, timeoutMs };
}

let status = 1;
try {
  const context = await resolveContext();
  console.log(
    `e2e: ${context.url} (target ${context.target}, run ${context.runId}; ETL ${context.etl.enabled ? 'on' : `skipped: ${context.etl.reason}`})`,
  );
  const args = ['run', '--config', 'vitest.e2e.config.ts'];
  if (values.reporter) args.push(`--reporter=${values.reporter}`);
  if (values['output-file']) args.push(`--outputFile=${values['output-file']}`);
  const vitest = spawn(process.execPath, [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), ...args], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, SHOP_E2E: JSON.stringify(context) },
  });
  status = await new Promise<number>((resolve) =>
    vitest.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
} catch (error) {
  console.error(`e2e: ${(error as Error).message}`);
} finally {
  for (const cleanup of cleanups)
    await cleanup().catch((error) => console.error(`e2e cleanup: ${error.message}`));
}
process.exit(status);
