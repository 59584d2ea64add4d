import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { ShopConfig } from '../config.ts';

export interface DataStackProps extends StackProps {
  readonly config: ShopConfig;
}

/** The lake's zones, each its own bucket so access can be granted per zone. */
export const LAKE_ZONES = ['raw', 'curated', 'analytics'] as const;
export type LakeZone = (typeof LAKE_ZONES)[number];

/**
 * The eventually consistent side of the shop and the data lake.
 *
 * - `Catalog`: products, key `pk`/`sk`; GSI `byCategory` (`gsi1pk` = category, `gsi1sk` = name#id)
 *   lists a category and GSI `byType` (`gsi2pk` = item type) lists all products, without a Scan.
 * - `Carts`: one item per cart line, key `pk` = user, `sk` = product; `expiresAt` is the TTL.
 * - `Idempotency`: the Powertools idempotency record store (`id` key, `expiration` TTL).
 * - `ConsistencyLab`: the consistency experiments' own items (GSI `byGroup`, TTL `expiresAt`).
 * - Lake buckets `raw`, `curated`, `analytics`, plus an access-log bucket.
 */
export class DataStack extends Stack {
  readonly catalogTable: dynamodb.TableV2;
  readonly cartsTable: dynamodb.TableV2;
  readonly idempotencyTable: dynamodb.TableV2;
  readonly labTable: dynamodb.TableV2;
  readonly lake: Record<LakeZone, s3.Bucket>;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const prod = props.config.stage === 'prod';
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const tableDefaults = {
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: prod,
      removalPolicy,
    } satisfies Partial<dynamodb.TablePropsV2>;

    this.catalogTable = new dynamodb.TableV2(this, 'Catalog', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      globalSecondaryIndexes: [
        {
          indexName: 'byCategory',
          partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
        },
        {
          indexName: 'byType',
          partitionKey: { name: 'gsi2pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi2sk', type: dynamodb.AttributeType.STRING },
        },
      ],
    });

    this.cartsTable = new dynamodb.TableV2(this, 'Carts', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    // The consistency lab's own table: experiments never touch the shop's items.
    this.labTable = new dynamodb.TableV2(this, 'ConsistencyLab', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      // -c globalTableReplica=<region>: a global table (multi-region eventual consistency, last
      // writer wins) for the lab's partition scenario.
      ...(props.config.globalTableReplica ? { replicas: [{ region: props.config.globalTableReplica }] } : {}),
      globalSecondaryIndexes: [
        {
          indexName: 'byGroup',
          partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
        },
      ],
    });

    this.idempotencyTable = new dynamodb.TableV2(this, 'Idempotency', {
      ...tableDefaults,
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
    });

    const bucketDefaults = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy,
      autoDeleteObjects: false,
    } satisfies s3.BucketProps;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...bucketDefaults,
      versioned: false,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
    });

    const zone = (name: LakeZone, lifecycleRules?: s3.LifecycleRule[]) =>
      new s3.Bucket(this, `Lake${name[0]?.toUpperCase()}${name.slice(1)}`, {
        ...bucketDefaults,
        serverAccessLogsBucket: this.accessLogs,
        serverAccessLogsPrefix: `${name}/`,
        lifecycleRules,
      });

    this.lake = {
      // Raw extracts are re-creatable from the sources: tier them down, then expire them.
      raw: zone('raw', [
        {
          id: 'raw-tiering',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
          ],
          expiration: Duration.days(365),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ]),
      curated: zone('curated', [
        // ETL runs stage their output under _staging/<run>/ before publishing it; a run that crashed
        // and was never re-run leaves its staging behind, invisible to readers: expire it.
        { id: 'etl-staging', prefix: '_staging/', expiration: Duration.days(2) },
        {
          id: 'noncurrent',
          noncurrentVersionExpiration: Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ]),
      analytics: zone('analytics', [
        // ETL runs stage their output under _staging/<run>/ before publishing it; a run that crashed
        // and was never re-run leaves its staging behind, invisible to readers: expire it.
        { id: 'etl-staging', prefix: '_staging/', expiration: Duration.days(2) },
        {
          id: 'noncurrent',
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ]),
    };
  }
}
