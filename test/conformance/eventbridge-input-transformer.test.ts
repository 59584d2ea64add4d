/**
 * Target input transformation (local/eventbridge/input.ts) against the EventBridge user guide's examples
 * ("Transforming target input": the EC2 event, its InputPathsMap and the table of templates and outputs).
 */
import { describe, expect, it } from 'vitest';
import { parseJsonPath, transformInput, validateTargetInput } from '../../local/eventbridge/input.ts';
import { SOURCES } from './sources.ts';

const EVENT = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2015-11-11T21:29:54Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: { 'instance-id': 'i-0123456789', state: 'RUNNING' },
};

const PATHS = {
  timestamp: '$.time',
  instance: '$.detail.instance-id',
  state: '$.detail.state',
  resource: '$.resources[0]',
};

const CONTEXT = {
  ruleArn: 'arn:aws:events:us-east-2:123456789012:rule/example',
  ruleName: 'example',
  ingestionTime: '2015-11-11T21:29:55Z',
};

const transform = (inputTemplate: string) =>
  transformInput({ inputTransformer: { inputPathsMap: PATHS, inputTemplate } }, EVENT, CONTEXT);

describe(`${SOURCES.ebTransform} (conformance)`, () => {
  it.each([
    ['Simple string', '"instance <instance> is in <state>"', 'instance i-0123456789 is in RUNNING'],
    [
      'String with escaped quotes',
      '"instance \\"<instance>\\" is in <state>"',
      'instance "i-0123456789" is in RUNNING',
    ],
    [
      'Simple JSON',
      '{\n  "instance" : <instance>,\n  "state": <state>\n}',
      { instance: 'i-0123456789', state: 'RUNNING' },
    ],
    [
      'JSON with strings and variables',
      '{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
      { instance: 'i-0123456789', state: 'RUNNING', instanceStatus: 'instance "i-0123456789" is in RUNNING' },
    ],
    [
      'JSON with a mix of variables and static information',
      '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}',
      { instance: 'i-0123456789', state: [9, 'RUNNING', true], Transformed: 'Yes' },
    ],
    ['Including reserved variables in a string', '"<aws.events.rule-name> triggered"', 'example triggered'],
    ['An array element by index ($.resources[0])', '<resource>', EVENT.resources[0]],
  ])('%s', (_, template, output) => {
    expect(transform(template)).toEqual(output);
  });

  it('Including reserved variables in JSON: rule ARN, rule name and the original event', () => {
    const result = transform(
      '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,\n  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>\n}',
    ) as Record<string, unknown>;
    expect(result).toMatchObject({
      instance: 'i-0123456789',
      state: 'RUNNING',
      ruleArn: CONTEXT.ruleArn,
      ruleName: 'example',
    });
    // The current guide: <aws.events.event> is the original payload without its `detail`, inserted as JSON.
    const { detail: _detail, ...envelope } = EVENT;
    expect(result.originalEvent).toEqual(envelope);
  });

  it('<aws.events.event.json> is the whole event, detail included, inserted as JSON (not a quoted string)', () => {
    expect(transform('{"event": <aws.events.event.json>}')).toEqual({ event: EVENT });
  });

  it('<aws.events.event.ingestion-time> is the time EventBridge received the event', () => {
    expect(transform('{"at": <aws.events.event.ingestion-time>}')).toEqual({ at: CONTEXT.ingestionTime });
  });

  it('a variable whose path is not in the event gives no value (null in JSON, nothing in a string)', () => {
    const result = transformInput(
      {
        inputTransformer: {
          inputPathsMap: { missing: '$.detail.nope' },
          inputTemplate: '{"a": <missing>, "b": "x<missing>y"}',
        },
      },
      EVENT,
      CONTEXT,
    );
    expect(result).toEqual({ a: null, b: 'xy' });
  });

  it('InputPath passes the part of the event at a JSONPath', () => {
    expect(transformInput({ inputPath: '$.detail' }, EVENT, CONTEXT)).toEqual(EVENT.detail);
  });

  // The JSONPath subset EventBridge accepts in InputPath and InputPathsMap (kept by hand: see input.ts).
  it.each([
    ['$', []],
    ['$.detail-type', ['detail-type']],
    ['$.detail.instance-id', ['detail', 'instance-id']],
    ['$.resources[0]', ['resources', 0]],
    ["$['detail']['state']", ['detail', 'state']],
  ])('parses the JSONPath %s', (path, steps) => {
    expect(parseJsonPath(path)).toEqual(steps);
  });

  it.each(['detail', '$.', '$[x]', '$.a[', '.detail'])('refuses the JSONPath %j', (path) => {
    expect(validateTargetInput({ inputPath: path })).toMatch(/not a valid JSONPath/);
  });
});
