import type { App } from 'aws-cdk-lib';

/** Where the synthesized app is meant to run. */
export const TARGETS = ['aws', 'localstack', 'local'] as const;
export type Target = (typeof TARGETS)[number];

/** Deployment stage: `prod` turns on Multi-AZ, deletion protection and retention of data. */
export const STAGES = ['dev', 'prod'] as const;
export type Stage = (typeof STAGES)[number];

export interface ShopConfig {
  /** @default 'aws' */
  readonly target: Target;
  /** @default 'dev' */
  readonly stage: Stage;
  /** Prefix of every stack name, e.g. `Shop-dev`. */
  readonly prefix: string;
}

function pick<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(
    `Context "${name}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}; got ${JSON.stringify(value)}. ` +
      `Example: cdk synth -c ${name}=${fallback}`,
  );
}

/** Reads and validates `-c target=…` and `-c stage=…`. */
export function readConfig(app: App): ShopConfig {
  const target = pick('target', app.node.tryGetContext('target'), TARGETS, 'aws');
  const stage = pick('stage', app.node.tryGetContext('stage'), STAGES, 'dev');
  return { target, stage, prefix: `Shop-${stage}` };
}
