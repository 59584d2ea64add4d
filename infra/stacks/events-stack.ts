import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ShopConfig } from '../config.ts';

export interface EventsStackProps extends StackProps {
  readonly config: ShopConfig;
}

/**
 * Event-driven integration between the services: one custom EventBridge bus, an archive of
 * everything published on it (replayable after a consumer bug), and an SQS dead-letter queue that
 * rule targets use for deliveries that still fail after EventBridge's retries. No archive on
 * `target=localstack`: LocalStack Community cannot create `AWS::Events::Archive`.
 */
export class EventsStack extends Stack {
  readonly bus: events.EventBus;
  readonly archive?: events.Archive;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EventsStackProps) {
    super(scope, id, props);
    const prod = props.config.stage === 'prod';

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: `shop-${props.config.stage}` });
    if (props.config.target !== 'localstack') {
      this.archive = this.bus.archive('Archive', {
        description: 'Every shop event, for replay',
        eventPattern: { source: events.Match.prefix('shop.') },
        retention: Duration.days(prod ? 365 : 30),
      });
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Rules of this app (on the shop bus or the default bus) may park failed deliveries here.
    // One statement for all of them keeps the services stack from referencing back into this one.
    this.deadLetterQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowShopRules',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': [
              this.formatArn({
                service: 'events',
                resource: 'rule',
                resourceName: `${this.bus.eventBusName}/*`,
              }),
              this.formatArn({
                service: 'events',
                resource: 'rule',
                resourceName: `${props.config.prefix}-*`,
              }),
            ],
          },
        },
      }),
    );
  }
}
