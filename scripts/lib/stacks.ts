import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

/**
 * The outputs of a deployed stack (`DescribeStacks`), as `{OutputKey: OutputValue}`, or `undefined`
 * when the stack does not exist. The client finds its endpoint the SDK's standard way
 * (`AWS_ENDPOINT_URL` for LocalStack, nothing for AWS).
 *
 * @example
 * const outputs = await stackOutputs(new CloudFormationClient({}), 'Shop-dev-Services');
 * console.log(outputs?.ApiUrl);
 */
export async function stackOutputs(
  client: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string> | undefined> {
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = Stacks?.[0];
    if (!stack) return undefined;
    return Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) return undefined;
    throw error;
  }
}

/** Like {@link stackOutputs}, but fails with a message naming the stack and the output. */
export async function requireOutput(
  client: CloudFormationClient,
  stackName: string,
  key: string,
): Promise<string> {
  const outputs = await stackOutputs(client, stackName);
  if (!outputs) throw new Error(`Stack ${stackName} is not deployed (DescribeStacks found nothing)`);
  const value = outputs[key];
  if (!value)
    throw new Error(`Stack ${stackName} has no output ${key} (outputs: ${Object.keys(outputs).join(', ')})`);
  return value;
}
