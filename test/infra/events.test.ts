import { Match } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { synth } from './synth.ts';

describe('Events stack', () => {
  const { shop, template } = synth('aws', 'dev');
  const events = template(shop.events);

  it('has a custom bus with an archive of shop events', () => {
    events.hasResourceProperties('AWS::Events::EventBus', { Name: 'shop-dev' });
    events.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: [{ prefix: 'shop.' }] },
      RetentionDays: 30,
    });
  });

  it('has an encrypted dead-letter queue that refuses non-TLS access', () => {
    events.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    events.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Sid: 'AllowShopRules',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
          }),
        ]),
      },
    });
  });
});
