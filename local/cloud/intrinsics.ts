/**
 * CloudFormation intrinsic functions, evaluated the way CloudFormation does at deploy time, so the
 * local cloud can turn a synthesized template into concrete names, ARNs and environment values.
 */

/** What a resource exposes to `Ref` and `Fn::GetAtt` once it is deployed. */
export interface ResourceValues {
  ref: string;
  attributes: Record<string, unknown>;
}

export interface ResolveContext {
  stackName: string;
  region: string;
  accountId: string;
  parameters: Record<string, unknown>;
  resources: Map<string, ResourceValues>;
  exports: Map<string, unknown>;
  conditions: Record<string, boolean>;
  mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

/** Marks a property that `AWS::NoValue` removed. */
const NO_VALUE = Symbol('AWS::NoValue');

export class IntrinsicError extends Error {
  override name = 'IntrinsicError';
}

function pseudo(name: string, ctx: ResolveContext): unknown {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::StackId':
      return `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName}/local`;
    case 'AWS::NoValue':
      return NO_VALUE;
    case 'AWS::NotificationARNs':
      return [];
    default:
      return undefined;
  }
}

function ref(name: string, ctx: ResolveContext, at: string): unknown {
  const p = pseudo(name, ctx);
  if (p !== undefined) return p;
  if (name in ctx.parameters) return ctx.parameters[name];
  const resource = ctx.resources.get(name);
  if (resource) return resource.ref;
  throw new IntrinsicError(`${at}: Ref to "${name}", which is neither a parameter nor a deployed resource`);
}

function getAtt(logicalId: string, attribute: string, ctx: ResolveContext, at: string): unknown {
  const resource = ctx.resources.get(logicalId);
  if (!resource) throw new IntrinsicError(`${at}: Fn::GetAtt on "${logicalId}", which is not deployed (yet)`);
  if (!(attribute in resource.attributes)) {
    throw new IntrinsicError(`${at}: "${logicalId}" has no attribute "${attribute}" locally`);
  }
  return resource.attributes[attribute];
}

/** `Fn::Sub` with `${Name}`, `${Resource.Attr}` and `${!Literal}`. */
function sub(template: string, vars: Record<string, unknown>, ctx: ResolveContext, at: string): string {
  return template.replace(/\$\{([^}]+)\}/g, (_, expr: string) => {
    if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
    if (expr in vars) return String(vars[expr]);
    const dot = expr.indexOf('.');
    if (dot > 0 && !expr.startsWith('AWS::')) {
      return String(getAtt(expr.slice(0, dot), expr.slice(dot + 1), ctx, at));
    }
    return String(ref(expr, ctx, at));
  });
}

function condition(value: unknown, ctx: ResolveContext, at: string): boolean {
  if (typeof value === 'string') {
    if (!(value in ctx.conditions)) throw new IntrinsicError(`${at}: unknown condition "${value}"`);
    return ctx.conditions[value] as boolean;
  }
  return Boolean(resolve(value, ctx, at));
}

/**
 * Resolves every intrinsic inside `value` (deeply). Properties that resolve to `AWS::NoValue` are
 * dropped. Throws an {@link IntrinsicError} naming the property path when something cannot resolve.
 *
 * @example
 * resolve({ 'Fn::Join': ['', ['arn:aws:s3:::', { Ref: 'Bucket' }]] }, ctx) // 'arn:aws:s3:::shop-raw'
 */
export function resolve(value: unknown, ctx: ResolveContext, at = '$'): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => resolve(v, ctx, `${at}[${i}]`)).filter((v) => v !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [[key, arg]] = entries as [[string, unknown]];
    const here = `${at}.${key}`;
    switch (key) {
      case 'Ref':
        return ref(String(arg), ctx, here);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
        return getAtt(String(id), String(resolve(attr, ctx, here)), ctx, here);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown];
        const list = resolve(parts, ctx, here) as unknown[];
        return list.map(String).join(sep);
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return sub(arg, {}, ctx, here);
        const [template, vars] = arg as [string, Record<string, unknown>];
        return sub(template, resolve(vars, ctx, here) as Record<string, unknown>, ctx, here);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = resolve(list, ctx, here) as unknown[];
        const i = Number(resolve(index, ctx, here));
        if (!Array.isArray(items) || i < 0 || i >= items.length) {
          throw new IntrinsicError(`${here}: index ${i} out of range`);
        }
        return items[i];
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return String(resolve(source, ctx, here)).split(sep);
      }
      case 'Fn::ImportValue': {
        const name = String(resolve(arg, ctx, here));
        if (!ctx.exports.has(name)) throw new IntrinsicError(`${here}: no stack exports "${name}"`);
        return ctx.exports.get(name);
      }
      case 'Fn::If': {
        const [cond, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return resolve(condition(cond, ctx, here) ? whenTrue : whenFalse, ctx, here);
      }
      case 'Fn::Equals': {
        const [a, b] = arg as [unknown, unknown];
        return JSON.stringify(resolve(a, ctx, here)) === JSON.stringify(resolve(b, ctx, here));
      }
      case 'Fn::Not':
        return !condition((arg as unknown[])[0], ctx, here);
      case 'Fn::And':
        return (arg as unknown[]).every((c) => condition(c, ctx, here));
      case 'Fn::Or':
        return (arg as unknown[]).some((c) => condition(c, ctx, here));
      case 'Condition':
        return condition(arg, ctx, here);
      case 'Fn::FindInMap': {
        const [map, top, second] = (resolve(arg, ctx, here) as string[]).map(String) as [
          string,
          string,
          string,
        ];
        const found = ctx.mappings?.[map]?.[top]?.[second];
        if (found === undefined) throw new IntrinsicError(`${here}: no mapping ${map}.${top}.${second}`);
        return found;
      }
      case 'Fn::Base64':
        return Buffer.from(String(resolve(arg, ctx, here))).toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${ctx.region}${z}`);
      default:
        break;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) {
    const resolved = resolve(v, ctx, `${at}.${key}`);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

/** Evaluates a template's `Conditions` section (conditions may refer to each other). */
export function evaluateConditions(
  definitions: Record<string, unknown> | undefined,
  ctx: Omit<ResolveContext, 'conditions'>,
): Record<string, boolean> {
  const conditions: Record<string, boolean> = {};
  const pending = new Map(Object.entries(definitions ?? {}));
  const full: ResolveContext = { ...ctx, conditions };
  // Resolve in dependency order by retrying the ones that named a condition not yet known.
  for (let round = 0; pending.size > 0 && round <= pending.size + 1; round++) {
    for (const [name, definition] of pending) {
      try {
        conditions[name] = Boolean(resolve(definition, full, `Conditions.${name}`));
        pending.delete(name);
      } catch (error) {
        if (!(error instanceof IntrinsicError && /unknown condition/.test(error.message))) throw error;
      }
    }
  }
  if (pending.size)
    throw new IntrinsicError(`Conditions ${[...pending.keys()].join(', ')} could not be evaluated`);
  return conditions;
}

/** Logical ids a value refers to through Ref, Fn::GetAtt or Fn::Sub (for ordering resources). */
export function dependenciesOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) dependenciesOf(v, into);
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) into.add(v);
      else if (key === 'Fn::GetAtt') into.add(String(Array.isArray(v) ? v[0] : String(v).split('.')[0]));
      else if (key === 'Fn::Sub') {
        const template = typeof v === 'string' ? v : (v as [string])[0];
        for (const [, expr] of template.matchAll(/\$\{([^}!][^}]*)\}/g)) {
          const id = (expr as string).split('.')[0] as string;
          if (!id.startsWith('AWS::')) into.add(id);
        }
        if (Array.isArray(v)) dependenciesOf(v[1], into);
      } else dependenciesOf(v, into);
    }
  }
  return into;
}
