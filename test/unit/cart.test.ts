import { describe, expect, it } from 'vitest';
import {
  buildCart,
  CART_TTL_SECONDS,
  type CartLine,
  CartLineInput,
  CartProductId,
  CartVersionMismatch,
  canonicalTimestamp,
  cartExpiresAt,
  cartTotal,
  isExpired,
  linesTakenByOrder,
  MAX_QUANTITY,
  parseVersionHeader,
  toCartView,
  versionEtag,
} from '../../shared/cart/domain.ts';

const line = (
  productId: string,
  quantity: number,
  priceCents: number,
  updatedAt = '2026-01-01T00:00:00.000Z',
) => ({ productId, quantity, priceCents, updatedAt }) satisfies CartLine;

describe('cart totals and views', () => {
  it('sums quantity × price over the lines, 0 for none', () => {
    expect(cartTotal([])).toBe(0);
    expect(cartTotal([line('a', 2, 1299), line('b', 3, 5)])).toBe(2613);
    expect(cartTotal([line('free', 99, 0)])).toBe(0);
  });

  it('builds a cart sorted by product id with its total and version', () => {
    const cart = buildCart([line('p-2', 1, 100), line('p-10', 2, 50), line('p-1', 1, 1)], 7);
    expect(cart.items.map((l) => l.productId)).toEqual(['p-1', 'p-10', 'p-2']);
    expect(cart.totalCents).toBe(201);
    expect(cart.version).toBe(7);
    expect(buildCart([], 0)).toEqual({ items: [], totalCents: 0, version: 0 });
  });

  it('shows lines without their internal updatedAt', () => {
    const view = toCartView(buildCart([line('a', 2, 150)], 3));
    expect(view).toEqual({
      items: [{ productId: 'a', quantity: 2, priceCents: 150 }],
      totalCents: 300,
      version: 3,
    });
    expect(JSON.stringify(view)).not.toContain('updatedAt');
  });
});

describe('cart input', () => {
  it.each([1, 42, MAX_QUANTITY])('accepts quantity %s', (quantity) => {
    expect(CartLineInput.parse({ quantity })).toEqual({ quantity });
  });

  it.each([0, 100, -1, 1.5, 'x', '3', null])('rejects quantity %j', (quantity) => {
    const result = CartLineInput.safeParse({ quantity });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['quantity']);
  });

  it('requires the quantity', () => {
    expect(CartLineInput.safeParse({}).success).toBe(false);
  });

  it('takes product ids of 1 to 64 characters', () => {
    expect(CartProductId.safeParse('p').success).toBe(true);
    expect(CartProductId.safeParse('x'.repeat(64)).success).toBe(true);
    expect(CartProductId.safeParse('').success).toBe(false);
    expect(CartProductId.safeParse('x'.repeat(65)).success).toBe(false);
  });
});

describe('If-Match versions', () => {
  it('is undefined when the header is absent', () => {
    expect(parseVersionHeader(undefined)).toBeUndefined();
  });

  it.each([
    ['0', 0],
    ['3', 3],
    ['"3"', 3],
    [' 12 ', 12],
    ['007', 7],
  ])('reads %j as version %s', (header, version) => {
    expect(parseVersionHeader(header)).toBe(version);
  });

  it.each(['', 'x', '-1', '1.5', '1e3', '*', 'W/"3"', '"3', '3"', '1, 2', '"abc"', '9'.repeat(16)])(
    'rejects %j',
    (header) => {
      expect(parseVersionHeader(header)).toBeNull();
    },
  );

  it('round-trips the ETag the API sends', () => {
    expect(versionEtag(5)).toBe('"5"');
    expect(parseVersionHeader(versionEtag(5))).toBe(5);
  });

  it('names the expected and current version in a mismatch', () => {
    const error = new CartVersionMismatch(2, 5);
    expect(error.message).toBe('The cart changed: it is at version 5, not 2');
    expect(error).toMatchObject({ expected: 2, current: 5 });
  });
});

describe('expiry', () => {
  const now = new Date('2026-03-01T12:00:00.900Z');
  const nowSeconds = Math.floor(now.getTime() / 1000);

  it('expires items 30 days after they were written, in epoch seconds', () => {
    expect(CART_TTL_SECONDS).toBe(2_592_000);
    expect(cartExpiresAt(now)).toBe(nowSeconds + 2_592_000);
  });

  it('treats an item whose TTL has passed as gone, whatever DynamoDB has deleted so far', () => {
    expect(isExpired(nowSeconds - 1, now)).toBe(true);
    expect(isExpired(nowSeconds, now)).toBe(true);
    expect(isExpired(nowSeconds + 1, now)).toBe(false);
    expect(isExpired(undefined, now)).toBe(false);
  });
});

describe('lines an order takes out of the cart', () => {
  const order = {
    createdAt: '2026-03-01T10:00:00Z',
    items: [{ productId: 'a' }, { productId: 'b' }, { productId: 'c' }],
  };

  it('takes ordered lines set no later than the order, leaves later and unordered ones', () => {
    const lines = [
      line('a', 1, 1, '2026-03-01T09:59:59.999Z'),
      line('b', 1, 1, '2026-03-01T10:00:00.000Z'),
      line('c', 1, 1, '2026-03-01T10:00:00.001Z'),
      line('d', 1, 1, '2026-03-01T09:00:00.000Z'),
    ];
    expect(linesTakenByOrder(lines, order)).toEqual(['a', 'b']);
  });

  it('compares timestamps as instants, not as differently formatted text', () => {
    // As text, "…T10:00:00.500Z" < "…T10:00:00Z"; as instants the line is newer than the order.
    expect(linesTakenByOrder([line('a', 1, 1, '2026-03-01T10:00:00.500Z')], order)).toEqual([]);
    expect(canonicalTimestamp('2026-03-01T10:00:00Z')).toBe('2026-03-01T10:00:00.000Z');
    expect(() => canonicalTimestamp('yesterday')).toThrow(RangeError);
  });

  it('takes nothing from an empty cart', () => {
    expect(linesTakenByOrder([], order)).toEqual([]);
  });
});
