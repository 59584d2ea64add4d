import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';

/*
 * The carts adapter's handling of DynamoDB's answers that the local cloud rarely produces: transaction
 * conflicts, and a line changing between the read and the conditional delete of an OrderPlaced event.
 * The document client is replaced by a script of answers; requests are recorded.
 */
const send = vi.fn();
vi.mock('../../shared/platform/adapters/aws-clients.ts', () => ({ dynamoDocumentClient: () => ({ send }) }));
const { clearCart, getCart, removeCartLine, removeOrderedLines, setCartLine } = await import(
  '../../shared/cart/adapters/cart-table.ts'
);
const { CartVersionMismatch } = await import('../../shared/cart/domain.ts');

function cancelled(...reasons: Record<string, unknown>[]) {
  return Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: reasons,
  });
}

const now = new Date('2026-03-01T10:00:00.000Z');
const future = Math.floor(Date.now() / 1000) + 3600; // live for getCart, which reads at the real time
const line = (productId: string, updatedAt: string, quantity = 1) => ({
  pk: 'CART#alice',
  sk: `ITEM#${productId}`,
  productId,
  quantity,
  priceCents: 100,
  updatedAt,
  expiresAt: future,
});
/** The items of the transaction sent as call `index`. */
const transactItems = (index: number) => {
  const command = send.mock.calls[index]?.[0];
  expect(command).toBeInstanceOf(TransactWriteCommand);
  return (command as TransactWriteCommand).input.TransactItems ?? [];
};
const meta = (version: number) => ({ pk: 'CART#alice', sk: 'META', version, expiresAt: future });

beforeEach(() => {
  send.mockReset();
  process.env.CARTS_TABLE = 'Carts';
});

describe('getCart', () => {
  it('reads consistently across pages, skips lines past their TTL, and totals the rest', async () => {
    send
      .mockResolvedValueOnce({
        Items: [line('a', 'x', 2)],
        LastEvaluatedKey: { pk: 'CART#alice', sk: 'ITEM#a' },
      })
      .mockResolvedValueOnce({ Items: [{ ...line('b', 'x'), expiresAt: 1 }, meta(7)] });
    const cart = await getCart('alice');
    expect(cart).toEqual({
      items: [{ productId: 'a', quantity: 2, priceCents: 100, updatedAt: 'x' }],
      totalCents: 200,
      version: 7,
    });
    const [first, second] = send.mock.calls.map(([command]) => command as QueryCommand);
    expect(first).toBeInstanceOf(QueryCommand);
    expect(first?.input).toMatchObject({ TableName: 'Carts', ConsistentRead: true });
    expect(second?.input.ExclusiveStartKey).toEqual({ pk: 'CART#alice', sk: 'ITEM#a' });
  });
});

describe('conditional writes', () => {
  it('writes the line and bumps META in one transaction, conditional on If-Match', async () => {
    send.mockResolvedValueOnce({});
    await setCartLine('alice', { productId: 'a', quantity: 2, priceCents: 100 }, { expectedVersion: 3, now });
    const command = send.mock.calls[0]?.[0] as TransactWriteCommand;
    expect(command).toBeInstanceOf(TransactWriteCommand);
    const [update, put] = command.input.TransactItems ?? [];
    expect(update?.Update).toMatchObject({
      Key: { pk: 'CART#alice', sk: 'META' },
      ConditionExpression: 'version = :expected',
      ExpressionAttributeValues: { ':expected': 3, ':expiresAt': 1772359200 + 30 * 86400 },
    });
    expect(put?.Put?.Item).toEqual({
      ...line('a', now.toISOString(), 2),
      expiresAt: 1772359200 + 30 * 86400,
    });
  });

  it('expects a never-written cart for If-Match: 0 and conditions nothing without If-Match', async () => {
    send.mockResolvedValue({});
    await setCartLine('alice', { productId: 'a', quantity: 1, priceCents: 1 }, { expectedVersion: 0 });
    await setCartLine('alice', { productId: 'a', quantity: 1, priceCents: 1 });
    const [zero, none] = send.mock.calls.map(
      ([c]) => (c as TransactWriteCommand).input.TransactItems?.[0]?.Update,
    );
    expect(zero?.ConditionExpression).toBe('attribute_not_exists(version)');
    expect(zero?.ExpressionAttributeValues).not.toHaveProperty(':expected');
    expect(none?.ConditionExpression).toBeUndefined();
  });

  it("reports the version from the failed condition's old item", async () => {
    send.mockRejectedValueOnce(
      cancelled({ Code: 'ConditionalCheckFailed', Item: { version: { N: '9' } } }, { Code: 'None' }),
    );
    const error = await setCartLine(
      'alice',
      { productId: 'a', quantity: 1, priceCents: 1 },
      { expectedVersion: 4 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CartVersionMismatch);
    expect(error).toMatchObject({ expected: 4, current: 9 });
    expect(send).toHaveBeenCalledTimes(1); // a failed condition is not retried
  });

  it('retries a transaction that lost a race (TransactionConflict), not one whose condition failed', async () => {
    send
      .mockRejectedValueOnce(cancelled({ Code: 'TransactionConflict' }, { Code: 'None' }))
      .mockResolvedValueOnce({});
    await setCartLine('alice', { productId: 'a', quantity: 1, priceCents: 1 });
    expect(send).toHaveBeenCalledTimes(2);

    send.mockReset();
    send.mockRejectedValue(cancelled({ Code: 'TransactionConflict' }));
    await expect(setCartLine('alice', { productId: 'a', quantity: 1, priceCents: 1 })).rejects.toThrow(
      'Transaction cancelled',
    );
    expect(send).toHaveBeenCalledTimes(5);
  });

  it('treats removing an absent line as done, still checking If-Match', async () => {
    send.mockRejectedValueOnce(cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed' }));
    await expect(removeCartLine('alice', 'a')).resolves.toBeUndefined();

    send.mockRejectedValueOnce(cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed' }));
    send.mockResolvedValueOnce({ Items: [meta(5)] });
    await expect(removeCartLine('alice', 'a', { expectedVersion: 4 })).rejects.toMatchObject({ current: 5 });
  });

  it('leaves an empty cart alone when clearing it', async () => {
    send.mockResolvedValueOnce({ Items: [meta(2)] });
    await clearCart('alice', { expectedVersion: 2 });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('clears lines past their TTL without bumping the version: readers saw no change', async () => {
    send
      .mockResolvedValueOnce({ Items: [meta(2), { ...line('a', 'x'), expiresAt: 1 }] })
      .mockResolvedValueOnce({});
    await clearCart('alice');
    expect(transactItems(1).map((i) => i.Delete?.Key?.sk ?? i.Update?.Key?.sk)).toEqual(['ITEM#a']);
  });

  it('clears a large cart in transactions of at most 100 items, bumping the version once', async () => {
    const lines = Array.from({ length: 150 }, (_, i) => line(`p${i}`, 'x'));
    send.mockResolvedValueOnce({ Items: [meta(2), ...lines] }).mockResolvedValue({});
    await clearCart('alice', { expectedVersion: 2 });
    expect(transactItems(1)).toHaveLength(100);
    expect(transactItems(1)[0]?.Update?.ConditionExpression).toBe('version = :expected');
    expect(transactItems(2)).toHaveLength(51);
    expect(transactItems(2).every((i) => i.Delete)).toBe(true);
  });
});

describe('removeOrderedLines', () => {
  const order = { createdAt: '2026-03-01T10:00:00Z', items: [{ productId: 'a' }, { productId: 'b' }] };
  /** The optimistic first transaction, refused because line b is not there as ordered. */
  const bIsNotAsOrdered = () =>
    cancelled({ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' });

  it('removes every ordered line in one transaction, without reading the cart, when all are there as ordered', async () => {
    send.mockResolvedValueOnce({});
    expect(await removeOrderedLines('alice', order, { now })).toEqual(['a', 'b']);
    expect(send).toHaveBeenCalledTimes(1);
    const items = transactItems(0);
    expect(items[0]?.Update?.Key).toEqual({ pk: 'CART#alice', sk: 'META' });
    expect(items.slice(1).map((i) => i.Delete)).toEqual(
      ['a', 'b'].map((id) =>
        expect.objectContaining({
          Key: { pk: 'CART#alice', sk: `ITEM#${id}` },
          ConditionExpression: 'updatedAt <= :createdAt',
          ExpressionAttributeValues: { ':createdAt': '2026-03-01T10:00:00.000Z' },
        }),
      ),
    );
  });

  it('otherwise reads the cart and deletes the ordered lines set before the order, with one version bump', async () => {
    send
      .mockRejectedValueOnce(bIsNotAsOrdered())
      .mockResolvedValueOnce({
        Items: [meta(3), line('a', '2026-03-01T09:00:00.000Z'), line('c', '2026-03-01T09:00:00.000Z')],
      })
      .mockResolvedValueOnce({});
    expect(await removeOrderedLines('alice', order, { now })).toEqual(['a']);
    expect(send.mock.calls[1]?.[0]).toBeInstanceOf(QueryCommand);
    const items = transactItems(2);
    expect(items).toHaveLength(2);
    expect(items[0]?.Update?.Key).toEqual({ pk: 'CART#alice', sk: 'META' });
    expect(items[1]?.Delete).toMatchObject({
      Key: { pk: 'CART#alice', sk: 'ITEM#a' },
      ConditionExpression: 'updatedAt <= :createdAt',
      ExpressionAttributeValues: { ':createdAt': '2026-03-01T10:00:00.000Z' },
    });
  });

  it('reads again when a line changed between the read and the delete, and keeps the changed line', async () => {
    send
      .mockRejectedValueOnce(bIsNotAsOrdered())
      .mockResolvedValueOnce({
        Items: [meta(3), line('a', '2026-03-01T09:00:00.000Z'), line('b', '2026-03-01T09:00:00.000Z')],
      })
      .mockRejectedValueOnce(bIsNotAsOrdered())
      .mockResolvedValueOnce({
        Items: [meta(4), line('a', '2026-03-01T09:00:00.000Z'), line('b', '2026-03-01T10:00:00.001Z')],
      })
      .mockResolvedValueOnce({});
    expect(await removeOrderedLines('alice', order, { now })).toEqual(['a']);
    const retried = transactItems(4);
    expect(retried.map((i) => i.Delete?.Key?.sk ?? i.Update?.Key?.sk)).toEqual(['META', 'ITEM#a']);
  });

  it('writes nothing when nothing is left to remove (a redelivery)', async () => {
    send
      .mockRejectedValueOnce(
        cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed' }, { Code: 'ConditionalCheckFailed' }),
      )
      .mockResolvedValueOnce({ Items: [meta(4), line('b', '2026-03-01T10:00:00.001Z')] });
    expect(await removeOrderedLines('alice', order, { now })).toEqual([]);
    // The refused first transaction wrote nothing; after the read, nothing is sent.
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('passes on a failure that is not a refused condition', async () => {
    send.mockRejectedValueOnce(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    await expect(removeOrderedLines('alice', order, { now })).rejects.toThrow('down');
    expect(send).toHaveBeenCalledTimes(1);
  });
});
