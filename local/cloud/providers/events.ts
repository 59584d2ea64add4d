/** `AWS::Events::EventBus` and `AWS::Events::Rule`: buses and rules of the in-process EventBridge. */
import type { Rule } from '../../eventbridge/bus.ts';
import type { Json, Provider } from './types.ts';

export const eventsEventBus: Provider = ({ props, env, name, arn }) => {
  const busName = String(props.Name ?? name(256));
  env.bus.addBus(busName);
  return { ref: busName, attributes: { Arn: arn('events', `event-bus/${busName}`), Name: busName } };
};

export const eventsRule: Provider = ({ props, env, deployment, name, arn }) => {
  const ruleName = String(props.Name ?? name());
  const rule: Rule = {
    name: ruleName,
    eventBusName: String(props.EventBusName ?? 'default'),
    eventPattern: props.EventPattern,
    scheduleExpression: props.ScheduleExpression,
    state: props.State ?? 'ENABLED',
    targets: ((props.Targets as Json[]) ?? []).map((t: Json) => ({
      id: String(t.Id),
      arn: String(t.Arn),
      input: t.Input,
      inputPath: t.InputPath,
      inputTransformer: t.InputTransformer
        ? {
            inputPathsMap: t.InputTransformer.InputPathsMap,
            inputTemplate: t.InputTransformer.InputTemplate,
          }
        : undefined,
      deadLetterArn: t.DeadLetterConfig?.Arn,
      maximumRetryAttempts: t.RetryPolicy?.MaximumRetryAttempts,
      maximumEventAgeSeconds: t.RetryPolicy?.MaximumEventAgeInSeconds,
    })),
  };
  env.bus.putRule(rule);
  if (rule.scheduleExpression) deployment.schedules.push(ruleName);
  return { ref: ruleName, attributes: { Arn: arn('events', `rule/${ruleName}`) } };
};
