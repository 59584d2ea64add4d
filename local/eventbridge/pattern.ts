import { BlockList, isIP } from 'node:net';

/**
 * EventBridge event patterns: matching and validation, dependency-free.
 *
 * Semantics follow the AWS documentation ("Amazon EventBridge event patterns", "Content filtering in event
 * patterns") and the reference implementation, aws/event-ruler:
 * - every field named in a pattern must match (AND); a leaf is an array of alternatives (OR);
 * - an array in the event matches when any of its elements matches; objects inside event arrays are matched
 *   element by element, so two fields only match together when they come from the same element;
 * - operators only look at leaf values (strings, numbers, booleans, null); `exists: false` matches when the field
 *   has no leaf value at all: missing, an object (an intermediate node) or an empty array.
 */

/** A literal a pattern leaf can match exactly. */
export type MatchValue = string | number | boolean | null;

/** String operators that `anything-but` can negate. Each takes one value or (except in old rules) a list. */
export type AnythingButOperator =
  | { prefix: string | readonly string[] }
  | { suffix: string | readonly string[] }
  | { 'equals-ignore-case': string | readonly string[] }
  | { wildcard: string | readonly string[] };

/** One content-filtering operator, used as an element of a leaf array: `{ "prefix": "shop." }`. */
export type MatchExpression =
  | { exactly: string }
  | { prefix: string | { 'equals-ignore-case': string } }
  | { suffix: string | { 'equals-ignore-case': string } }
  | { 'equals-ignore-case': string }
  | { wildcard: string }
  | { 'anything-but': string | number | readonly string[] | readonly number[] | AnythingButOperator }
  | { numeric: readonly (string | number)[] }
  | { exists: boolean }
  | { cidr: string };

/** A leaf: the alternatives a field may match (any of). */
export type PatternLeaf = readonly (MatchValue | MatchExpression)[];

/**
 * An EventBridge event pattern, e.g. `{ source: ['shop.orders'], detail: { total: [{ numeric: ['>', 100] }] } }`.
 * The key `$or` takes a list of at least two sub-patterns, at any level.
 */
export interface EventPattern {
  [field: string]: EventPattern | PatternLeaf | readonly EventPattern[];
}

const OPERATORS = new Set([
  'exactly',
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
]);
const ANYTHING_BUT_OPERATORS = new Set(['prefix', 'suffix', 'equals-ignore-case', 'wildcard']);
const NUMERIC_OPERATORS = new Set(['<', '<=', '=', '>', '>=']);

type Json = Record<string, unknown>;

/**
 * Tells whether an event matches an EventBridge event pattern.
 *
 * The event is the whole envelope (`source`, `detail-type`, `account`, `region`, `time`, `id`, `resources`,
 * `detail`). The pattern is assumed valid (see {@link validatePattern}); unknown operators never match.
 *
 * @example
 * ```ts
 * matchesPattern(
 *   { source: [{ prefix: 'shop.' }], detail: { total: [{ numeric: ['>=', 100] }] } },
 *   { source: 'shop.orders', 'detail-type': 'OrderPlaced', detail: { total: 250 } },
 * ); // true
 * ```
 */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return isObject(event) && matchObject(pattern as Json, event);
}

/** Matches the fields of `pattern` against `node`, the event value at the same path (any type, or undefined). */
function matchObject(pattern: Json, node: unknown): boolean {
  for (const [field, sub] of Object.entries(pattern)) {
    if (field === '$or' && Array.isArray(sub)) {
      if (!sub.some((branch) => isObject(branch) && matchObject(branch, node))) return false;
      continue;
    }
    const value = isObject(node) ? node[field] : undefined;
    if (Array.isArray(sub)) {
      if (!matchLeaf(sub, value)) return false;
    } else if (isObject(sub)) {
      if (!matchNested(sub, value)) return false;
    } else {
      return false;
    }
  }
  return true;
}

/** A nested pattern against an event value: objects directly, arrays element by element (array consistency). */
function matchNested(pattern: Json, value: unknown): boolean {
  if (!Array.isArray(value)) return matchObject(pattern, value);
  const elements = value.flat(Number.POSITIVE_INFINITY);
  if (elements.length === 0) return matchObject(pattern, undefined);
  return elements.some((element) => matchObject(pattern, element));
}

function matchLeaf(alternatives: readonly unknown[], value: unknown): boolean {
  const leaves = leafValues(value);
  return alternatives.some((alternative) => {
    if (isObject(alternative) && 'exists' in alternative) {
      return alternative.exists === true ? leaves.length > 0 : leaves.length === 0;
    }
    return leaves.some((leaf) => matchValue(alternative, leaf));
  });
}

/** The leaf values at a path: a scalar, the scalars of an array (flattened), nothing for objects or absence. */
function leafValues(value: unknown): unknown[] {
  if (value === undefined || isObject(value)) return [];
  if (Array.isArray(value)) return value.flat(Number.POSITIVE_INFINITY).filter((v) => !isObject(v));
  return [value];
}

function matchValue(expected: unknown, actual: unknown): boolean {
  if (!isObject(expected)) return expected === actual;
  const [operator, operand] = Object.entries(expected)[0] ?? [];
  switch (operator) {
    case 'exactly':
      return typeof actual === 'string' && actual === operand;
    case 'prefix':
      return matchAffix(operand, actual, (s, p) => s.startsWith(p));
    case 'suffix':
      return matchAffix(operand, actual, (s, p) => s.endsWith(p));
    case 'equals-ignore-case':
      return typeof actual === 'string' && typeof operand === 'string' && fold(actual) === fold(operand);
    case 'wildcard':
      return (
        typeof actual === 'string' && typeof operand === 'string' && wildcardRegExp(operand).test(actual)
      );
    case 'anything-but':
      return matchAnythingBut(operand, actual);
    case 'numeric':
      return typeof actual === 'number' && Array.isArray(operand) && matchNumeric(operand, actual);
    case 'cidr':
      return typeof actual === 'string' && typeof operand === 'string' && inCidr(operand, actual);
    default:
      return false;
  }
}

function matchAffix(
  operand: unknown,
  actual: unknown,
  test: (value: string, affix: string) => boolean,
): boolean {
  if (typeof actual !== 'string') return false;
  if (typeof operand === 'string') return test(actual, operand);
  const ignoreCase = isObject(operand) ? operand['equals-ignore-case'] : undefined;
  return typeof ignoreCase === 'string' && test(fold(actual), fold(ignoreCase));
}

function matchAnythingBut(operand: unknown, actual: unknown): boolean {
  if (!isObject(operand)) {
    const excluded = Array.isArray(operand) ? operand : [operand];
    return !excluded.includes(actual);
  }
  // anything-but of a string operator: values that are not strings are "anything but" by definition.
  if (typeof actual !== 'string') return true;
  const [operator, values] = Object.entries(operand)[0] ?? [];
  const list: unknown[] = Array.isArray(values) ? values : [values];
  return !list.some((v) => typeof v === 'string' && matchValue({ [operator ?? '']: v }, actual));
}

function matchNumeric(conditions: readonly unknown[], actual: number): boolean {
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const bound = conditions[i + 1];
    if (typeof bound !== 'number') return false;
    const ok =
      conditions[i] === '<'
        ? actual < bound
        : conditions[i] === '<='
          ? actual <= bound
          : conditions[i] === '='
            ? actual === bound
            : conditions[i] === '>'
              ? actual > bound
              : conditions[i] === '>=' && actual >= bound;
    if (!ok) return false;
  }
  return conditions.length > 0;
}

const fold = (s: string) => s.toLowerCase();

const wildcardCache = new Map<string, RegExp>();

/** `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. */
function wildcardRegExp(wildcard: string): RegExp {
  let re = wildcardCache.get(wildcard);
  if (!re) {
    let source = '';
    for (let i = 0; i < wildcard.length; i++) {
      const ch = wildcard[i] as string;
      if (ch === '\\' && i + 1 < wildcard.length) source += escapeRegExp(wildcard[++i] as string);
      else source += ch === '*' ? '.*' : escapeRegExp(ch);
    }
    re = new RegExp(`^${source}$`, 's');
    wildcardCache.set(wildcard, re);
  }
  return re;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cidrCache = new Map<string, { list: BlockList; family: 'ipv4' | 'ipv6' } | null>();

function parseCidr(cidr: string): { list: BlockList; family: 'ipv4' | 'ipv6' } | null {
  let parsed = cidrCache.get(cidr);
  if (parsed === undefined) {
    parsed = null;
    const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
    const version = match ? isIP(match[1] as string) : 0;
    const bits = Number(match?.[2]);
    if (match && version !== 0 && bits <= (version === 4 ? 32 : 128)) {
      const family = version === 4 ? 'ipv4' : 'ipv6';
      const list = new BlockList();
      list.addSubnet(match[1] as string, bits, family);
      parsed = { list, family };
    }
    cidrCache.set(cidr, parsed);
  }
  return parsed;
}

function inCidr(cidr: string, ip: string): boolean {
  const parsed = parseCidr(cidr);
  const version = isIP(ip);
  if (!parsed || version === 0 || (version === 4) !== (parsed.family === 'ipv4')) return false;
  return parsed.list.check(ip, parsed.family);
}

/**
 * Checks that a value is a valid EventBridge event pattern, with the rules of EventBridge's own compiler
 * (aws/event-ruler): fields are objects or non-empty arrays, leaf elements are literals or single-operator
 * objects, operator operands have the documented types, numeric ranges are well formed, `$or` lists at least two
 * non-empty objects.
 *
 * @returns `undefined` when the pattern is valid, otherwise a message naming the offending path.
 *
 * @example
 * ```ts
 * validatePattern({ source: ['shop.orders'] });             // undefined
 * validatePattern({ source: 'shop.orders' });               // '"source" must be an object or an array'
 * validatePattern({ detail: { n: [{ between: [1, 2] }] } }); // 'detail.n: Unrecognized match type between'
 * ```
 */
export function validatePattern(pattern: unknown): string | undefined {
  if (!isObject(pattern)) return 'Event pattern must be a JSON object';
  return validateObject(pattern, '', false);
}

function validateObject(pattern: Json, path: string, insideOr: boolean): string | undefined {
  const entries = Object.entries(pattern);
  if (entries.length === 0) return `${path || 'pattern'}: Empty objects are not allowed`;
  for (const [field, value] of entries) {
    const at = path ? `${path}.${field}` : field;
    if (field === '$or') {
      const error = validateOr(value, at);
      if (error) return error;
      continue;
    }
    if (insideOr && OPERATORS.has(field)) {
      return `${at}: "${field}" is a reserved name that cannot be used as a field inside $or`;
    }
    let error: string | undefined;
    if (Array.isArray(value)) error = validateLeaf(value, at);
    else if (isObject(value)) error = validateObject(value, at, insideOr);
    else error = `"${at}" must be an object or an array`;
    if (error) return error;
  }
  return undefined;
}

function validateOr(value: unknown, at: string): string | undefined {
  if (!Array.isArray(value)) return `${at}: $or must be followed by an array`;
  if (value.length < 2) return `${at}: $or needs at least 2 objects`;
  for (const [i, branch] of value.entries()) {
    if (!isObject(branch)) return `${at}[${i}]: only JSON objects are allowed in a $or array`;
    const error = validateObject(branch, `${at}[${i}]`, true);
    if (error) return error;
  }
  return undefined;
}

function validateLeaf(values: readonly unknown[], at: string): string | undefined {
  if (values.length === 0) return `${at}: Empty arrays are not allowed`;
  for (const value of values) {
    if (isObject(value)) {
      const error = validateExpression(value);
      if (error) return `${at}: ${error}`;
    } else if (Array.isArray(value) || !isMatchValue(value)) {
      return `${at}: Match value must be String, number, true, false, or null`;
    }
  }
  return undefined;
}

function validateExpression(expression: Json): string | undefined {
  const entries = Object.entries(expression);
  if (entries.length !== 1) {
    return entries.length === 0
      ? 'Match expression name not found'
      : 'Only one key allowed in match expression';
  }
  const [operator, operand] = entries[0] as [string, unknown];
  switch (operator) {
    case 'exactly':
      return typeof operand === 'string' ? undefined : 'exact match pattern must be a string';
    case 'prefix':
    case 'suffix':
      if (typeof operand === 'string') return undefined;
      if (isObject(operand)) {
        const keys = Object.keys(operand);
        if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') {
          return `Unsupported ${operator} pattern: ${keys.join(', ') || '{}'}`;
        }
        return typeof operand['equals-ignore-case'] === 'string'
          ? undefined
          : 'equals-ignore-case match pattern must be a string';
      }
      return `${operator} match pattern must be a string`;
    case 'equals-ignore-case':
      return typeof operand === 'string' ? undefined : 'equals-ignore-case match pattern must be a string';
    case 'wildcard':
      return typeof operand === 'string' ? wildcardError(operand) : 'wildcard match pattern must be a string';
    case 'anything-but':
      return anythingButError(operand);
    case 'numeric':
      return Array.isArray(operand) ? numericError(operand) : 'Value of numeric must be an array.';
    case 'exists':
      return typeof operand === 'boolean' ? undefined : 'exists match pattern must be either true or false.';
    case 'cidr':
      return typeof operand === 'string' && parseCidr(operand)
        ? undefined
        : `Malformed CIDR: ${String(operand)}`;
    default:
      return `Unrecognized match type ${operator}`;
  }
}

function anythingButError(operand: unknown): string | undefined {
  if (typeof operand === 'string' || isFiniteNumber(operand)) return undefined;
  if (Array.isArray(operand)) {
    const allStrings = operand.every((v) => typeof v === 'string');
    const allNumbers = operand.every(isFiniteNumber);
    if (operand.length === 0 || (!allStrings && !allNumbers)) {
      return 'Inside anything-but list, either all values are number or string, mixed type is not supported';
    }
    return undefined;
  }
  if (!isObject(operand)) return 'Value of anything-but must be an array or single string/number value.';
  const entries = Object.entries(operand);
  const [operator, values] = entries[0] ?? [];
  if (entries.length !== 1 || !operator || !ANYTHING_BUT_OPERATORS.has(operator)) {
    return `Unsupported anything-but pattern: ${Object.keys(operand).join(', ') || '{}'}`;
  }
  const list: unknown[] = Array.isArray(values) ? values : [values];
  if (list.length === 0) return `anything-but/${operator} list must not be empty`;
  for (const value of list) {
    if (typeof value !== 'string') return `anything-but/${operator} values must be strings`;
    if ((operator === 'prefix' || operator === 'suffix') && value === '')
      return 'Null prefix/suffix not allowed';
    if (operator === 'wildcard') {
      const error = wildcardError(value);
      if (error) return error;
    }
  }
  return undefined;
}

/** As event-ruler: `[op, n]`, or a lower bound (`>`/`>=`) followed by an upper bound (`<`/`<=`). */
function numericError(terms: readonly unknown[]): string | undefined {
  const [op1, n1, op2, n2, ...rest] = terms;
  if (typeof op1 !== 'string' || !NUMERIC_OPERATORS.has(op1)) {
    return `Unrecognized numeric range operator: ${JSON.stringify(op1)}`;
  }
  if (!isFiniteNumber(n1)) return `Value of ${op1} must be numeric`;
  if (terms.length === 2) return undefined;
  if (op1 !== '>' && op1 !== '>=') return 'Too many elements in numeric expression';
  if (op2 !== '<' && op2 !== '<=') return `Bad numeric range operator: ${JSON.stringify(op2)}`;
  if (!isFiniteNumber(n2)) return `Value of ${op2} must be numeric`;
  if (rest.length > 0) return 'Too many terms in numeric range expression';
  if (n1 >= n2) return 'Bottom must be less than top';
  return undefined;
}

function wildcardError(wildcard: string): string | undefined {
  for (let i = 0; i < wildcard.length; i++) {
    const ch = wildcard[i];
    if (ch === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\')
        return `Invalid escape character at pos ${i} in wildcard ${wildcard}`;
      i++;
    } else if (ch === '*' && wildcard[i + 1] === '*') {
      return `Consecutive wildcard characters at pos ${i} in wildcard ${wildcard}`;
    }
  }
  return undefined;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const isMatchValue = (v: unknown): v is MatchValue =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || isFiniteNumber(v);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
