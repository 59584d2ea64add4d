import { CfnParameter, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events_ from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../shared/auth/jwt.ts';
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

/**
 * The shop's REST API (API Gateway v1, proxy integrations) and its functions.
 *
 * Auth: on AWS a Cognito user-pool authorizer; on LocalStack and the local cloud (no Cognito there)
 * a Lambda TOKEN authorizer verifying ES256 JWTs against the `JwtPublicJwk` parameter. Both give
 * handlers the same claim names (`sub`, `cognito:groups`).
 */
export class ServicesStack extends Stack {
  readonly api: apigw.RestApi;
  readonly functions: ServiceFunction[] = [];
  /** The functions behind API routes (they answer browsers, so they carry the CORS headers). */
  readonly routeFunctions = new Set<lambda.IFunction>();
  readonly authorizer: apigw.IAuthorizer;
  readonly userPool?: cognito.UserPool;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, data, database } = props;

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
      new cognito.CfnUserPoolGroup(this, 'AdminGroup', {
        userPoolId: this.userPool.userPoolId,
        groupName: 'admin',
        description: 'Shop administrators: catalog and inventory writes',
      });
      this.authorizer = new apigw.CognitoUserPoolsAuthorizer(this, 'Authorizer', {
        cognitoUserPools: [this.userPool],
      });
    } else {
      const publicJwk = new CfnParameter(this, JWT_PUBLIC_JWK_PARAMETER, {
        type: 'String',
        description: 'Public JWK (JSON) of the ES256 key that signs API tokens (npm run token)',
      });
      const authorizerFn = this.addFunction('JwtAuthorizer', {
        entry: 'functions/platform/authorizer.ts',
        description: 'Verifies bearer JWTs where Cognito is not available',
        environment: {
          JWT_PUBLIC_JWK: publicJwk.valueAsString,
          JWT_ISSUER: LOCAL_ISSUER,
          JWT_AUDIENCE: LOCAL_AUDIENCE,
        },
      });
      this.authorizer = new apigw.TokenAuthorizer(this, 'Authorizer', {
        handler: authorizerFn,
        resultsCacheTtl: Duration.minutes(5),
      });
    }

    // GET /health: public; checks DynamoDB, S3 and Postgres.
    const health = this.addFunction('Health', {
      entry: 'functions/platform/health.ts',
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
    this.route('GET', '/health', health, { public: true });

    // GET /me: the caller's identity as the handlers see it.
    const me = this.addFunction('Me', {
      entry: 'functions/platform/me.ts',
      description: 'Echoes the authenticated caller',
    });
    this.route('GET', '/me', me);

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
      entry: 'functions/catalog/api.ts',
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
    bus.grantPutEventsTo(catalog);
    this.route('GET', '/products', catalog, { public: true });
    this.route('POST', '/products', catalog);
    this.route('GET', '/products/{productId}', catalog, { public: true });
    this.route('PUT', '/products/{productId}', catalog);

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
      entry: 'functions/cart/api.ts',
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
    this.route('GET', '/cart', cart);
    this.route('DELETE', '/cart', cart);
    this.route('PUT', '/cart/items/{productId}', cart);
    this.route('DELETE', '/cart/items/{productId}', cart);

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
      entry: 'functions/orders/api.ts',
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
    this.route('POST', '/orders', orders);
    this.route('GET', '/orders', orders);
    this.route('GET', '/orders/{orderId}', orders);
    this.route('POST', '/orders/{orderId}/cancel', orders);
    this.route('PUT', '/inventory/{productId}', orders);

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

  /** Adds `METHOD path` with a Lambda proxy integration; protected by the authorizer unless `public`. */
  route(method: string, path: string, fn: ServiceFunction, options: { public?: boolean } = {}): apigw.Method {
    const resource = this.api.root.resourceForPath(path);
    this.routeFunctions.add(fn);
    const created = resource.addMethod(method, new apigw.LambdaIntegration(fn, { proxy: true }), {
      ...(options.public ? {} : { authorizer: this.authorizer }),
      authorizationType: options.public ? apigw.AuthorizationType.NONE : this.authorizer.authorizationType,
    });
    if (options.public) {
      const reason = `${method} ${path} is public by design.`;
      Validations.of(created).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(created).acknowledge({ id: 'AwsSolutions-COG4', reason });
    } else if (!this.userPool) {
      Validations.of(created).acknowledge({
        id: 'AwsSolutions-COG4',
        reason: 'Cognito is not available on this target; the JWT Lambda authorizer protects the route.',
      });
    }
    return created;
  }
}
