import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/schemas.ts';
import {
  decodeCursor,
  encodeCursor,
  ProductListQuery,
  toProduct,
} from '../../shared/catalog/adapters/catalog-table.ts';
import { GetProductQuery, type Product, ProductInput, productUpserted } from '../../shared/catalog/domain.ts';
import { HttpError } from '../../shared/http/errors.ts';
import { parseBody, parseQuery } from '../../shared/http/request.ts';

const ID = '0b6f0c43-3a57-4c1e-9f7e-2f1f3d1c8a11';
const categoryKey = {
  pk: `PRODUCT#${ID}`,
  sk: 'PRODUCT',
  gsi1pk: 'CATEGORY#coffee',
  gsi1sk: `arabica beans#${ID}`,
};
const typeKey = { pk: `PRODUCT#${ID}`, sk: 'PRODUCT', gsi2pk: 'PRODUCT', gsi2sk: `arabica beans#${ID}` };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The 400 details parse* threw, or the value when it did not throw. */
function problems(parse: () => unknown): { path: string; message: string }[] | unknown {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('VALIDATION_FAILED');
    return error.details;
  }
}
const paths = (parse: () => unknown) => (problems(parse) as { path: string }[]).map((d) => d.path);

describe('catalog cursors', () => {
  it('round-trips a key of the listing it came from, as URL-safe text', () => {
    const cursor = encodeCursor(categoryKey);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'coffee')).toEqual(categoryKey);
    expect(decodeCursor(encodeCursor(typeKey))).toEqual(typeKey);
  });

  it('keeps names with any characters (the cursor is base64url, not the raw name)', () => {
    const key = { ...typeKey, gsi2sk: `café + crème/ünï?#&=#${ID}` };
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
  });

  it('rejects a cursor of another category or of the other index', () => {
    const cursor = encodeCursor(categoryKey);
    expect(decodeCursor(cursor, 'tea')).toBeUndefined();
    expect(decodeCursor(cursor)).toBeUndefined();
    expect(decodeCursor(encodeCursor(typeKey), 'coffee')).toBeUndefined();
  });

  it.each([
    ['not base64url', 'abc$%^'],
    ['standard base64 padding', `${Buffer.from(JSON.stringify(typeKey)).toString('base64')}==`],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['JSON null', b64(null)],
    ['a JSON array', b64([typeKey])],
    ['a JSON string', b64('PRODUCT')],
    ['a missing key attribute', b64({ pk: typeKey.pk, sk: 'PRODUCT', gsi2pk: 'PRODUCT' })],
    ['an extra attribute', b64({ ...typeKey, available: '1' })],
    ['a number value', b64({ ...typeKey, gsi2sk: 5 })],
    ['another item type', b64({ ...typeKey, sk: 'CART' })],
    ['a pk that is not a product', b64({ ...typeKey, pk: 'USER#1' })],
    ['an empty product id', b64({ ...typeKey, pk: 'PRODUCT#', gsi2sk: 'x#' })],
    ['a sort key naming another product', b64({ ...typeKey, gsi2sk: 'arabica#other' })],
    ['another type partition', b64({ ...typeKey, gsi2pk: 'ORDER' })],
  ])('rejects %s', (_, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });

  it('rejects an over-long product id', () => {
    const id = 'x'.repeat(65);
    expect(
      decodeCursor(b64({ pk: `PRODUCT#${id}`, sk: 'PRODUCT', gsi2pk: 'PRODUCT', gsi2sk: `a#${id}` })),
    ).toBe(undefined);
  });
});

describe('list query', () => {
  const parse = (query: Record<string, string> | null) =>
    parseQuery({ queryStringParameters: query }, ProductListQuery);

  it('defaults to 20 items from the start of all products', () => {
    expect(parse(null)).toEqual({ limit: 20, startKey: undefined });
  });

  it('decodes a cursor of the same category into the key to start after', () => {
    expect(parse({ category: 'coffee', limit: '2', cursor: encodeCursor(categoryKey) })).toEqual({
      category: 'coffee',
      limit: 2,
      cursor: encodeCursor(categoryKey),
      startKey: categoryKey,
    });
  });

  it.each(['1', '100', '007'])('accepts limit=%s', (limit) => {
    expect((parse({ limit }) as { limit: number }).limit).toBe(Number(limit));
  });

  it.each(['0', '101', '-1', '2.5', 'ten', '', '1e2', ' 5', '1000000'])('rejects limit=%j', (limit) => {
    expect(paths(() => parse({ limit }))).toEqual(['query.limit']);
  });

  it('answers 400 naming query.cursor for a cursor of another listing, or garbage', () => {
    expect(paths(() => parse({ category: 'tea', cursor: encodeCursor(categoryKey) }))).toEqual([
      'query.cursor',
    ]);
    expect(paths(() => parse({ cursor: encodeCursor(categoryKey) }))).toEqual(['query.cursor']);
    expect(paths(() => parse({ cursor: 'not a cursor!' }))).toEqual(['query.cursor']);
    expect(paths(() => parse({ cursor: 'bm9wZQ' }))).toEqual(['query.cursor']);
  });

  it('names every bad field at once', () => {
    expect(paths(() => parse({ category: 'Not A Slug', limit: '0', cursor: '%%' })).sort()).toEqual([
      'query.category',
      'query.cursor',
      'query.limit',
    ]);
  });
});

describe('get query', () => {
  const parse = (query: Record<string, string> | null) =>
    parseQuery({ queryStringParameters: query }, GetProductQuery);

  it('is eventually consistent unless consistent=true', () => {
    expect(parse(null)).toEqual({ consistent: false });
    expect(parse({ consistent: 'false' })).toEqual({ consistent: false });
    expect(parse({ consistent: 'true' })).toEqual({ consistent: true });
  });

  it.each(['yes', '1', 'TRUE', ''])('rejects consistent=%j naming query.consistent', (consistent) => {
    expect(paths(() => parse({ consistent }))).toEqual(['query.consistent']);
  });
});

describe('product input', () => {
  const valid = { name: 'Arabica beans', category: 'coffee', priceCents: 1299, currency: 'EUR' };
  const parse = (body: unknown) =>
    parseBody({ body: JSON.stringify(body), isBase64Encoded: false }, ProductInput);

  it('accepts a product, trims text and ignores fields that are the catalog’s', () => {
    expect(
      parse({
        ...valid,
        name: '  Arabica beans ',
        description: ' Single origin ',
        productId: 'mine',
        available: 5,
        version: 9,
      }),
    ).toEqual({ ...valid, description: 'Single origin' });
  });

  it('accepts the edges: free products and the largest price', () => {
    expect(parse({ ...valid, priceCents: 0 }).priceCents).toBe(0);
    expect(parse({ ...valid, priceCents: 100_000_000 }).priceCents).toBe(100_000_000);
  });

  it('names every bad field at once', () => {
    expect(
      paths(() =>
        parse({ name: '   ', category: 'Coffee Beans', priceCents: 12.5, currency: 'eur', description: 7 }),
      ),
    ).toEqual(['body.name', 'body.description', 'body.category', 'body.priceCents', 'body.currency']);
  });

  it.each([
    ['a negative price', { priceCents: -1 }, 'body.priceCents'],
    ['a price as a string', { priceCents: '1299' }, 'body.priceCents'],
    ['a price over the maximum', { priceCents: 100_000_001 }, 'body.priceCents'],
    ['an unsafe integer price', { priceCents: 2 ** 60 }, 'body.priceCents'],
    ['a four-letter currency', { currency: 'EURO' }, 'body.currency'],
    ['a category with a leading dash', { category: '-coffee' }, 'body.category'],
    ['a category of 65 characters', { category: 'a'.repeat(65) }, 'body.category'],
    ['a name of 201 characters', { name: 'n'.repeat(201) }, 'body.name'],
    ['a null description', { description: null }, 'body.description'],
  ])('rejects %s', (_, change, path) => {
    expect(new Set(paths(() => parse({ ...valid, ...change })))).toEqual(new Set([path]));
  });

  it('names each required field that is missing, and the body when it is not JSON', () => {
    expect(paths(() => parse({}))).toEqual([
      'body.name',
      'body.category',
      'body.priceCents',
      'body.currency',
    ]);
    expect(paths(() => parseBody({ body: '{"name":', isBase64Encoded: false }, ProductInput))).toEqual([
      'body',
    ]);
  });
});

describe('product items and events', () => {
  const product: Product = {
    productId: ID,
    name: 'Arabica beans',
    category: 'coffee',
    priceCents: 1299,
    currency: 'EUR',
    available: 3,
    version: 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-02T00:00:00.000Z',
  };

  it('strips key, index and projection bookkeeping from an item', () => {
    expect(
      toProduct({ ...categoryKey, gsi2pk: 'PRODUCT', gsi2sk: 'x', stockVersion: 7, ...product }),
    ).toEqual(product);
  });

  it('announces a product with a ProductUpserted event that passes its schema', () => {
    const event = buildEvent(productUpserted(product));
    expect(event.source).toBe('shop.catalog');
    expect(event.detail).toMatchObject({
      productId: ID,
      name: 'Arabica beans',
      category: 'coffee',
      priceCents: 1299,
      currency: 'EUR',
      version: 2,
    });
    expect(event.detail).not.toHaveProperty('available');
  });
});
