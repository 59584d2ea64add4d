/**
 * The EventBridge API over HTTP (AWS JSON 1.1), so the AWS SDK can talk to the local bridge:
 * `PutEvents`, `ListRules`, `DescribeRule` and `ListTargetsByRule`, chosen by `X-Amz-Target`.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  busNameOf,
  describe,
  EventBridgeError,
  MAX_HTTP_BODY_BYTES,
  type PutEventsRequestEntry,
  type PutEventsResponse,
  type Rule,
  targetToApi,
} from './model.ts';

/** What the wire protocol needs from the bridge. */
export interface EventBridgeApi {
  /** Answers once the accepted events are stored (a promise for a journal written asynchronously). */
  putEvents(entries: PutEventsRequestEntry[]): PutEventsResponse | Promise<PutEventsResponse>;
  /** The rules of one bus, or undefined when the bus does not exist. */
  rulesOf(eventBusName: string): Rule[] | undefined;
  ruleArn(rule: Rule): string;
}

/**
 * Answers one HTTP request. Signatures are not checked. Errors are answered as AWS does
 * (`400 {"__type": "ValidationException", "message": ...}`), so the AWS SDK raises them.
 */
export async function handleEventBridgeHttp(
  bridge: EventBridgeApi,
  req: IncomingMessage,
  res: ServerResponse,
  log: (entry: Record<string, unknown>) => void,
): Promise<void> {
  try {
    if (req.method !== 'POST') {
      throw new EventBridgeError(
        'UnknownOperationException',
        `Method ${req.method} is not supported; use POST`,
      );
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, operation] = target.split('.');
    const body = await readJsonBody(req);
    let result: unknown;
    if (service === 'AWSEvents' && operation === 'PutEvents') {
      result = await bridge.putEvents(body.Entries as PutEventsRequestEntry[]);
    } else if (service === 'AWSEvents' && operation === 'ListRules') {
      const bus = busNameOf(typeof body.EventBusName === 'string' ? body.EventBusName : undefined);
      const rules = bridge.rulesOf(bus);
      if (!rules) throw new EventBridgeError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      const prefix = typeof body.NamePrefix === 'string' ? body.NamePrefix : '';
      result = { Rules: rules.filter((r) => r.name.startsWith(prefix)).map((r) => describeRule(bridge, r)) };
    } else if (service === 'AWSEvents' && operation === 'DescribeRule') {
      result = describeRule(bridge, findRule(bridge, body.Name, body.EventBusName));
    } else if (service === 'AWSEvents' && operation === 'ListTargetsByRule') {
      result = { Targets: findRule(bridge, body.Rule, body.EventBusName).targets.map(targetToApi) };
    } else {
      throw new EventBridgeError('UnknownOperationException', `Unknown operation ${target || '(none)'}`);
    }
    send(res, 200, result);
  } catch (error) {
    if (error instanceof EventBridgeError) {
      send(res, 400, { __type: error.code, message: error.message }, error.code);
    } else {
      log({ level: 'ERROR', message: 'request failed', error: describe(error) });
      send(res, 500, { __type: 'InternalException', message: describe(error) }, 'InternalException');
    }
  }
}

function findRule(bridge: EventBridgeApi, name: unknown, busName: unknown): Rule {
  const bus = busNameOf(typeof busName === 'string' ? busName : undefined);
  const rule = typeof name === 'string' ? bridge.rulesOf(bus)?.find((r) => r.name === name) : undefined;
  if (!rule) {
    throw new EventBridgeError(
      'ResourceNotFoundException',
      `Rule ${String(name)} does not exist on EventBus ${bus}.`,
    );
  }
  return rule;
}

function describeRule(bridge: EventBridgeApi, rule: Rule): Record<string, unknown> {
  return {
    Name: rule.name,
    Arn: bridge.ruleArn(rule),
    EventBusName: rule.eventBusName,
    State: rule.state ?? 'ENABLED',
    ...(rule.eventPattern ? { EventPattern: JSON.stringify(rule.eventPattern) } : {}),
    ...(rule.scheduleExpression ? { ScheduleExpression: rule.scheduleExpression } : {}),
    CreatedBy: bridge.ruleArn(rule).split(':')[4],
  };
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_HTTP_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_HTTP_BODY_BYTES)
    throw new EventBridgeError('ValidationException', 'Request body is too large.');
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EventBridgeError('SerializationException', 'Request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EventBridgeError('SerializationException', 'Request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}
