import type { Node } from 'constructs';

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
  /**
   * Who verifies bearer tokens: a Cognito authorizer (`aws`), a Lambda TOKEN authorizer in API
   * Gateway, or the functions' own HTTP middleware (`AUTH_JWT_ROUTES`), for LocalStack Community,
   * which has no `AWS::ApiGateway::Authorizer`. `-c auth=authorizer|middleware` picks one off AWS.
   * @default 'cognito' on aws, 'middleware' on localstack, 'authorizer' on local
   */
  readonly auth: ApiAuth;
  /**
   * The functions' CPU architecture. `-c architecture=arm64|x86_64`.
   * @default 'arm64' (Graviton), but the host's architecture on `localstack`, whose Lambda containers
   * would otherwise need QEMU emulation, and on `local`, whose functions run in the host's Node (native
   * modules in an asset are built for the function's architecture).
   */
  readonly architecture: Architecture;
  /**
   * `-c globalTableReplica=<region>` (target aws): the consistency lab's table becomes a global table
   * with a replica there, for the partition scenario. Needs `-c region=<home region>`: replicas need
   * a stack bound to its region.
   */
  readonly globalTableReplica?: string;
  /** `-c region=<region>`: binds the stacks to a region (otherwise they are region-agnostic). */
  readonly region?: string;
}

const REGION_NAME = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

export const API_AUTH = ['cognito', 'authorizer', 'middleware'] as const;
export type ApiAuth = (typeof API_AUTH)[number];
export const ARCHITECTURES = ['arm64', 'x86_64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** The architecture of the machine running the synth, as Lambda names it. */
export const hostArchitecture = (): Architecture => (process.arch === 'arm64' ? 'arm64' : 'x86_64');

function pick<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(
    `Context "${name}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}; got ${JSON.stringify(value)}. ` +
      `Example: cdk synth -c ${name}=${fallback}`,
  );
}

/**
 * Reads and validates `-c target=…`, `-c stage=…`, `-c auth=…` and `-c architecture=…` from the app
 * (or any construct in it).
 */
export function readConfig(scope: { node: Node }): ShopConfig {
  const context = (name: string) => scope.node.tryGetContext(name);
  const target = pick('target', context('target'), TARGETS, 'aws');
  const stage = pick('stage', context('stage'), STAGES, 'dev');
  const defaultAuth = ({ aws: 'cognito', localstack: 'middleware', local: 'authorizer' } as const)[target];
  const auth = pick('auth', context('auth'), API_AUTH, defaultAuth);
  if ((auth === 'cognito') !== (target === 'aws')) {
    throw new Error(
      `Context "auth" is "cognito" on target=aws and only there; got auth=${auth} with target=${target}`,
    );
  }
  const architecture = pick(
    'architecture',
    context('architecture'),
    ARCHITECTURES,
    target === 'aws' ? 'arm64' : hostArchitecture(),
  );
  const region = context('region') as string | undefined;
  const globalTableReplica = context('globalTableReplica') as string | undefined;
  for (const [name, value] of [
    ['region', region],
    ['globalTableReplica', globalTableReplica],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || !REGION_NAME.test(value)))
      throw new Error(
        `Context "${name}" must be an AWS region such as eu-west-1; got ${JSON.stringify(value)}`,
      );
  }
  if (globalTableReplica && (target !== 'aws' || !region || region === globalTableReplica)) {
    throw new Error(
      '-c globalTableReplica=<region> needs -c target=aws and -c region=<another home region> (e.g. -c region=eu-west-1 -c globalTableReplica=us-east-1)',
    );
  }
  return {
    target,
    stage,
    prefix: `Shop-${stage}`,
    auth,
    architecture,
    ...(region ? { region } : {}),
    ...(globalTableReplica ? { globalTableReplica } : {}),
  };
}
