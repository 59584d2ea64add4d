import { CfnOutput, CfnParameter, Duration, Lazy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events_ from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { HANDLERS, type HandlerId, routesOf } from '../../shared/api/routes.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../shared/auth/jwt.ts';
import { AUTH_ROUTES_ENV } from '../../shared/middleware/jwt-auth.ts';
import type { ShopConfig } from '../config.ts';
import { ConsistencyLab } from '../constructs/consistency-lab.ts';
import { grantTable } from '../constructs/grants.ts';
import { ServiceFunction } from '../constructs/service-function.ts';
import type { DataStack } from './data-stack.ts';
import type { DatabaseStack } from './database-stack.ts';
import type { EventsStack } from './events-stack.ts';

export interface ServicesStackProps extends StackProps {
  readonly config: ShopConfig;
  readonly data: DataStack;
  readonly database: DatabaseStack;
  readonly events: EventsStack;
}

/** Name of the stack parameter holding the public JWK that the JWT authorizer trusts (local, LocalStack). */
export const JWT_PUBLIC_JWK_PARAMETER = 'JwtPublicJwk';

/** Stack outputs that scripts read (`npm run test:e2e -- --target …`, `deploy-localstack.sh`). */
export const OUTPUTS = {
  apiUrl: 'ApiUrl',
  apiId: 'ApiId',
  userPoolId: 'UserPoolId',
  e2eClientId: 'E2eClientId',
} as const;

/**
 * The shop's REST API (API Gateway v1, proxy integrations) and its functions.
 *
 * Auth (`config.auth`): on AWS a Cognito user-pool authorizer; elsewhere (no Cognito there) ES256
 * JWTs verified against the `JwtPublicJwk` parameter, either by a Lambda TOKEN authorizer (the local
 * cloud) or, on LocalStack Community, which cannot create `AWS::ApiGateway::Authorizer`, by the
 * functions' shared HTTP middleware (`AUTH_JWT_ROUTES` lists each function's protected routes). All
 * three give handlers the same claim names (`sub`, `cognito:groups`).
 */
export class ServicesStack extends Stack {
  readonly api: apigw.RestApi;
  readonly functions: ServiceFunction[] = [];
  /** The functions behind API routes (they answer browsers, so they carry the CORS headers). */
  readonly routeFunctions = new Set<lambda.IFunction>();
  /** API Gateway's authorizer; none where the functions verify tokens themselves (`auth: 'middleware'`). */
  readonly authorizer?: apigw.IAuthorizer;
  readonly userPool?: cognito.UserPool;
  private readonly config: ShopConfig;
  private readonly protectedRoutes = new Map<lambda.Function, string[]>();

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, data, database } = props;
    this.config = config;

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `shop-${config.stage}`,
      description: 'Serverless shop API',
      cloudWatchRole: true,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: config.stage === 'prod' ? 500 : 100,
        throttlingBurstLimit: config.stage === 'prod' ? 1000 : 200,
      },
    });

    if (config.target === 'aws') {
      this.userPool = new cognito.UserPool(this, 'Users', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        passwordPolicy: {
          minLength: 12,
          requireDigits: true,
          requireLowercase: true,
          requireUppercase: true,
          requireSymbols: true,
        },
        mfa: cognito.Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        featurePlan: cognito.FeaturePlan.ESSENTIALS,
      });
      this.userPool.addClient('WebClient', { authFlows: { userSrp: true }, generateSecret: false });
      // For `npm run test:e2e -- --target aws`: signs in the test users it creates with admin credentials
      // (ADMIN_USER_PASSWORD_AUTH needs IAM permission on the pool, so it is no door for the public).
      const e2eClient = this.userPool.addClient('E2eClient', {
        authFlows: { adminUserPassword: true },
        generateSecret: false,
        idTokenValidity: Duration.hours(1),
      });
      new CfnOutput(this, OUTPUTS.userPoolId, { value: this.userPool.userPoolId });
      new CfnOutput(this, OUTPUTS.e2eClientId, { value: e2eClient.userPoolClientId });
      new cognito.CfnUserPoolGroup(this, 'AdminGroup', {
        userPoolId: this.userPool.userPoolId,
        groupName: 'admin',
        description: 'Shop administrators: catalog and inventory writes',
      });
      this.authorizer = new apigw.CognitoUserPoolsAuthorizer(this, 'Authorizer', {
        cognitoUserPools: [this.userPool],
      });
    } else {
      const jwtEnvironment = jwtVerification(this);
      if (config.auth === 'authorizer') {
        const authorizerFn = this.addFunction('JwtAuthorizer', {
          entry: 'functions/platform/authorizer.ts',
          description: 'Verifies bearer JWTs where Cognito is not available',
          environment: jwtEnvironment,
        });
        this.authorizer = new apigw.TokenAuthorizer(this, 'Authorizer', {
          handler: authorizerFn,
          resultsCacheTtl: Duration.minutes(5),
        });
      }
    }
    new CfnOutput(this, OUTPUTS.apiUrl, {
      value: this.api.url,
      description: 'Base URL of the API (stage v1)',
    });

    // GET /health: public; checks DynamoDB, S3 and Postgres.
    const health = this.addFunction('Health', {
      entry: HANDLERS.health.entry,
      description: 'Reports whether DynamoDB, S3 and Postgres answer',
      environment: { CATALOG_TABLE: data.catalogTable.tableName, LAKE_RAW_BUCKET: data.lake.raw.bucketName },
      ...database.networking,
    });
    health.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeTable'],
        resources: [data.catalogTable.tableArn],
      }),
    );
    health.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [data.lake.raw.bucketArn] }),
    );
    database.grantConnect(health);
    this.routesFor('health', health);

    // GET /me: the caller's identity as the handlers see it.
    const me = this.addFunction('Me', {
      entry: HANDLERS.me.entry,
      description: 'Echoes the authenticated caller',
    });
    this.routesFor('me', me);

    this.addShopServices(props);
  }

  /**
   * The catalog, cart and orders services: one API function per service (routes dispatched inside),
   * the event consumers, and the outbox relay. Each gets exactly the table, bus and database access
   * it uses.
   */
  private addShopServices({ config, data, database, events }: ServicesStackProps): void {
    const catalogTable = data.catalogTable;
    const cartsTable = data.cartsTable;
    const bus = events.bus;
    // Imported by ARN: the queue's policy (Events stack) admits this app's rules without a stack cycle.
    const deadLetters = sqs.Queue.fromQueueArn(this, 'EventDeadLetters', events.deadLetterQueue.queueArn);
    const eventTarget = { deadLetterQueue: deadLetters, retryAttempts: 8, maxEventAge: Duration.hours(2) };

    // Catalog: products in DynamoDB, read eventually consistent unless ?consistent=true.
    const catalog = this.addFunction('CatalogApi', {
      entry: HANDLERS.catalog.entry,
      service: 'catalog',
      description: 'GET/POST/PUT /products',
      environment: {
        CATALOG_TABLE: catalogTable.tableName,
        EVENT_BUS_NAME: bus.eventBusName,
        IDEMPOTENCY_TABLE: data.idempotencyTable.tableName,
      },
    });
    grantTable(catalog, data.idempotencyTable, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ]);
    grantTable(
      catalog,
      catalogTable,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      ['byCategory', 'byType'],
    );
    // The catalog outbox is relayed right after the write and its items deleted once sent: deletes are
    // limited to the outbox partition, never a product.
    const deleteOutboxItems = (fn: ServiceFunction) =>
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'],
          resources: [catalogTable.tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['OUTBOX'] } },
        }),
      );
    deleteOutboxItems(catalog);
    bus.grantPutEventsTo(catalog);

    // The catalog outbox relay: ProductUpserted events written with their product but not sent yet.
    const catalogRelay = this.addFunction('CatalogOutboxRelay', {
      entry: 'functions/catalog/outbox-relay.ts',
      service: 'catalog',
      description: 'Publishes unsent catalog outbox events to EventBridge',
      timeout: Duration.seconds(60),
      environment: { CATALOG_TABLE: catalogTable.tableName, EVENT_BUS_NAME: bus.eventBusName },
    });
    grantTable(catalogRelay, catalogTable, ['dynamodb:Query']);
    deleteOutboxItems(catalogRelay);
    bus.grantPutEventsTo(catalogRelay);
    new events_.Rule(this, 'CatalogRelaySchedule', {
      description:
        'Relays catalog outbox events every minute (a safety net: writes relay right after commit)',
      schedule: events_.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(catalogRelay, { retryAttempts: 2 })],
    });
    this.routesFor('catalog', catalog);

    // The catalog's `available` projection of the authoritative stock.
    const stockProjection = this.addFunction('CatalogStockProjection', {
      entry: 'functions/catalog/stock-projection.ts',
      service: 'catalog',
      description: 'InventoryChanged → Catalog.available',
      environment: { CATALOG_TABLE: catalogTable.tableName },
    });
    grantTable(stockProjection, catalogTable, ['dynamodb:UpdateItem']);
    new events_.Rule(this, 'InventoryChangedToCatalog', {
      eventBus: bus,
      description: "Keeps the catalog's available stock in step with Postgres",
      eventPattern: { source: ['shop.inventory'], detailType: ['InventoryChanged'] },
      targets: [new targets.LambdaFunction(stockProjection, eventTarget)],
    });

    // Cart: one item per line in DynamoDB, optimistic concurrency with If-Match.
    const cart = this.addFunction('CartApi', {
      entry: HANDLERS.cart.entry,
      service: 'cart',
      description: 'GET/DELETE /cart, PUT/DELETE /cart/items/{productId}',
      environment: { CARTS_TABLE: cartsTable.tableName, CATALOG_TABLE: catalogTable.tableName },
    });
    grantTable(cart, cartsTable, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
    ]);
    grantTable(cart, catalogTable, ['dynamodb:GetItem']);
    this.routesFor('cart', cart);

    // A placed order empties the cart (the lines it contained, as they were when ordered).
    const cartCleaner = this.addFunction('CartOrderPlaced', {
      entry: 'functions/cart/order-placed.ts',
      service: 'cart',
      description: 'OrderPlaced → remove the ordered lines from the cart',
      environment: { CARTS_TABLE: cartsTable.tableName },
    });
    grantTable(cartCleaner, cartsTable, [
      'dynamodb:Query',
      'dynamodb:DeleteItem',
      'dynamodb:UpdateItem',
      'dynamodb:ConditionCheckItem',
    ]);
    new events_.Rule(this, 'OrderPlacedToCart', {
      eventBus: bus,
      description: 'Empties the cart of a placed order',
      eventPattern: { source: ['shop.orders'], detailType: ['OrderPlaced'] },
      targets: [new targets.LambdaFunction(cartCleaner, eventTarget)],
    });

    // Orders and inventory: Postgres (ACID), priced from the catalog with strongly consistent reads.
    const orders = this.addFunction('OrdersApi', {
      entry: HANDLERS.orders.entry,
      service: 'orders',
      description: 'POST/GET /orders, POST /orders/{orderId}/cancel, PUT /inventory/{productId}',
      timeout: Duration.seconds(15),
      environment: {
        CATALOG_TABLE: catalogTable.tableName,
        CARTS_TABLE: cartsTable.tableName,
        EVENT_BUS_NAME: bus.eventBusName,
      },
      ...database.networking,
    });
    grantTable(orders, catalogTable, ['dynamodb:GetItem', 'dynamodb:BatchGetItem']);
    grantTable(orders, cartsTable, ['dynamodb:Query']);
    bus.grantPutEventsTo(orders);
    database.grantConnect(orders);
    database.grantReaderConnect(orders); // order history from the read replica
    this.routesFor('orders', orders);

    // The outbox relay: publishes events committed in Postgres that were not sent yet.
    const relay = this.addFunction('OutboxRelay', {
      entry: 'functions/orders/outbox-relay.ts',
      service: 'orders',
      description: 'Publishes unsent outbox events to EventBridge',
      timeout: Duration.seconds(60),
      environment: { EVENT_BUS_NAME: bus.eventBusName },
      ...database.networking,
    });
    bus.grantPutEventsTo(relay);
    database.grantConnect(relay);
    new events_.Rule(this, 'OutboxRelaySchedule', {
      description: 'Relays outbox events every minute (a safety net: requests relay right after commit)',
      schedule: events_.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(relay, { retryAttempts: 2 })],
    });

    // The consistency lab: experiments on its own items and rows, behind /consistency/experiments.
    new ConsistencyLab(this, 'ConsistencyLab', { config, services: this, data, database, bus, eventTarget });
  }

  /** Adds a function with the house defaults, owned by the `platform` service unless told otherwise. */
  addFunction(
    id: string,
    props: Omit<ConstructorParameters<typeof ServiceFunction>[2], 'service'> & { service?: string },
  ) {
    const fn = new ServiceFunction(this, id, { service: 'platform', ...props });
    this.functions.push(fn);
    return fn;
  }

  /**
   * Adds the routes the manifest (`shared/api/routes.ts`) gives `handler`, served by `fn`: public
   * ones open, the others behind the authorizer (admin checks are the function's).
   */
  routesFor(handler: HandlerId, fn: lambda.IFunction, options: { handler?: lambda.Function } = {}): void {
    for (const route of routesOf(handler)) {
      this.route(route.method, route.path, fn, { ...options, public: route.auth === 'public' });
    }
  }

  /**
   * Adds `METHOD path` with a Lambda proxy integration; protected unless `public`: by API Gateway's
   * authorizer, or (`auth: 'middleware'`) by the function itself, told through `AUTH_JWT_ROUTES`.
   */
  route(
    method: string,
    path: string,
    fn: lambda.IFunction,
    options: {
      public?: boolean;
      /** The function itself where `fn` is a reference to one in another stack (middleware auth needs to configure it). */
      handler?: lambda.Function;
    } = {},
  ): apigw.Method {
    const resource = this.api.root.resourceForPath(path);
    if (fn instanceof ServiceFunction) fn.servesApi(); // imported ones are marked by their own stack
    const authorizer = options.public ? undefined : this.authorizer;
    this.routeFunctions.add(fn);
    const created = resource.addMethod(method, new apigw.LambdaIntegration(fn, { proxy: true }), {
      ...(authorizer ? { authorizer } : {}),
      authorizationType: authorizer?.authorizationType ?? apigw.AuthorizationType.NONE,
    });
    if (!options.public && !this.authorizer) this.protectInFunction(method, path, options.handler ?? fn);
    const ack = (reason: string) => {
      Validations.of(created).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(created).acknowledge({ id: 'AwsSolutions-COG4', reason });
    };
    if (options.public) {
      ack(`${method} ${path} is public by design.`);
    } else if (!this.authorizer) {
      ack(
        `LocalStack Community has no API Gateway authorizers: ${fn.node.id} verifies the JWT itself (AUTH_JWT_ROUTES).`,
      );
    } else if (!this.userPool) {
      Validations.of(created).acknowledge({
        id: 'AwsSolutions-COG4',
        reason: 'Cognito is not available on this target; the JWT Lambda authorizer protects the route.',
      });
    }
    return created;
  }

  /** Lists the route in the function's `AUTH_JWT_ROUTES` and gives it the key to verify tokens with. */
  private protectInFunction(method: string, path: string, fn: lambda.IFunction): void {
    if (this.config.auth !== 'middleware') throw new Error(`${method} ${path}: no authorizer to protect it`);
    if (!(fn instanceof lambda.Function)) {
      throw new Error(
        `${method} ${path}: pass the function itself as options.handler to configure its token check`,
      );
    }
    let routes = this.protectedRoutes.get(fn);
    if (!routes) {
      routes = [];
      this.protectedRoutes.set(fn, routes);
      for (const [name, value] of Object.entries(jwtVerification(Stack.of(fn))))
        fn.addEnvironment(name, value);
      // Read at synth time, so routes added after this call are listed too.
      const list = routes;
      fn.addEnvironment(AUTH_ROUTES_ENV, Lazy.string({ produce: () => list.join(',') }));
    }
    routes.push(`${method} ${path}`);
  }
}

/**
 * What a function needs to verify the shop's JWTs off AWS: the public key from the `JwtPublicJwk`
 * parameter of its own stack (created on first use; every deploy path fills it by name), the
 * issuer and the audience.
 */
function jwtVerification(stack: Stack): Record<string, string> {
  const parameter =
    (stack.node.tryFindChild(JWT_PUBLIC_JWK_PARAMETER) as CfnParameter | undefined) ??
    new CfnParameter(stack, JWT_PUBLIC_JWK_PARAMETER, {
      type: 'String',
      description: 'Public JWK (JSON) of the ES256 key that signs API tokens (npm run token)',
    });
  return { JWT_PUBLIC_JWK: parameter.valueAsString, JWT_ISSUER: LOCAL_ISSUER, JWT_AUDIENCE: LOCAL_AUDIENCE };
}
