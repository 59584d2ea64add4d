import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { ShopConfig } from './config.ts';
import type { Shop } from './shop.ts';

/** A cdk-nag rule id (optionally `Rule[finding]`) and why we accept it here. */
type Acknowledgement = { id: string; reason: string };

const acknowledge = (scope: IConstruct, ...items: Acknowledgement[]) => {
  for (const item of items) Validations.of(scope).acknowledge(item);
};

/**
 * Every cdk-nag (AWS Solutions) finding this app accepts, each with its one-line reason.
 * Anything not acknowledged here fails `cdk synth`.
 */
export function applySuppressions(shop: Shop, config: ShopConfig): void {
  const { data, database, events, services, observability } = shop;
  const dev = config.stage === 'dev';

  acknowledge(data.accessLogs, {
    id: 'AwsSolutions-S1',
    reason: 'This is the access-log bucket; logging it into itself would loop.',
  });

  if (database.instance) {
    acknowledge(database.instance, {
      id: 'AwsSolutions-RDS11',
      reason:
        'Default port 5432: the database is only reachable inside isolated subnets from one security group.',
    });
    if (dev) {
      acknowledge(
        database.instance,
        { id: 'AwsSolutions-RDS3', reason: 'Single-AZ in dev to keep cost down; prod is Multi-AZ.' },
        {
          id: 'AwsSolutions-RDS10',
          reason: 'No deletion protection in dev so that `npm run destroy` cleans up; prod has it.',
        },
        {
          id: 'AwsSolutions-SMG4',
          reason: 'Secret rotation runs in prod only; dev databases are short-lived.',
        },
      );
    }
  }

  if (database.readReplica) {
    acknowledge(
      database.readReplica,
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'Default port 5432, like its primary: reachable only inside isolated subnets from one security group.',
      },
      {
        id: 'AwsSolutions-RDS2',
        reason:
          'A read replica of an encrypted instance is encrypted with its key by RDS; CloudFormation refuses StorageEncrypted on a replica.',
      },
      {
        id: 'AwsSolutions-RDS3',
        reason:
          'A single-AZ read replica for reads that may lag; availability comes from the Multi-AZ primary, which readers fall back to.',
      },
    );
  }

  acknowledge(events.deadLetterQueue, {
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the EventBridge rule targets.',
  });
  acknowledge(
    services.api,
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: "API Gateway's account-level logging role; the AWS-managed policy is the documented one.",
    },
    {
      id: 'AwsSolutions-APIG2',
      reason: "Requests are validated in the handlers with zod, answering 400 in the API's error shape.",
    },
    {
      id: 'AwsSolutions-APIG3',
      reason: 'No WAF in this reference (cost); associate a WebACL for production traffic.',
    },
  );
  if (services.userPool) {
    acknowledge(
      services.userPool,
      {
        id: 'AwsSolutions-COG2',
        reason: 'MFA is optional (TOTP) for shop customers; admins should enrol it.',
      },
      {
        id: 'AwsSolutions-COG3',
        reason: 'Threat protection needs the Plus feature plan; the reference stays on Essentials.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason: 'The Plus feature plan costs per active user; the reference stays on Essentials.',
      },
    );
  }
  acknowledge(observability.alarmTopic, {
    id: 'AwsSolutions-SNS2',
    reason:
      'Alarm notifications carry no sensitive data; CloudWatch cannot publish to a topic under the AWS-managed key.',
  });
}
