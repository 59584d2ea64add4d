/**
 * Bad requests for every route of the API: malformed and oversized bodies, wrong types, path
 * parameters and cursors the stores cannot take, odd headers and tokens. None may get a 5xx.
 * Bodies are never valid for the routes that start work (experiments, ETL runs).
 *
 * @module
 */

/** A deterministic pseudo-random generator (mulberry32), so a failing request can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const PATH_VALUES = [
  '',
  ' ',
  'x'.repeat(2048),
  'x'.repeat(300),
  '%00',
  '%FF%FE',
  '..%2F..%2Fetc%2Fpasswd',
  '%F0%9F%92%A5',
  "'; drop table orders; --",
  '00000000-0000-0000-0000-000000000000',
  'not-a-uuid',
  '-1',
  '1e309',
  'null',
  '%7B%7D',
  'a%2Fb',
];

const CURSORS = [
  'garbage',
  '!!!',
  b64('not json'),
  b64([]),
  b64({}),
  b64({ c: '1' }),
  b64({ c: '2024-02-30T00:00:00Z', id: '00000000-0000-0000-0000-000000000000' }),
  b64({ c: '0000-01-01T00:00:00Z', id: 'x' }),
  b64({ c: '+275760-09-13T00:00:00Z', id: 'x' }),
  b64({ c: 1e30, id: 1 }),
  b64({ pk: { S: 'x' } }),
  b64({ pk: 'x'.repeat(5000) }),
  'x'.repeat(5000),
];

const QUERY_VALUES = [
  '-1',
  '0',
  '101',
  'abc',
  '1e9',
  '',
  '1.5',
  'true',
  'maybe',
  'x'.repeat(3000),
  '%00',
  '[]',
];

const BODIES: (string | undefined)[] = [
  undefined,
  '',
  '{',
  '[]',
  'null',
  '"x"',
  '42',
  'true',
  '{"a":',
  JSON.stringify({ name: 123, category: [], priceCents: 'x', currency: 1 }),
  JSON.stringify({ name: 'x'.repeat(100_000), priceCents: -1 }),
  JSON.stringify({ priceCents: 1e30, currency: 'EURO', name: '', category: '' }),
  JSON.stringify({ stock: -1 }),
  JSON.stringify({ stock: 2 ** 31 }),
  JSON.stringify({ stock: 1.5 }),
  JSON.stringify({ stock: '5' }),
  JSON.stringify({ quantity: 0 }),
  JSON.stringify({ quantity: 100 }),
  JSON.stringify({ quantity: 1.5 }),
  JSON.stringify({ quantity: '2' }),
  JSON.stringify({ region: 'mars' }),
  JSON.stringify({ region: 5 }),
  JSON.stringify({ __proto__: { admin: true }, constructor: { prototype: {} } }),
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  JSON.stringify({ nested: JSON.parse(`${'{"a":'.repeat(500)}1${'}'.repeat(500)}`) }),
  '\u0000\u0001\u0002',
];

const HEADER_SETS: Record<string, string>[] = [
  {},
  { 'Idempotency-Key': '' },
  { 'Idempotency-Key': 'k'.repeat(129) },
  { 'Idempotency-Key': 'k'.repeat(10_000) },
  { 'Idempotency-Key': '%F0%9F' },
  { 'If-Match': 'garbage' },
  { 'If-Match': '"-1"' },
  { 'If-Match': '"99999999999999999999999"' },
  { 'content-type': 'text/plain' },
  { 'content-type': 'application/octet-stream' },
];

/** Routes whose bodies start work are only ever sent bodies that cannot be valid for them. */
const WORK_STARTING: Record<string, string[]> = {
  'POST /consistency/experiments': [
    '{',
    '[]',
    'null',
    JSON.stringify({ scenario: 'nope' }),
    JSON.stringify({ scenario: 'lost-update', trials: 1e9 }),
    JSON.stringify({ scenario: 'oversell', concurrency: 'all' }),
    JSON.stringify({ scenario: 'oversell', stock: -5 }),
    JSON.stringify({ scenario: 'x'.repeat(10_000) }),
  ],
  'POST /etl/runs': [
    '{',
    '[]',
    'null',
    JSON.stringify({ date: '2024-02-30' }),
    JSON.stringify({ date: 'yesterday' }),
    JSON.stringify({ date: '+275760-09-13' }),
    JSON.stringify({ date: 20240101 }),
  ],
};

export interface FuzzRequest {
  method: string;
  route: string;
  url: string;
  rawBody?: string;
  headers: Record<string, string>;
  auth: 'admin' | 'user' | 'none' | 'garbage';
}

/**
 * The `n`-th bad request over `routes` (`METHOD /path/{param}` as `/_local/routes` lists them).
 *
 * @example
 * const next = fuzzRequests(['GET /orders', 'POST /orders'], 42);
 * const request = next(); // { method: 'POST', url: '/orders', rawBody: '{', ... }
 */
export function fuzzRequests(routes: string[], seed: number): () => FuzzRequest {
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const usable = routes.filter((r) => !r.startsWith('OPTIONS '));
  return () => {
    const route = pick(usable);
    const [method = 'GET', template = '/'] = route.split(' ');
    const url = template.replace(/\{[^}]+\}/g, () => encodeURI(pick(PATH_VALUES)).replace(/%25/g, '%'));
    const query = new URLSearchParams();
    const queryCount = Math.floor(rnd() * 3);
    for (let i = 0; i < queryCount; i++) {
      const name = pick(['limit', 'cursor', 'consistent', 'category', 'scenario', 'status', 'x']);
      query.set(name, name === 'cursor' ? pick(CURSORS) : pick(QUERY_VALUES));
    }
    const invalidOnly = WORK_STARTING[`${method} ${template}`];
    const rawBody = invalidOnly
      ? pick(invalidOnly)
      : method === 'GET' || method === 'DELETE'
        ? undefined
        : pick(BODIES);
    const qs = query.toString();
    return {
      method,
      route,
      url: `${url}${qs ? `?${qs}` : ''}`,
      rawBody,
      headers: pick(HEADER_SETS),
      auth: pick(['admin', 'admin', 'user', 'user', 'none', 'garbage'] as const),
    };
  };
}
