/**
 * `node scripts/migrate-deployed.ts --stack Shop-dev-Database`: applies the database migrations of a
 * deployed stack by invoking its migration function (stack output `MigrateFunctionName`), for targets
 * that cannot run the `Custom::DatabaseMigrations` custom resource (LocalStack Community).
 * `deploy-localstack.sh` runs it after every deploy; it is idempotent (applied migrations are skipped).
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient, waitUntilFunctionActiveV2 } from '@aws-sdk/client-lambda';
import { MIGRATE_FUNCTION_OUTPUT } from '../infra/stacks/database-stack.ts';
import { requireOutput } from './lib/stacks.ts';

const { values } = parseArgs({ options: { stack: { type: 'string', default: 'Shop-dev-Database' } } });
const stack = values.stack as string;

const functionName = await requireOutput(new CloudFormationClient({}), stack, MIGRATE_FUNCTION_OUTPUT);
const lambda = new LambdaClient({});
// A function just created may still be Pending (LocalStack pulls its runtime image on first use).
await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 300 }, { FunctionName: functionName });
const result = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: '{}' }));
const payload = new TextDecoder().decode(result.Payload ?? new Uint8Array());
if (result.FunctionError) {
  console.error(`migrations failed in ${functionName}: ${payload}`);
  process.exit(1);
}
const { applied } = JSON.parse(payload) as { applied: string[] };
console.log(
  `migrations applied by ${functionName}: ${applied.length ? applied.join(', ') : 'none pending (schema up to date)'}`,
);
