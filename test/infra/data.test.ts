import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

const logicalId = (construct: IConstruct) =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);

describe('Data stack', () => {
  const dev = synth('aws', 'dev');
  const prod = synth('aws', 'prod');
  const data = dev.template(dev.shop.data);

  it('encrypts every table, turns on PITR and bills on demand', () => {
    const tables = data.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toHaveLength(4);
    for (const table of Object.values(tables)) {
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      for (const replica of table.Properties.Replicas) {
        expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      }
    }
  });

  it('gives the catalog GSIs to list by category and in full, and the carts a TTL', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'byCategory' }),
        Match.objectLike({ IndexName: 'byType' }),
      ],
    });
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('encrypts, versions and blocks public access on every bucket', () => {
    const buckets = data.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(4);
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]).toMatchObject({
        ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
      });
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
    for (const zone of Object.values(dev.shop.data.lake)) {
      const id = logicalId(zone);
      expect(buckets[id]?.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(buckets[id]?.Properties.LoggingConfiguration).toBeDefined();
    }
  });

  it('denies non-TLS requests on every bucket', () => {
    const buckets = Object.keys(data.findResources('AWS::S3::Bucket'));
    const policies = Object.values(data.findResources('AWS::S3::BucketPolicy'));
    for (const id of buckets) {
      const policy = policies.find((p) => p.Properties.Bucket.Ref === id);
      expect(policy, `bucket ${id} has a policy`).toBeDefined();
      expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('tiers and expires raw data but keeps curated data', () => {
    data.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Id: 'raw-tiering',
            ExpirationInDays: 365,
            Transitions: Match.arrayWith([
              Match.objectLike({ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }),
            ]),
          }),
        ],
      },
    });
    const curatedId = logicalId(dev.shop.data.lake.curated);
    const curated = data.findResources('AWS::S3::Bucket')[curatedId];
    // Only the staging leftovers expire; curated data itself is kept.
    const rules = curated?.Properties.LifecycleConfiguration.Rules as {
      Prefix?: string;
      ExpirationInDays?: number;
    }[];
    expect(rules.filter((r) => r.ExpirationInDays !== undefined).map((r) => r.Prefix)).toEqual(['_staging/']);
  });

  it('expires what crashed ETL runs left in _staging/ of the curated and analytics zones', () => {
    const buckets = data.findResources('AWS::S3::Bucket');
    for (const zone of [dev.shop.data.lake.curated, dev.shop.data.lake.analytics]) {
      expect(buckets[logicalId(zone)]?.Properties.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({
          Id: 'etl-staging',
          Prefix: '_staging/',
          ExpirationInDays: 2,
          Status: 'Enabled',
        }),
      );
    }
  });

  it('retains data and protects tables in prod only', () => {
    const prodData = prod.template(prod.shop.data);
    for (const table of Object.values(prodData.findResources('AWS::DynamoDB::GlobalTable'))) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    }
    for (const bucket of Object.values(prodData.findResources('AWS::S3::Bucket'))) {
      expect(bucket.DeletionPolicy).toBe('Retain');
    }
    for (const table of Object.values(data.findResources('AWS::DynamoDB::GlobalTable'))) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    }
  });
});
