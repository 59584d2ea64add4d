import type { ResourceValues } from '../intrinsics.ts';
import type { Provider } from './types.ts';

/**
 * Resource types that deploy to nothing locally, on purpose: IAM is not enforced, logs go to the console,
 * alarms and dashboards have no metrics to watch, … They still answer `Ref` and `Fn::GetAtt` with names and
 * ARNs shaped as on AWS.
 */
export const INERT_TYPES = [
  'AWS::CDK::Metadata',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::Logs::LogGroup',
  'AWS::Lambda::Permission',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
  'AWS::S3::BucketPolicy',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SNS::Subscription',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::Events::Archive',
  // The lake's catalog and query engine on AWS; locally the ETL queries Parquet with embedded DuckDB.
  'AWS::Glue::Database',
  'AWS::Glue::Table',
  'AWS::Athena::WorkGroup',
  'AWS::Athena::NamedQuery',
] as const;

/** Names and ARNs for a resource that is not created locally (inert, or of an unsupported type). */
export const inert: Provider = ({ resource, props, env, name, arn }): ResourceValues => {
  const physical = name();
  const queueUrl = (queue: string) => `http://sqs.local/${env.accountId}/${queue}`;
  switch (resource.Type) {
    case 'AWS::IAM::Role':
      return {
        ref: physical,
        attributes: {
          Arn: arn('iam', `role/${physical}`).replace(`:${env.region}:`, '::'),
          RoleId: physical,
        },
      };
    case 'AWS::Logs::LogGroup': {
      const group = String(props.LogGroupName ?? `/local/${physical}`);
      return { ref: group, attributes: { Arn: arn('logs', `log-group:${group}:*`) } };
    }
    case 'AWS::SQS::Queue': {
      const queue = String(props.QueueName ?? physical.slice(0, 80));
      return {
        ref: queueUrl(queue),
        attributes: { Arn: arn('sqs', queue), QueueName: queue, QueueUrl: queueUrl(queue) },
      };
    }
    case 'AWS::SNS::Topic': {
      const topicArn = arn('sns', String(props.TopicName ?? physical));
      return {
        ref: topicArn,
        attributes: { TopicArn: topicArn, TopicName: String(props.TopicName ?? physical) },
      };
    }
    case 'AWS::ApiGateway::Stage':
      return { ref: String(props.StageName), attributes: {} };
    default:
      return {
        ref: physical,
        attributes: new Proxy({} as Record<string, unknown>, {
          has: () => true,
          get: (_, attr) => (attr === 'Arn' ? arn('local', physical) : `${physical}.${String(attr)}`),
        }),
      };
  }
};
