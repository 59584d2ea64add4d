import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

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
  /** `AWS::StackId`; @default a UUID ARN derived from account, region and stack name ({@link stackIdOf}). */
  stackId?: string;
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

/**
 * The partition and URL suffix of a region, as the pseudo parameters `AWS::Partition` and `AWS::URLSuffix` give
 * them (CloudFormation user guide, "Pseudo parameters reference").
 *
 * @example
 * partitionOf('cn-north-1'); // { partition: 'aws-cn', urlSuffix: 'amazonaws.com.cn' }
 */
export function partitionOf(region: string): { partition: string; urlSuffix: string } {
  if (region.startsWith('cn-')) return { partition: 'aws-cn', urlSuffix: 'amazonaws.com.cn' };
  if (region.startsWith('us-gov-')) return { partition: 'aws-us-gov', urlSuffix: 'amazonaws.com' };
  if (region.startsWith('us-iso-')) return { partition: 'aws-iso', urlSuffix: 'c2s.ic.gov' };
  if (region.startsWith('us-isob-')) return { partition: 'aws-iso-b', urlSuffix: 'sc2s.sgov.gov' };
  return { partition: 'aws', urlSuffix: 'amazonaws.com' };
}

/**
 * `AWS::StackId` as CloudFormation forms it, `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>`,
 * with a UUID that stays the same for the same account, region and stack name (a local stack is never re-created
 * under another id).
 */
export function stackIdOf(region: string, accountId: string, stackName: string): string {
  const hex = createHash('sha256').update(`${accountId}/${region}/${stackName}`).digest('hex');
  // Shaped as a version 4, variant 1 UUID, the kind CloudFormation uses.
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((Number.parseInt(hex[16] as string, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return `arn:${partitionOf(region).partition}:cloudformation:${region}:${accountId}:stack/${stackName}/${uuid}`;
}

function pseudo(name: string, ctx: ResolveContext): unknown {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId;
    case 'AWS::Partition':
      return partitionOf(ctx.region).partition;
    case 'AWS::URLSuffix':
      return partitionOf(ctx.region).urlSuffix;
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::StackId':
      return ctx.stackId ?? stackIdOf(ctx.region, ctx.accountId, ctx.stackName);
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
        // `[map, top, second]`, or with the AWS::LanguageExtensions transform a fourth `{ DefaultValue }`.
        const [map, top, second, options] = resolve(arg, ctx, here) as [
          unknown,
          unknown,
          unknown,
          { DefaultValue?: unknown }?,
        ];
        const found = ctx.mappings?.[String(map)]?.[String(top)]?.[String(second)];
        if (found !== undefined) return found;
        if (options && 'DefaultValue' in options) return options.DefaultValue;
        throw new IntrinsicError(`${here}: no mapping ${map}.${top}.${second}`);
      }
      case 'Fn::Base64':
        return Buffer.from(String(resolve(arg, ctx, here))).toString('base64');
      case 'Fn::GetAZs': {
        // "" (or a Ref to AWS::Region) means the stack's region.
        const region = String(resolve(arg, ctx, here) ?? '') || ctx.region;
        return ['a', 'b', 'c'].map((z) => `${region}${z}`);
      }
      case 'Fn::Cidr': {
        const [block, count, bits] = resolve(arg, ctx, here) as [unknown, unknown, unknown];
        return cidr(String(block), Number(count), Number(bits), here);
      }
      case 'Fn::Length': {
        const list = resolve(arg, ctx, here);
        if (!Array.isArray(list)) throw new IntrinsicError(`${here}: Fn::Length needs a list`);
        return list.length;
      }
      case 'Fn::ToJsonString': {
        const value = resolve(arg, ctx, here);
        if (value === null || typeof value !== 'object')
          throw new IntrinsicError(`${here}: Fn::ToJsonString needs an object or a list`);
        return JSON.stringify(value);
      }
      default:
        // An intrinsic the local cloud does not know must not pass through as if it were data.
        if (key.startsWith('Fn::')) throw new IntrinsicError(`${here}: ${key} is not supported locally`);
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

/**
 * `Fn::Cidr`: `count` consecutive blocks, each with `bits` host bits, carved from the start of `block`
 * (IPv4 or IPv6), as in the CloudFormation user guide's examples.
 *
 * @example
 * cidr('192.168.0.0/24', 6, 5); // ['192.168.0.0/27', '192.168.0.32/27', …, '192.168.0.160/27']
 */
export function cidr(block: string, count: number, bits: number, at = 'Fn::Cidr'): string[] {
  const [address = '', prefixText = ''] = block.split('/');
  const version = isIP(address);
  const width = version === 6 ? 128 : 32;
  const prefix = Number(prefixText);
  const newPrefix = width - bits;
  if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > width)
    throw new IntrinsicError(`${at}: "${block}" is not a CIDR block`);
  if (!Number.isInteger(count) || count < 1 || count > 256)
    throw new IntrinsicError(`${at}: count must be 1 to 256`);
  if (!Number.isInteger(bits) || bits < 0 || newPrefix < prefix)
    throw new IntrinsicError(`${at}: ${bits} host bits do not fit in /${prefix}`);
  if (BigInt(count) > 1n << BigInt(newPrefix - prefix))
    throw new IntrinsicError(`${at}: /${prefix} holds fewer than ${count} /${newPrefix} blocks`);
  const start = toBigInt(address, version) & ~((1n << BigInt(width - prefix)) - 1n);
  const size = 1n << BigInt(bits);
  return Array.from(
    { length: count },
    (_, i) => `${fromBigInt(start + BigInt(i) * size, version)}/${newPrefix}`,
  );
}

function toBigInt(address: string, version: number): bigint {
  if (version === 4) return address.split('.').reduce((n, octet) => (n << 8n) + BigInt(octet), 0n);
  const [head = '', tail] = address.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail ?? '').length;
  const all = [...groups(head), ...Array(tail === undefined ? 0 : missing).fill('0'), ...groups(tail ?? '')];
  return all.reduce((n, group) => (n << 16n) + BigInt(`0x${group || '0'}`), 0n);
}

function fromBigInt(value: bigint, version: number): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) =>
    ((value >> shift) & 0xffffn).toString(16),
  );
  // Compress the longest run of zero groups, as RFC 5952 writes IPv6 addresses.
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/**
 * The value a `Ref` to a parameter gives, from the text supplied for it, by parameter type: `Number` and
 * `String` stay text (CloudFormation passes parameters as strings), `CommaDelimitedList` and `List<…>` become
 * lists of their comma-separated members, each trimmed (CloudFormation user guide, "Parameters").
 *
 * @example
 * parameterValue('CommaDelimitedList', 'a, b,c'); // ['a', 'b', 'c']
 * parameterValue('Number', 30);                   // '30'
 */
export function parameterValue(type: string, value: unknown): unknown {
  if (Array.isArray(value)) return value.map(String);
  const text = String(value);
  if (type === 'CommaDelimitedList' || /^List<.*>$/.test(type)) return text.split(',').map((s) => s.trim());
  return text;
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
