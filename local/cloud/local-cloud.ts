import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  DEFAULT_LAG_MODEL,
  formatLagModel,
  lagMeanMs,
  parseLagModel,
} from '../../shared/lab/domain/lag-model.ts';
import { LogBuffer } from '../console/log-buffer.ts';
import { freePort, type LocalEmulators, startAll } from '../emulators/index.ts';
import type { Emulator, PostgresEmulator } from '../emulators/types.ts';
import type { LocalEventBridge } from '../eventbridge/bus.ts';
import type { LocalExperiments } from '../faults/experiments.ts';
import type { FaultController } from '../faults/index.ts';
import type { LambdaRuntime } from '../lambda/runtime.ts';
import { adoptPromotedPrimary, type PostgresReplicaSet } from '../replication/failover.ts';
import type { GlobalTableRegions } from '../replication/global-table.ts';
import type { Link } from '../replication/link.ts';
import type { PostgresStandby } from '../replication/postgres.ts';
import type { LocalStepFunctions } from '../stepfunctions/service.ts';
import { ACCOUNT_ID, REGION } from './account.ts';
import { readAssembly, synthesize } from './assembly.ts';
import { ensureControlToken, isControlAuthorized, redactSecrets } from './control-token.ts';
import type { CustomResourceResponse, Deployment, DeployState } from './deploy.ts';
import { ensureSigningKey, type SigningKey } from './signing-key.ts';

/**
 * What the cloud needs once its emulators run (the AWS SDK clients, the Lambda runtime, the bus, the
 * deploy, the console...): imported while the emulators start, not before (about 0.5 s of module
 * loading that the JVM's start would otherwise wait for).
 */
const loadServices = async () => {
  const [
    dynamodb,
    s3,
    consoleServer,
    bus,
    experiments,
    faults,
    runtime,
    replication,
    failover,
    global,
    sfn,
    deploy,
  ] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-s3'),
    import('../console/server.ts'),
    import('../eventbridge/bus.ts'),
    import('../faults/experiments.ts'),
    import('../faults/index.ts'),
    import('../lambda/runtime.ts'),
    import('../replication/dynamodb.ts'),
    import('../replication/failover.ts'),
    import('../replication/global-table.ts'),
    import('../stepfunctions/service.ts'),
    import('./deploy.ts'),
  ]);
  return {
    DynamoDBClient: dynamodb.DynamoDBClient,
    S3Client: s3.S3Client,
    ConsoleServer: consoleServer.ConsoleServer,
    LocalEventBridge: bus.LocalEventBridge,
    LocalExperiments: experiments.LocalExperiments,
    FaultController: faults.FaultController,
    LambdaRuntime: runtime.LambdaRuntime,
    WorkerBudget: runtime.WorkerBudget,
    startDynamoDbReplication: replication.startDynamoDbReplication,
    linkFaultKinds: failover.linkFaultKinds,
    startReplicaSet: failover.startReplicaSet,
    GLOBAL_LAB_TABLE: global.GLOBAL_LAB_TABLE,
    REGIONS: global.REGIONS,
    startGlobalTableRegions: global.startGlobalTableRegions,
    LocalStepFunctions: sfn.LocalStepFunctions,
    deployStacks: deploy.deployStacks,
  };
};

export { ACCOUNT_ID, REGION };

/** s3rver only accepts its own key pair; DynamoDB Local and the local bus accept any. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalCloudOptions {
  /** Repository root (cdk.json lives here). */
  root: string;
  /** Where state persists between runs. @default `<root>/.local` */
  stateDir?: string;
  /** Delete the state (tables, objects, database) first; the token signing key is kept. @default false */
  fresh?: boolean;
  /** Preferred API port; another free one is used when it is busy. @default 3000 */
  apiPort?: number;
  /** Preferred web console port (0: any free one). @default the API port + 1 (3001) */
  consolePort?: number;
  /** Use this Postgres instead of the embedded one. */
  databaseUrl?: string;
  /** Preferred emulator ports (0: any free one). @default the emulators' usual ports, or free ones when busy */
  emulatorPorts?: { dynamodb?: number; s3?: number; postgres?: number };
  /** @default 'dev' */
  stage?: 'dev' | 'prod';
  /**
   * Replica lag model of the replicated DynamoDB (`local/replication/`): `off`, `exp:20ms`,
   * `uniform:5-200ms`, `fixed:50ms`. @default `SHOP_REPLICATION` from the environment, else {@link DEFAULT_LAG_MODEL}
   */
  replication?: string;
  /**
   * `recovery_min_apply_delay` of the Postgres read replica, in ms (with replication on and the
   * embedded Postgres). @default `SHOP_PG_APPLY_DELAY_MS` from the environment, else the lag model's
   * mean (20 ms for the default `exp:20ms`), so the replica lags like the DynamoDB followers
   */
  postgresApplyDelayMs?: number;
  /** Receives every log line (functions, gateway, bus, deploy) as an object. */
  log?: (entry: Record<string, unknown>) => void;
  /**
   * Embedded Postgres without fsync and with asynchronous commit: faster, and a crash loses
   * transactions already answered as committed. @default false (durable)
   */
  unsafeFastPostgres?: boolean;
  /** Idle function workers are stopped after this many seconds, so their memory returns. @default 60 */
  workerIdleSeconds?: number;
  /**
   * Live function workers (each its own Node process) across all functions; when the budget is full a
   * new one replaces the least recently used idle one. @default 4 per CPU (`defaultWorkerBudget`)
   */
  maxWorkers?: number;
  /**
   * Endpoints the functions get instead of the emulators' own, e.g. the metering proxies of
   * `npm run cost` (scripts/cost/). The deploy still talks to the emulators directly.
   */
  functionEndpoints?: (emulators: {
    dynamodb: string;
    s3: string;
  }) => Promise<{ dynamodb?: string; s3?: string }>;
}

export interface LocalCloud {
  /** The API's base URL, with its stage: `http://127.0.0.1:3000/v1`. */
  apiUrl: string;
  /** The web console (`web/`), allowed by the API's CORS configuration. */
  consoleUrl: string;
  /** EventBridge API endpoint and the local control API (`/_local/...`). */
  servicesUrl: string;
  endpoints: {
    dynamodb: string;
    s3: string;
    eventbridge: string;
    databaseUrl: string;
    databaseReaderUrl: string;
  };
  /**
   * The replication in force: the lag model's spec (`off` when none), DynamoDB Local's own endpoint,
   * and the Postgres replica set (primary, standby, the links clients and the standby go through).
   */
  replication: {
    model: string;
    dynamodbLocal: string;
    postgresStandby?: PostgresStandby;
    postgres?: PostgresReplicaSet;
  };
  signingKey: SigningKey;
  runtime: LambdaRuntime;
  bus: LocalEventBridge;
  stepFunctions: LocalStepFunctions;
  faults: FaultController;
  deployment: Deployment;
  /** The secret the control API (`/_local/...`) requires, also in `<stateDir>/control-token`. */
  controlToken: string;
  /** Milliseconds from the call to ready, and the parts of it. */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

/** Written to `<stateDir>/endpoints.json` while the cloud runs, for `npm run invoke` and friends. */
export interface EndpointsFile {
  apiUrl: string;
  consoleUrl?: string;
  servicesUrl: string;
  pid: number;
  functions: string[];
  /**
   * The emulators' endpoints, for tools that read the local stores (e.g. `npm run lake:query`).
   * `postgres` has no credentials (the embedded one's are `postgres`/`postgres`).
   */
  endpoints?: {
    dynamodb: string;
    s3: string;
    postgres?: string;
    /** The Postgres read replica (streaming standby), when replication is on. */
    postgresReader?: string;
    /** DynamoDB Local itself, behind the replication proxy (`dynamodb`) when replication is on. */
    dynamodbLocal?: string;
  };
  /** Where the state lives; the control token is in `<stateDir>/control-token`. */
  stateDir?: string;
}

/**
 * Starts the embedded local cloud: the emulators, a synth of the CDK app with `target=local`, and a
 * deploy of that template onto them (tables, buckets, database migrations, functions, API routes,
 * event rules). Resolves when the API answers.
 *
 * @example
 * const cloud = await startLocalCloud({ root: process.cwd() });
 * console.log(cloud.apiUrl); // http://127.0.0.1:3000/v1
 * await cloud.stop();
 */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const mark = (name: string, since: number) => {
    timings[name] = Math.round(performance.now() - since);
  };
  const logs = new LogBuffer();
  const log = (entry: Record<string, unknown>) => {
    logs.push(entry);
    options.log?.(entry);
  };
  const stateDir = path.resolve(options.stateDir ?? path.join(options.root, '.local'));
  const stage = options.stage ?? 'dev';
  const lagModel = parseLagModel(options.replication ?? (process.env.SHOP_REPLICATION || DEFAULT_LAG_MODEL));
  if (options.fresh) {
    for (const part of [
      'dynamodb',
      's3',
      'postgres',
      'postgres-standby',
      'postgres-promoted',
      'state.json',
      'dead-letters.jsonl',
      'eventbridge',
    ]) {
      rmSync(path.join(stateDir, part), { recursive: true, force: true });
    }
    // Standbys rebuilt after a failover.
    for (const part of existsSync(stateDir) ? readdirSync(stateDir) : []) {
      if (part.startsWith('postgres-standby.'))
        rmSync(path.join(stateDir, part), { recursive: true, force: true });
    }
  }
  mkdirSync(stateDir, { recursive: true });
  if (lagModel.kind !== 'off' && !options.databaseUrl) {
    // A failover in the last run: go on from the promoted primary.
    await adoptPromotedPrimary(stateDir, (message) => log({ source: 'replication', message }));
  }
  const controlToken = ensureControlToken(stateDir);
  const assemblyDir = path.join(stateDir, 'cdk.out');

  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
    stoppers.length = 0;
  };

  try {
    const t0 = performance.now();
    // Each part starts as soon as what it needs is there: the services' modules load while the
    // emulators start, the Postgres standby starts once Postgres answers and the DynamoDB replication
    // once DynamoDB Local does (DynamoDB Local's JVM is the slowest to start).
    let startedEmulators: LocalEmulators | undefined;
    stoppers.push(async () => {
      await startedEmulators?.stop();
    });
    const postgresUp = deferred<PostgresEmulator>();
    const dynamodbUp = deferred<Emulator>();
    // The synth check and the module loading wait until the emulators' processes are started: on the
    // main thread before that, they delayed DynamoDB Local's spawn by about 0.5 s.
    const spawned = deferred<void>();
    const toSpawn = new Set(['dynamodb', 's3', ...(options.databaseUrl ? [] : ['postgres'])]);
    const emulatorsStarting = startAll({
      stateDir,
      databaseUrl: options.databaseUrl,
      ports: options.emulatorPorts,
      unsafeFastPostgres: options.unsafeFastPostgres,
      dynamodbClassArchive: true,
      onSpawn: (name) => {
        toSpawn.delete(name);
        if (toSpawn.size === 0) spawned.resolve();
      },
      onReady: (name, emulator) => {
        if (name === 'postgres') postgresUp.resolve(emulator as PostgresEmulator);
        if (name === 'dynamodb') dynamodbUp.resolve(emulator);
      },
      // Postgres' own lines (crash recovery, a stale lock cleared, FATALs) go to the log; the
      // others' request logs would drown it.
      onLog: (name, line) => {
        // (not the readiness probe's "the database system is starting up", several a second)
        if (name === 'postgres' && !line.includes('is starting up'))
          log({ source: 'postgres', message: line });
      },
    }).then(
      (e) => {
        startedEmulators = e;
        spawned.resolve();
        mark('emulators', t0);
        return e;
      },
      (error: unknown) => {
        spawned.resolve();
        postgresUp.reject(error);
        dynamodbUp.reject(error);
        throw error;
      },
    );
    const assembly = spawned.promise
      .then(() =>
        synthesize({
          root: options.root,
          outdir: assemblyDir,
          context: { target: 'local', stage, 'shop:nag': false },
        }),
      )
      .then((s) => {
        // Its own duration: it starts once the emulators' processes are started.
        timings[s.cached ? 'synth (cached)' : 'synth'] = Math.round(s.durationMs);
        // Read (and schema-check) the assembly while the emulators are still starting.
        return readAssembly(assemblyDir);
      });
    const servicesLoading = spawned.promise.then(loadServices);

    // Replicas (local/replication/): DynamoDB behind a replicating proxy, Postgres with a streaming standby.
    const replicationMarker = path.join(stateDir, 'dynamodb', 'replication-clean');
    const links = new Map<string, Link>();
    // Its time in the ready line is what it takes after DynamoDB Local answered (the Postgres standby
    // started earlier, while the JVM was starting): what it adds to the start.
    let dynamodbAnswered: number | undefined;
    const replicating = async () => {
      const { startDynamoDbReplication, startReplicaSet, startGlobalTableRegions } = await servicesLoading;
      const setStarting = options.databaseUrl
        ? undefined
        : postgresUp.promise.then(async (primary) => {
            const set = await startReplicaSet({
              stateDir,
              primary,
              applyDelayMs:
                options.postgresApplyDelayMs ??
                (process.env.SHOP_PG_APPLY_DELAY_MS
                  ? Number(process.env.SHOP_PG_APPLY_DELAY_MS)
                  : Math.round(lagMeanMs(lagModel))),
              log,
            });
            links.set('postgres-replication', set.replication);
            stoppers.push(() => set.stop());
            return set;
          });
      const proxyStarting = dynamodbUp.promise.then(async (dynamodb) => {
        dynamodbAnswered = performance.now();
        const replication = await startDynamoDbReplication({
          upstream: dynamodb.endpoint,
          model: lagModel,
          cleanMarker: replicationMarker,
          log,
        });
        stoppers.push(() => replication.stop());
        return replication;
      });
      const [set, proxy] = await allOrFirstError([setStarting, proxyStarting] as const);
      let regions: GlobalTableRegions | undefined;
      if (set) {
        // Two regions for the partition scenario: a global table and the us path to the eu primary.
        const globalRegions = await startGlobalTableRegions({
          upstream: (await dynamodbUp.promise).endpoint,
          postgresUrl: set.url,
          log,
        });
        regions = globalRegions;
        links.set('regions', globalRegions.link);
        stoppers.push(() => globalRegions.stop());
      }
      if (dynamodbAnswered !== undefined) mark('replication', dynamodbAnswered);
      return { set, proxy, regions };
    };
    if (lagModel.kind === 'off') rmSync(replicationMarker, { force: true }); // the copies fall behind while replication is off
    // Everything settles before a failure is thrown, so that what did start is stopped.
    const [emulators, stacks, signingKey, services, replicas] = await allOrFirstError([
      emulatorsStarting,
      assembly,
      ensureSigningKey(path.join(stateDir, 'keys')),
      servicesLoading,
      lagModel.kind === 'off' ? undefined : replicating(),
    ] as const);
    const {
      ConsoleServer,
      DynamoDBClient,
      FaultController,
      GLOBAL_LAB_TABLE,
      LambdaRuntime,
      LocalEventBridge,
      LocalExperiments,
      LocalStepFunctions,
      REGIONS,
      S3Client,
      WorkerBudget,
      deployStacks,
      linkFaultKinds,
    } = services;
    const dynamodbEndpoint = replicas?.proxy.endpoint ?? emulators.dynamodb.endpoint;
    const postgresSet: PostgresReplicaSet | undefined = replicas?.set;
    const regions = replicas?.regions;

    const servicesServer = await listen(createServer(), 0);
    stoppers.push(() => close(servicesServer));
    const servicesUrl = `http://127.0.0.1:${(servicesServer.address() as AddressInfo).port}`;
    // The console listens before the deploy: the API's CORS configuration names its origin.
    let apiUrl = '';
    const consoleServer = new ConsoleServer({
      signingKey,
      apiUrl: () => apiUrl,
      controlUrl: servicesUrl,
      controlToken,
      logs,
    });
    const preferredConsole =
      options.consolePort ?? (options.apiPort === 0 ? 0 : (options.apiPort ?? 3000) + 1);
    const consoleUrl = await consoleServer.listen(
      preferredConsole === 0 ? 0 : await freePort(preferredConsole),
    );
    stoppers.push(() => consoleServer.close());
    const endpoints = {
      dynamodb: dynamodbEndpoint,
      s3: emulators.s3.endpoint,
      eventbridge: servicesUrl,
      // Through the replica set's endpoint link, which follows a failover (as RDS' endpoint name does).
      databaseUrl: postgresSet?.url ?? emulators.postgres.url,
      // The read replica (the primary itself when replication is off or Postgres is external).
      databaseReaderUrl: postgresSet?.readerUrl ?? emulators.postgres.url,
    };

    const forFunctions = { ...endpoints, ...(await options.functionEndpoints?.(endpoints)) };
    const runtime = new LambdaRuntime({
      // What LocalStack gives its Lambdas too: endpoints and settings through the SDK's standard variables.
      baseEnv: {
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: forFunctions.dynamodb,
        AWS_ENDPOINT_URL_S3: forFunctions.s3,
        AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
        AWS_ENDPOINT_URL_SFN: endpoints.eventbridge,
        AWS_ENDPOINT_URL_FIS: endpoints.eventbridge,
        AWS_S3_FORCE_PATH_STYLE: 'true',
        // s3rver corrupts streamed uploads that carry the SDK's default checksums.
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        // There is no X-Ray daemon locally.
        POWERTOOLS_TRACE_ENABLED: 'false',
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      },
      log,
      idleTimeoutMs: (options.workerIdleSeconds ?? 60) * 1000,
      workerBudget: new WorkerBudget(options.maxWorkers),
    });
    stoppers.push(() => runtime.stop());

    const stepFunctions = new LocalStepFunctions({
      region: REGION,
      accountId: ACCOUNT_ID,
      log,
      // Retries happen as defined; only their pauses are shortened to keep local runs quick.
      retryIntervalMs: 200,
      invoke: async (functionArn, payload) => {
        const fn = runtime.get(functionArn);
        if (!fn)
          throw Object.assign(new Error(`No function ${functionArn}`), {
            name: 'Lambda.ResourceNotFoundException',
          });
        const result = await fn.invoke(payload);
        if (result.ok) return result.payload;
        throw Object.assign(new Error(result.error.errorMessage), { name: result.error.errorType });
      },
    });
    stoppers.push(() => stepFunctions.idle());

    const bus = new LocalEventBridge({
      region: REGION,
      accountId: ACCOUNT_ID,
      deadLetterFile: path.join(stateDir, 'dead-letters.jsonl'),
      stateDir: path.join(stateDir, 'eventbridge'),
      log,
      invoke: async (targetArn, payload) => {
        // A rule targeting a state machine (e.g. the daily ETL schedule) starts an execution.
        if (stepFunctions.has(targetArn)) {
          stepFunctions.startExecution(targetArn, payload);
          return;
        }
        const fn = runtime.get(targetArn);
        if (!fn) throw new Error(`target ${targetArn} is not a local function`);
        const result = await fn.invoke(payload);
        if (!result.ok) throw new Error(`${result.error.errorType}: ${result.error.errorMessage}`);
      },
    });
    stoppers.push(async () => {
      await bus.idle();
      bus.close();
    });

    const pendingResponses = new Map<string, (response: CustomResourceResponse) => void>();
    const statePath = path.join(stateDir, 'state.json');
    const state: DeployState = existsSync(statePath)
      ? (JSON.parse(readFileSync(statePath, 'utf8')) as DeployState)
      : { customResources: {} };

    const faults = new FaultController(
      {
        postgres: options.databaseUrl ? undefined : (postgresSet?.faultTarget() ?? emulators.postgres),
        dynamodb: emulators.dynamodb,
        functions: {
          names: () => runtime.list().map((f) => f.name),
          workers: (name) => runtime.get(name)?.workers() ?? [],
          addInvocationFault: (name, fault) => runtime.get(name)?.addInvocationFault(fault) ?? (() => {}),
        },
      },
      log,
    );
    for (const kind of [...(postgresSet?.faultKinds() ?? []), ...(links.size ? linkFaultKinds(links) : [])])
      faults.register(kind);
    // The AWS FIS API's experiment calls, on the lab's faults (AWS_ENDPOINT_URL_FIS).
    const experiments = new LocalExperiments(faults);

    // Serve the EventBridge API and the control API (custom resources answer there) before deploying.
    let deployed: Deployment | undefined;
    const routes = () => deployed?.apis.flatMap((api) => api.describeRoutes()) ?? [];
    servicesServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target.startsWith('AWSStepFunctions.')) {
        void stepFunctions.handleHttp(req, res);
        return;
      }
      if (target) {
        void bus.handleHttp(req, res);
        return;
      }
      if (req.url?.startsWith('/experiments')) {
        void fisRequest(experiments, req, res);
        return;
      }
      void control(req, res, {
        runtime,
        bus,
        stepFunctions,
        faults,
        pendingResponses,
        routes,
        authorized: () => isControlAuthorized(req, controlToken, signingKey),
      });
    });

    const t1 = performance.now();
    const deployment = await deployStacks(stacks, {
      region: REGION,
      accountId: ACCOUNT_ID,
      assemblyDir,
      dynamodb: new DynamoDBClient({
        region: REGION,
        endpoint: endpoints.dynamodb,
        credentials: CREDENTIALS,
      }),
      s3: new S3Client({
        region: REGION,
        endpoint: endpoints.s3,
        credentials: CREDENTIALS,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
      runtime,
      bus,
      stepFunctions,
      parameters: {
        DatabaseUrl: endpoints.databaseUrl,
        DatabaseReaderUrl: endpoints.databaseReaderUrl,
        ReplicationModel: formatLagModel(lagModel),
        // The partition scenario's regions: each one's DynamoDB endpoint and Postgres URL.
        LabRegions: regions
          ? JSON.stringify({
              table: GLOBAL_LAB_TABLE,
              postgresHome: 'eu',
              regions: Object.fromEntries(
                REGIONS.map((r) => [r, { dynamodb: regions?.dynamodb[r], postgres: regions?.postgres[r] }]),
              ),
            })
          : '',
        JwtPublicJwk: JSON.stringify(signingKey.publicJwk),
        ConsoleOrigin: consoleUrl,
      },
      state,
      warn: (line) => log({ level: 'WARN', source: 'deploy', message: line }),
      log,
      runCustomResource: async (functionArn, request) => {
        const token = randomUUID();
        const response = new Promise<CustomResourceResponse>((resolve) =>
          pendingResponses.set(token, resolve),
        );
        const fn = runtime.get(functionArn);
        const result = await fn?.invoke({
          ...request,
          ResponseURL: `${servicesUrl}/_local/cfn-response/${token}`,
        });
        if (!result?.ok) {
          pendingResponses.delete(token);
          throw new Error(
            `custom resource function failed: ${result ? result.error.errorMessage : 'not found'}`,
          );
        }
        const answered = await Promise.race([
          response,
          new Promise<undefined>((r) => setTimeout(r, 1000, undefined)),
        ]);
        pendingResponses.delete(token);
        if (!answered) throw new Error('custom resource function returned without answering its ResponseURL');
        return answered;
      },
    });
    deployed = deployment;
    writeFileSync(statePath, JSON.stringify(state, null, 2));
    mark('deploy', t1);
    // The custom resources' workers (the migrations) ran once: their memory need not wait for the idle timeout.
    for (const fn of runtime.list()) fn.reapIdle();

    const api = deployment.apis[0];
    if (!api) throw new Error('The template has no API Gateway REST API to serve');
    // Events accepted before a crash or stop are delivered now that the rules exist again.
    bus.recover();
    if (deployment.apis.length > 1)
      log({ level: 'WARN', message: 'more than one REST API; serving the first' });

    const apiServer = createServer((req, res) => void api.handle(req, res));
    // Port 0 asks the OS for any free port (tests); otherwise the preferred one, or another when busy.
    await listen(apiServer, options.apiPort === 0 ? 0 : await freePort(options.apiPort ?? 3000));
    stoppers.push(() => close(apiServer));
    // Addressed as on AWS: https://<api>.execute-api.<region>.amazonaws.com/<stage>
    apiUrl = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}/${api.stage}`;

    const endpointsFile: EndpointsFile = {
      apiUrl,
      consoleUrl,
      servicesUrl,
      pid: process.pid,
      functions: runtime.list().map((f) => f.name),
      endpoints: {
        dynamodb: endpoints.dynamodb,
        s3: endpoints.s3,
        postgres: postgresSet
          ? `postgres://127.0.0.1:${postgresSet.endpoint.port}`
          : emulators.postgres.endpoint,
        ...(postgresSet?.standby
          ? { postgresReader: `postgres://127.0.0.1:${postgresSet.reader.port}` }
          : {}),
        dynamodbLocal: emulators.dynamodb.endpoint,
      },
      stateDir,
    };
    writeFileSync(path.join(stateDir, 'endpoints.json'), JSON.stringify(endpointsFile, null, 2));
    stoppers.push(async () => rmSync(path.join(stateDir, 'endpoints.json'), { force: true }));
    mark('total', started);
    // The web console's SPA is built now that the cloud is ready (its first page waits for it).
    setImmediate(() => void consoleServer.build());
    // Runs first on stop: thaw and restart whatever a fault froze or killed, before anything waits on it.
    stoppers.push(async () => {
      await faults.healAll('stop');
    });

    return {
      apiUrl,
      consoleUrl,
      servicesUrl,
      endpoints,
      replication: {
        model: formatLagModel(lagModel),
        dynamodbLocal: emulators.dynamodb.endpoint,
        get postgresStandby() {
          return postgresSet?.standby;
        },
        postgres: postgresSet,
      },
      signingKey,
      runtime,
      bus,
      stepFunctions,
      faults,
      deployment,
      controlToken,
      timings,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The local control API: what the AWS console or CLI would do, for the local cloud only. */
async function control(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: {
    runtime: LambdaRuntime;
    bus: LocalEventBridge;
    stepFunctions: LocalStepFunctions;
    faults: FaultController;
    pendingResponses: Map<string, (response: CustomResourceResponse) => void>;
    routes: () => unknown[];
    authorized: () => Promise<boolean>;
  },
): Promise<void> {
  const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString()));
      req.on('error', reject);
    });
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== '_local') return reply(404, { message: 'Not Found' });
    const [, resource, id, action] = parts;
    if (req.method === 'PUT' && resource === 'cfn-response' && id) {
      // A custom resource's ResponseURL: the unguessable id in the path is its credential, as with
      // CloudFormation's pre-signed S3 URL.
      ctx.pendingResponses.get(id)?.(JSON.parse(body) as CustomResourceResponse);
      return reply(200, {});
    }
    if (!(await ctx.authorized())) {
      return reply(401, {
        message:
          'The local control API needs Authorization: Bearer <token>, the token in <state-dir>/control-token ' +
          '(or a local admin JWT: npm run -s token -- me --admin)',
      });
    }
    if (resource === 'faults') {
      const { handleFaultRequest } = await import('../faults/index.ts');
      const answer = await handleFaultRequest(ctx.faults, req.method ?? 'GET', id, body);
      return reply(answer.status, answer.body);
    }
    if (req.method === 'GET' && resource === 'events') return reply(200, ctx.bus.stats());
    if (req.method === 'GET' && resource === 'functions' && !id) {
      return reply(
        200,
        // What `aws lambda get-function-configuration` tells, plus the local worker statistics.
        ctx.runtime.list().map((f) => ({
          name: f.name,
          arn: f.arn,
          // Secrets in connection strings are not shown (DATABASE_URL has the database password).
          environment: Object.fromEntries(
            Object.entries(f.definition.environment).map(([k, v]) => [k, redactSecrets(v)]),
          ),
          timeoutSeconds: f.definition.timeoutSeconds,
          memoryMB: f.definition.memoryMB,
          ...f.stats(),
        })),
      );
    }
    if (req.method === 'POST' && resource === 'functions' && id && action === 'invoke') {
      const fn = ctx.runtime.get(decodeURIComponent(id));
      if (!fn) return reply(404, { message: `No function ${id}` });
      const result = await fn.invoke(body ? JSON.parse(body) : {});
      if (!result.ok && result.throttled) {
        // Lambda's Invoke API at the concurrency limit.
        return reply(
          429,
          {
            Type: 'User',
            message: 'Rate Exceeded.',
            Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
          },
          { 'x-amzn-errortype': 'TooManyRequestsException' },
        );
      }
      return reply(200, result);
    }
    if (req.method === 'GET' && resource === 'state-machines')
      return reply(200, ctx.stepFunctions.machines());
    if (req.method === 'GET' && resource === 'executions' && !id) {
      return reply(
        200,
        ctx.stepFunctions.list().map(({ events: _e, done: _d, ...e }) => e),
      );
    }
    if (req.method === 'GET' && resource === 'executions' && id) {
      // The execution with its event log (state entered/exited, task failures and retries).
      const { done: _d, ...execution } = ctx.stepFunctions.describe(decodeURIComponent(id));
      return reply(200, execution);
    }
    if (req.method === 'POST' && resource === 'state-machines' && id && action === 'start') {
      // Like `aws stepfunctions start-execution`; `?wait=true` answers when the execution has ended.
      const input = body ? (JSON.parse(body) as { name?: string; input?: unknown }) : {};
      const execution = ctx.stepFunctions.startExecution(
        decodeURIComponent(id),
        input.input ?? {},
        input.name,
      );
      if (url.searchParams.get('wait') === 'true') await execution.done;
      const { done: _d, events: _e, ...summary } = execution;
      return reply(200, summary);
    }
    if (req.method === 'GET' && resource === 'dead-letters') return reply(200, ctx.bus.listDeadLetters());
    if (req.method === 'GET' && resource === 'rules') return reply(200, ctx.bus.listRules());
    if (req.method === 'GET' && resource === 'routes') return reply(200, ctx.routes());
    if (req.method === 'POST' && resource === 'schedules' && id && action === 'run') {
      await ctx.bus.runSchedule(decodeURIComponent(id));
      return reply(202, { started: id });
    }
    return reply(404, { message: `No control route ${req.method} ${url.pathname}` });
  } catch (error) {
    return reply(400, { message: (error as Error).message });
  }
}

/** The FIS API on the services port (any SigV4 signature is accepted, as by the local bus). */
async function fisRequest(experiments: LocalExperiments, req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const answer = (await experiments.handle(
    req.method ?? 'GET',
    url.pathname,
    Buffer.concat(chunks).toString(),
  )) ?? { status: 404, body: { message: 'Not Found' } };
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function listen(server: Server, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A promise with its resolve and reject; rejecting it unobserved is not an unhandled rejection. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Like Promise.all, but waits for every promise to settle before rejecting with the first failure. */
async function allOrFirstError<T extends readonly unknown[]>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
