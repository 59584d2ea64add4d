import { createRequire } from 'node:module';
import { type App, Tags, Validations } from 'aws-cdk-lib';
import type { ShopConfig } from './config.ts';
import { applySuppressions } from './nag.ts';
import { ChaosStack, prepareForFisLambdaActions } from './stacks/chaos-stack.ts';
import { DataStack } from './stacks/data-stack.ts';
import { DatabaseStack } from './stacks/database-stack.ts';
import { addEtlRoutes, EtlStack } from './stacks/etl-stack.ts';
import { EventsStack } from './stacks/events-stack.ts';
import { ObservabilityStack } from './stacks/observability-stack.ts';
import { ServicesStack } from './stacks/services-stack.ts';
import { connectWebConsole, type WebStack } from './stacks/web-stack.ts';

export interface Shop {
  readonly data: DataStack;
  readonly database: DatabaseStack;
  readonly events: EventsStack;
  readonly services: ServicesStack;
  /** Not on `target=localstack` (Glue and Athena are not in LocalStack's free tier). */
  readonly etl?: EtlStack;
  readonly observability: ObservabilityStack;
  /** The web console's bucket and distribution (`target=aws` only; the local cloud serves it itself). */
  readonly web?: WebStack;
  /** AWS FIS experiment templates: only with `-c chaos=true` on target `aws`. */
  readonly chaos?: ChaosStack;
}

/** The functions the AWS chaos experiments fault: the ones behind the shop's API. */
const CHAOS_TARGETS = ['CatalogApi', 'CartApi', 'OrdersApi'];

/** `-c chaos=true`: deploy the Chaos stack (FIS experiment templates). Off by default; AWS only. */
function chaosRequested(app: App, config: ShopConfig): boolean {
  const value = app.node.tryGetContext('chaos');
  const on = value === true || value === 'true';
  if (on && config.target !== 'aws') {
    throw new Error(
      `-c chaos=true deploys AWS FIS experiment templates and needs -c target=aws; on ${config.target} use \`npm run chaos\``,
    );
  }
  return on;
}

/**
 * Adds the shop's stacks to `app` for one target and stage, with cdk-nag's AWS Solutions checks
 * over all of them. Stack names are `Shop-<stage>-<Part>`.
 */
export function buildShop(app: App, config: ShopConfig): Shop {
  const withChaos = chaosRequested(app, config);
  const name = (part: string) => `${config.prefix}-${part}`;
  // -c region=…: every stack bound to it (a global table replica needs that).
  const env = config.region ? { env: { region: config.region } } : {};
  const description = (what: string) => `Serverless shop (${config.stage}, target ${config.target}): ${what}`;
  const data = new DataStack(app, name('Data'), {
    config,
    ...env,
    description: description('DynamoDB tables and S3 lake'),
  });
  const database = new DatabaseStack(app, name('Database'), {
    config,
    ...env,
    description: description('PostgreSQL'),
  });
  const events = new EventsStack(app, name('Events'), {
    config,
    ...env,
    description: description('EventBridge bus'),
  });
  const services = new ServicesStack(app, name('Services'), {
    config,
    ...env,
    data,
    database,
    events,
    description: description('REST API and functions'),
  });
  let etl: EtlStack | undefined;
  if (config.target !== 'localstack') {
    etl = new EtlStack(app, name('Etl'), {
      config,
      ...env,
      data,
      database,
      description: description('data-lake ETL (Step Functions, Glue, Athena)'),
    });
    addEtlRoutes(services, etl);
  }
  const observability = new ObservabilityStack(app, name('Observability'), {
    config,
    ...env,
    etl,
    data,
    database,
    events,
    services,
    description: description('dashboard and alarms'),
  });
  let chaos: ChaosStack | undefined;
  if (withChaos) {
    const targets = services.functions.filter((fn) => CHAOS_TARGETS.includes(fn.node.id));
    for (const fn of targets) prepareForFisLambdaActions(fn, config);
    chaos = new ChaosStack(app, name('Chaos'), {
      config,
      ...env,
      data,
      database,
      observability,
      functions: targets,
      description: description('AWS FIS experiment templates (chaos engineering)'),
    });
  }
  const web = connectWebConsole({ data, database, events, services, etl, observability }, config);
  const shop: Shop = { data, database, events, services, etl, observability, chaos, web };

  Tags.of(app).add('project', 'serverless-shop');
  Tags.of(app).add('stage', config.stage);
  Tags.of(app).add('target', config.target);
  applySuppressions(shop, config);
  // The local cloud's own synth may skip the checks for speed (-c shop:nag=false): they do not change
  // the template, and `npm run synth`, deploys, the infra tests and CI always run them.
  if (app.node.tryGetContext('shop:nag') !== false && app.node.tryGetContext('shop:nag') !== 'false') {
    // Loaded only here (about 0.9 s of module loading that a synth without the checks skips).
    const cdkNag = createRequire(import.meta.url)('cdk-nag') as typeof import('cdk-nag');
    Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app, { verbose: true }));
  }
  return shop;
}
