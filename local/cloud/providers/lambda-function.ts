import * as path from 'node:path';
import type { Provider } from './types.ts';

/** `AWS::Lambda::Function`: the bundled asset from the cloud assembly, run by the local Lambda runtime. */
export const lambdaFunction: Provider = ({ props, resource, env, name, arn }) => {
  const functionName = (props.FunctionName as string | undefined) ?? name();
  const functionArn = arn('lambda', `function:${functionName}`);
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string') throw new Error('no bundled asset (aws:asset:path)');
  env.runtime.add({
    name: functionName,
    arn: functionArn,
    codeDir: path.resolve(env.assemblyDir, assetPath),
    handler: String(props.Handler ?? 'index.handler'),
    runtime: String(props.Runtime ?? 'nodejs24.x'),
    environment: stringMap(props.Environment?.Variables),
    timeoutSeconds: Number(props.Timeout ?? 3),
    memoryMB: Number(props.MemorySize ?? 128),
    ...(props.ReservedConcurrentExecutions
      ? { maxConcurrency: Number(props.ReservedConcurrentExecutions) }
      : {}),
  });
  return { ref: functionName, attributes: { Arn: functionArn } };
};

function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
  );
}
