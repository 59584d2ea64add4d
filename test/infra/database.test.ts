import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

describe('Database stack', () => {
  const dev = synth('aws', 'dev');
  const prod = synth('aws', 'prod');
  const db = dev.template(dev.shop.database);
  const prodDb = prod.template(prod.shop.database);

  it('runs PostgreSQL 18, encrypted, in isolated subnets, credentials in Secrets Manager', () => {
    db.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: Match.stringLikeRegexp('^18\\.'),
      StorageEncrypted: true,
      PubliclyAccessible: false,
      StorageType: 'gp3',
      MasterUsername: 'shop_admin',
      MasterUserPassword: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])],
      },
    });
    db.resourceCountIs('AWS::SecretsManager::Secret', 1);
    db.resourceCountIs('AWS::EC2::NatGateway', 0);
    db.resourceCountIs('AWS::EC2::InternetGateway', 0);
    for (const subnet of Object.values(db.findResources('AWS::EC2::Subnet'))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
  });

  it('has gateway endpoints for DynamoDB and S3 instead of a NAT', () => {
    const endpoints = Object.values(db.findResources('AWS::EC2::VPCEndpoint'));
    const gateways = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Gateway');
    const services = gateways.map((e) => JSON.stringify(e.Properties.ServiceName));
    expect(services.some((s) => s.includes('.dynamodb'))).toBe(true);
    expect(services.some((s) => s.includes('.s3'))).toBe(true);
  });

  it('is Multi-AZ with deletion protection in prod only', () => {
    db.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false, DeletionProtection: false });
    prodDb.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: true, DeletionProtection: true });
    prodDb.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    db.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  });

  it('has an encrypted RDS read replica in prod only, and gives the orders and lab functions its address', () => {
    const replicas = (t: typeof db) =>
      Object.values(t.findResources('AWS::RDS::DBInstance')).filter(
        (r) => r.Properties.SourceDBInstanceIdentifier,
      );
    expect(replicas(db)).toHaveLength(0);
    expect(replicas(prodDb)).toHaveLength(1);
    // Encrypted by its source (CloudFormation refuses StorageEncrypted on a replica).
    prodDb.hasResourceProperties('AWS::RDS::DBInstance', { StorageEncrypted: true, MultiAZ: true });
    expect(replicas(prodDb)[0]?.Properties).toMatchObject({
      PubliclyAccessible: false,
      DeletionProtection: true,
      DBInstanceIdentifier: 'shop-prod-reader',
    });
    const services = prod.template(prod.shop.services);
    const readers = Object.values(services.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.DB_READER_HOST,
    );
    // Orders (history) and the two lab functions (replica reads).
    expect(readers).toHaveLength(3);
    // Dev has no replica: readers use the primary, no DB_READER_HOST anywhere.
    const devServices = dev.template(dev.shop.services);
    expect(JSON.stringify(devServices.toJSON())).not.toContain('DB_READER_HOST');
  });

  it('applies migrations through a custom resource that changes with the migration files', () => {
    db.hasResourceProperties('Custom::DatabaseMigrations', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Migrate'), 'Arn'] },
      MigrationsHash: Match.stringLikeRegexp('^[0-9a-f]{16}$'),
    });
  });

  it('has no RDS or VPC where RDS is unavailable and asks for a DatabaseUrl instead', () => {
    for (const target of ['local', 'localstack'] as const) {
      const other = synth(target, 'dev');
      const template = other.template(other.shop.database);
      template.resourceCountIs('AWS::RDS::DBInstance', 0);
      template.resourceCountIs('AWS::EC2::VPC', 0);
      template.hasParameter('DatabaseUrl', { Type: 'String', NoEcho: true });
      const services = other.template(other.shop.services);
      // The reader and the lag model: parameters the local cloud fills in (empty: the primary, unknown).
      services.hasParameter('DatabaseReaderUrl', { Type: 'String', NoEcho: true, Default: '' });
      services.hasParameter('ReplicationModel', { Type: 'String', Default: '' });
      services.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            DATABASE_READER_URL: { Ref: 'DatabaseReaderUrl' },
            REPLICATION_MODEL: { Ref: 'ReplicationModel' },
          }),
        },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ DATABASE_URL: { Ref: 'DatabaseUrl' } }) },
      });
    }
  });
});
