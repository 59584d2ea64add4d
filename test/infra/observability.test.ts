import { describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

describe('Observability stack', () => {
  const { shop, template } = synth('aws', 'dev');
  const obs = template(shop.observability);

  it('has a dashboard and alarms on API 5xx, Lambda errors and throttles, DynamoDB throttles, RDS and the DLQ', () => {
    obs.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const alarms = Object.values(obs.findResources('AWS::CloudWatch::Alarm'));
    const metricNames = alarms.map(
      (a) =>
        a.Properties.MetricName ??
        a.Properties.Metrics?.map(
          (m: { MetricStat?: { Metric: { MetricName: string } } }) => m.MetricStat?.Metric.MetricName,
        )
          .filter(Boolean)
          .join('+'),
    );
    for (const name of [
      '5XXError',
      'Errors',
      'Throttles',
      'ReadThrottleEvents+WriteThrottleEvents',
      'CPUUtilization',
      'DatabaseConnections',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(metricNames).toContain(name);
    }
    // Every function of the services stack has its own error alarm.
    // Every function of the services and ETL stacks has its own error alarm; ETL runs that fail too.
    const functionCount = shop.services.functions.length + (shop.etl?.functions.length ?? 0);
    expect(shop.etl?.functions.length).toBeGreaterThan(0);
    expect(metricNames.filter((n) => n === 'Errors')).toHaveLength(functionCount);
    expect(metricNames).toContain('ExecutionsFailed');
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(alarm.Properties.AlarmActions[0].Ref).toMatch(/^Alarms/);
    }
  });
});
