import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { ShopConfig } from '../config.ts';
import type { DataStack } from './data-stack.ts';
import type { DatabaseStack } from './database-stack.ts';
import type { EtlStack } from './etl-stack.ts';
import type { EventsStack } from './events-stack.ts';
import type { ServicesStack } from './services-stack.ts';

export interface ObservabilityStackProps extends StackProps {
  readonly config: ShopConfig;
  readonly data: DataStack;
  readonly database: DatabaseStack;
  readonly events: EventsStack;
  readonly services: ServicesStack;
  /** The ETL stack where it is deployed: its functions and state machine get alarms too. */
  readonly etl?: EtlStack;
}

/**
 * One dashboard and the alarms that matter, all notifying one SNS topic:
 * API 5xx, Lambda errors and throttles (per function), DynamoDB throttles (per table),
 * RDS CPU and connections, and any message in the events dead-letter queue. No dashboard on
 * `target=localstack`: LocalStack Community cannot create `AWS::CloudWatch::Dashboard` (its alarms are
 * created, but not evaluated).
 */
export class ObservabilityStack extends Stack {
  readonly alarmTopic: sns.Topic;
  readonly dashboard?: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, data, database, events, services, etl } = props;
    const functions = [...services.functions, ...(etl?.functions ?? [])];
    const period = Duration.minutes(5);

    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: `Shop ${config.stage} alarms`,
      enforceSSL: true,
    });
    const action = new actions.SnsAction(this.alarmTopic);
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const created = new cloudwatch.Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      this.alarms.push(created);
      return created;
    };

    alarm('Api5xx', services.api.metricServerError({ period, statistic: 'Sum' }), 5, 'API answered 5xx');
    for (const fn of functions) {
      const name = fn.node.id;
      alarm(`${name}Errors`, fn.metricErrors({ period, statistic: 'Sum' }), 1, `${name} function errors`);
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
        1,
        `${name} function throttled`,
      );
    }
    for (const table of [data.catalogTable, data.cartsTable, data.idempotencyTable, data.labTable]) {
      const name = table.node.id;
      alarm(
        `${name}Throttles`,
        new cloudwatch.MathExpression({
          expression: 'reads + writes',
          usingMetrics: {
            reads: table.metric('ReadThrottleEvents', { period, statistic: 'Sum' }),
            writes: table.metric('WriteThrottleEvents', { period, statistic: 'Sum' }),
          },
          period,
        }),
        1,
        `${name} table throttled`,
      );
    }
    if (database.instance) {
      alarm('DatabaseCpu', database.instance.metricCPUUtilization({ period }), 80, 'RDS CPU at or above 80%');
      alarm(
        'DatabaseConnections',
        database.instance.metricDatabaseConnections({ period, statistic: 'Maximum' }),
        config.stage === 'prod' ? 300 : 60,
        'RDS connections near the instance limit',
      );
    }
    if (etl) {
      alarm(
        'EtlRunsFailed',
        etl.stateMachine.metricFailed({ period, statistic: 'Sum' }),
        1,
        'An ETL run failed',
      );
    }
    alarm(
      'DeadLetters',
      events.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      1,
      'Event deliveries failed after retries',
    );

    if (config.target !== 'localstack') this.dashboard = this.addDashboard(props, functions);
  }

  private addDashboard(
    { config, database, services }: ObservabilityStackProps,
    functions: lambda.IFunction[],
  ) {
    const period = Duration.minutes(5);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `shop-${config.stage}` });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [services.api.metricCount({ period })],
        right: [services.api.metricClientError({ period }), services.api.metricServerError({ period })],
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (p50, p99)',
        left: [
          services.api.metricLatency({ period, statistic: 'p50' }),
          services.api.metricLatency({ period, statistic: 'p99' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        left: functions.map((fn) => fn.metricErrors({ period, label: fn.node.id })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda duration p99',
        left: functions.map((fn) => fn.metricDuration({ period, statistic: 'p99', label: fn.node.id })),
      }),
    );
    if (database.instance) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Postgres',
          left: [database.instance.metricCPUUtilization({ period })],
          right: [database.instance.metricDatabaseConnections({ period })],
        }),
      );
    }
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    return dashboard;
  }
}
