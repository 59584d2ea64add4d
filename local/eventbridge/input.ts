/**
 * Target input transformation, as EventBridge does it: `Input` (constant JSON), `InputPath` (a JSONPath into the
 * event) or `InputTransformer` (variables picked from the event by JSONPath, substituted into a template).
 */

/** How a target's payload is derived from the event; at most one of the three may be set. */
export interface TargetInput {
  input?: string;
  inputPath?: string;
  inputTransformer?: { inputPathsMap?: Record<string, string>; inputTemplate: string };
}

/** Values EventBridge predefines for input templates, besides the variables of `inputPathsMap`. */
export interface TemplateContext {
  ruleArn: string;
  ruleName: string;
  ingestionTime: string;
}

type Segment = string | number;

const PATH_STEP = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;

/**
 * Parses the JSONPath subset EventBridge accepts in `InputPath` and `InputPathsMap`: `$`, `.name`, `['name']`,
 * `[0]` (names may contain `-`, as in `$.detail-type`).
 *
 * @returns the path steps, or `undefined` when the path is not valid.
 *
 * @example
 * ```ts
 * parseJsonPath('$.detail.items[0].sku'); // ['detail', 'items', 0, 'sku']
 * ```
 */
export function parseJsonPath(path: string): Segment[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: Segment[] = [];
  PATH_STEP.lastIndex = 1;
  while (PATH_STEP.lastIndex < path.length) {
    const m = PATH_STEP.exec(path);
    if (!m) return undefined;
    steps.push(m[2] !== undefined ? Number(m[2]) : ((m[1] ?? m[3] ?? m[4]) as string));
  }
  return steps;
}

/** Reads a JSONPath from a value; `undefined` when the path does not resolve. */
function readPath(root: unknown, path: string): unknown {
  let node = root;
  for (const step of parseJsonPath(path) ?? []) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<Segment, unknown>)[step];
  }
  return node;
}

/**
 * Checks a target's input settings the way PutTargets does.
 *
 * @returns an error message, or `undefined` when valid.
 *
 * @example
 * ```ts
 * validateTargetInput({ inputPath: 'detail' }); // 'InputPath "detail" is not a valid JSONPath'
 * ```
 */
export function validateTargetInput(target: TargetInput): string | undefined {
  const set = [target.input, target.inputPath, target.inputTransformer].filter((v) => v !== undefined);
  if (set.length > 1) return 'Only one of Input, InputPath and InputTransformer can be set';
  if (target.input !== undefined) {
    try {
      JSON.parse(target.input);
    } catch {
      return 'Input is not valid JSON text';
    }
  }
  if (target.inputPath !== undefined && !parseJsonPath(target.inputPath)) {
    return `InputPath "${target.inputPath}" is not a valid JSONPath`;
  }
  const transformer = target.inputTransformer;
  if (transformer) {
    if (typeof transformer.inputTemplate !== 'string' || transformer.inputTemplate.length > 8192) {
      return 'InputTemplate must be a string of at most 8192 characters';
    }
    const paths = Object.entries(transformer.inputPathsMap ?? {});
    if (paths.length > 100) return 'InputPathsMap can have at most 100 entries';
    for (const [name, path] of paths) {
      if (!/^[A-Za-z0-9_-]+$/.test(name)) return `InputPathsMap key "${name}" is not valid`;
      if (typeof path !== 'string' || !parseJsonPath(path)) {
        return `InputPathsMap value for "${name}" is not a valid JSONPath`;
      }
    }
  }
  return undefined;
}

/**
 * Computes the payload a target receives for an event.
 *
 * - `input`: the constant JSON, parsed;
 * - `inputPath`: the part of the event at that JSONPath (`null` when it does not resolve);
 * - `inputTransformer`: the template with each `<var>` replaced. In a JSON template a variable inside quotes is
 *   inserted as string content (escaped), outside quotes as JSON; a template that is not JSON gets plain text.
 *   The result is parsed when it is JSON, otherwise delivered as a string. Predefined variables:
 *   `<aws.events.rule-arn>`, `<aws.events.rule-name>`, `<aws.events.event.ingestion-time>`,
 *   `<aws.events.event>` (the event without its `detail`) and `<aws.events.event.json>` (the whole event), both
 *   inserted as JSON. A path that does not resolve gives `null` (or `""`
 *   inside quotes);
 * - none: the whole event.
 *
 * @example
 * ```ts
 * transformInput(
 *   { inputTransformer: { inputPathsMap: { id: '$.detail.orderId' }, inputTemplate: '{"order": <id>}' } },
 *   event,
 *   context,
 * ); // { order: 'o-1' }
 * ```
 */
export function transformInput(target: TargetInput, event: unknown, context: TemplateContext): unknown {
  if (target.input !== undefined) return JSON.parse(target.input);
  if (target.inputPath !== undefined) return readPath(event, target.inputPath) ?? null;
  if (!target.inputTransformer) return event;

  const { inputPathsMap = {}, inputTemplate } = target.inputTransformer;
  const vars = new Map<string, unknown>([
    ['aws.events.rule-arn', context.ruleArn],
    ['aws.events.rule-name', context.ruleName],
    ['aws.events.event.ingestion-time', context.ingestionTime],
    // The envelope without `detail`, and the whole event; both inserted as JSON, never as a quoted string.
    ['aws.events.event', withoutDetail(event)],
    ['aws.events.event.json', event],
  ]);
  for (const [name, path] of Object.entries(inputPathsMap)) vars.set(name, readPath(event, path));

  const isJsonTemplate = parses(substitute(inputTemplate, vars, () => 'null'));
  const text = substitute(inputTemplate, vars, (value, inString) => {
    if (!isJsonTemplate) return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
    if (!inString) return value === undefined ? 'null' : JSON.stringify(value);
    if (value === undefined) return '';
    const raw = typeof value === 'string' ? value : JSON.stringify(value);
    return JSON.stringify(raw).slice(1, -1);
  });
  return isJsonTemplate ? JSON.parse(text) : text;
}

/** Replaces each known `<name>` in a template, telling the renderer whether it sits inside a JSON string. */
function substitute(
  template: string,
  vars: Map<string, unknown>,
  render: (value: unknown, inString: boolean) => string,
): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i] as string;
    if (ch === '<') {
      const end = template.indexOf('>', i + 1);
      const name = end > 0 ? template.slice(i + 1, end) : '';
      if (vars.has(name)) {
        out += render(vars.get(name), inString);
        i = end;
        continue;
      }
    }
    if (inString && ch === '\\') {
      out += ch + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') inString = !inString;
    out += ch;
  }
  return out;
}

function withoutDetail(event: unknown): unknown {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return event;
  const { detail: _detail, ...envelope } = event as Record<string, unknown>;
  return envelope;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
