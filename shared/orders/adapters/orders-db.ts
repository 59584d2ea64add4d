import type pg from 'pg';
import { buildEvent, type NewEvent } from '../../../events/schemas.ts';
import { type BuiltEvent, publishEvents } from '../../platform/adapters/event-publisher.ts';
import { postgresPool } from '../../platform/adapters/postgres.ts';
import { type Order, OrderError, orderNotFound, orderTotal, type Region } from '../domain.ts';
import type { PlaceOrder } from '../ports.ts';

/**
 * Orders, order lines and authoritative stock in Postgres. Every change that other services must
 * hear of writes its events into the `outbox` table in the same transaction.
 */

/**
 * Runs `fn` in a READ COMMITTED transaction on a pooled connection. `asyncCommit`: its commit does
 * not wait for the WAL flush (`synchronous_commit = off`), for writes a crash may lose harmlessly.
 */
export async function withTransaction<T>(
  fn: (client: pg.PoolClient) => Promise<T>,
  options: { asyncCommit?: boolean } = {},
): Promise<T> {
  const client = await (await postgresPool()).connect();
  let broken: Error | undefined;
  try {
    // One round trip either way (a simple query may hold several statements).
    await client.query(options.asyncCommit ? 'begin; set local synchronous_commit = off' : 'begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    // A connection that cannot even roll back (dropped, frozen) is destroyed, not pooled again.
    await client.query('rollback').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

async function writeOutbox(client: pg.PoolClient, events: NewEvent[]): Promise<void> {
  const built = events.map((e) => buildEvent(e));
  if (!built.length) return;
  await client.query(
    `insert into outbox (event_id, source, detail_type, detail)
     select * from unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
    [
      built.map((e) => e.detail.eventId),
      built.map((e) => e.source),
      built.map((e) => e.name),
      built.map((e) => JSON.stringify(e.detail)),
    ],
  );
}

interface OrderRow {
  order_id: string;
  region: Region;
  status: Order['status'];
  total_cents: string;
  created_at: Date;
  updated_at: Date;
}

async function loadOrders(db: pg.Pool | pg.PoolClient, rows: OrderRow[]): Promise<Order[]> {
  if (!rows.length) return [];
  const items = await db.query<{
    order_id: string;
    product_id: string;
    quantity: number;
    unit_price_cents: string;
  }>(
    `select order_id, product_id, quantity, unit_price_cents from order_items
      where order_id = any($1::uuid[]) order by product_id`,
    [rows.map((r) => r.order_id)],
  );
  return rows.map((r) => ({
    orderId: r.order_id,
    status: r.status,
    region: r.region,
    totalCents: Number(r.total_cents),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    items: items.rows
      .filter((i) => i.order_id === r.order_id)
      .map((i) => ({
        productId: i.product_id,
        quantity: i.quantity,
        unitPriceCents: Number(i.unit_price_cents),
      })),
  }));
}

const ORDER_COLUMNS = 'order_id, region, status, total_cents, created_at, updated_at';

/** The user's order, or undefined (also for another user's order). `db`: where to read (default the primary). */
export async function getOrder(userId: string, orderId: string, db?: pg.Pool): Promise<Order | undefined> {
  const pool = db ?? (await postgresPool());
  const rows = await pool.query<OrderRow>(
    `select ${ORDER_COLUMNS} from orders where order_id = $1 and user_id = $2`,
    [orderId, userId],
  );
  return (await loadOrders(pool, rows.rows))[0];
}

/** Keyset page of the user's orders, newest first. `after` is the last order of the previous page. */
export async function listOrders(
  userId: string,
  options: { limit: number; after?: { createdAt: string; orderId: string }; db?: pg.Pool },
): Promise<{ orders: Order[]; last?: { createdAt: string; orderId: string } }> {
  const pool = options.db ?? (await postgresPool());
  const params: unknown[] = [userId, options.limit + 1];
  let where = 'user_id = $1';
  if (options.after) {
    params.push(options.after.createdAt, options.after.orderId);
    where += ' and (created_at, order_id) < ($3::timestamptz, $4::uuid)';
  }
  const rows = await pool.query<OrderRow & { created_at_text: string }>(
    `select ${ORDER_COLUMNS}, to_json(created_at) #>> '{}' as created_at_text from orders
      where ${where} order by created_at desc, order_id desc limit $2`,
    params,
  );
  const page = rows.rows.slice(0, options.limit);
  const lastRow = rows.rows.length > options.limit ? page[page.length - 1] : undefined;
  return {
    orders: await loadOrders(pool, page),
    // The cursor keeps Postgres' microseconds, so orders created in the same millisecond are not skipped.
    last: lastRow ? { createdAt: lastRow.created_at_text, orderId: lastRow.order_id } : undefined,
  };
}

/** What the caller asked for before under this Idempotency-Key, if anything. */
export async function findOrderRequest(
  userId: string,
  idempotencyKey: string,
): Promise<{ requestHash: string; orderId: string } | undefined> {
  const pool = await postgresPool();
  const found = await pool.query<{ request_hash: string; order_id: string }>(
    'select request_hash, order_id from order_requests where user_id = $1 and idempotency_key = $2',
    [userId, idempotencyKey],
  );
  const row = found.rows[0];
  return row ? { requestHash: row.request_hash, orderId: row.order_id } : undefined;
}

/**
 * Places an order in one transaction: records the Idempotency-Key, consumes the cart state (a second
 * checkout of the same cart with another key is refused with CART_ALREADY_ORDERED), takes the stock of every line
 * (`stock = stock - q where stock >= q`, in product order so concurrent orders cannot deadlock),
 * writes the order and its lines, and the OrderPlaced and InventoryChanged events into the outbox.
 *
 * A request racing another with the same key waits on the key's row and then, finding it taken,
 * places nothing and returns undefined: the checkout use case answers it by the replay rule.
 * Not enough stock for any line rolls everything back (INSUFFICIENT_STOCK naming the product).
 */
export async function placeOrder(input: PlaceOrder): Promise<Order | undefined> {
  const orderId = crypto.randomUUID();
  const lines = [...input.lines].sort((a, b) =>
    a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0,
  );
  return withTransaction(async (client) => {
    const claimed = await client.query(
      `insert into order_requests (user_id, idempotency_key, request_hash, region, order_id)
       values ($1, $2, $3, $4, $5) on conflict do nothing`,
      [input.userId, input.idempotencyKey, input.requestHash, input.region, orderId],
    );
    if (claimed.rowCount === 0) return undefined; // the key is taken: the caller answers it as a replay

    // One order per cart state, whatever the key: a concurrent checkout of the same state waits here
    // for this transaction, then finds the row and is refused (its key claim rolls back with it).
    const consumed = await client.query(
      `insert into cart_checkouts (user_id, cart_version, cart_digest, order_id)
       values ($1, $2, $3, $4) on conflict do nothing`,
      [input.userId, input.cart.version, input.cart.digest, orderId],
    );
    if (consumed.rowCount === 0) {
      const first = await client.query<{ order_id: string }>(
        `select order_id from cart_checkouts where user_id = $1 and cart_version = $2 and cart_digest = $3`,
        [input.userId, input.cart.version, input.cart.digest],
      );
      const firstOrderId = first.rows[0]?.order_id;
      throw new OrderError(
        'CART_ALREADY_ORDERED',
        `This cart (version ${input.cart.version}) was already ordered as ${firstOrderId}; change the cart to order again`,
        { orderId: firstOrderId },
      );
    }

    const changes: { productId: string; stock: number; version: number }[] = [];
    for (const line of lines) {
      const taken = await client.query<{ stock: number; version: string }>(
        `update inventory set stock = stock - $2, version = version + 1, updated_at = now()
          where product_id = $1 and stock >= $2 returning stock, version`,
        [line.productId, line.quantity],
      );
      const row = taken.rows[0];
      if (!row) {
        const have = await client.query<{ stock: number }>(
          'select stock from inventory where product_id = $1',
          [line.productId],
        );
        throw new OrderError(
          'INSUFFICIENT_STOCK',
          `Not enough stock for product ${line.productId}: ${line.quantity} requested, ${have.rows[0]?.stock ?? 0} available`,
          { productId: line.productId },
        );
      }
      changes.push({ productId: line.productId, stock: row.stock, version: Number(row.version) });
    }

    const totalCents = orderTotal(lines);
    const inserted = await client.query<OrderRow>(
      `insert into orders (order_id, region, user_id, status, total_cents, created_at, updated_at)
       values ($1, $2, $3, 'PLACED', $4, $5, $5) returning ${ORDER_COLUMNS}`,
      [orderId, input.region, input.userId, totalCents, input.cartReadAt],
    );
    await client.query(
      `insert into order_items (region, order_id, product_id, quantity, unit_price_cents)
       select $1, $2, * from unnest($3::text[], $4::int[], $5::bigint[])`,
      [
        input.region,
        orderId,
        lines.map((l) => l.productId),
        lines.map((l) => l.quantity),
        lines.map((l) => l.unitPriceCents),
      ],
    );
    const [order] = await loadOrders(client, inserted.rows);
    if (!order) throw new Error('order vanished inside its own transaction');
    await writeOutbox(client, [
      {
        name: 'OrderPlaced',
        detail: {
          orderId,
          userId: input.userId,
          region: input.region,
          items: lines,
          totalCents,
          createdAt: order.createdAt,
        },
      },
      ...changes.map(
        (c): NewEvent => ({ name: 'InventoryChanged', detail: { ...c, reason: 'ORDER_PLACED', orderId } }),
      ),
    ]);
    return order;
  });
}

/** Cancels a placed order of the user and gives its stock back, in one transaction. */
export async function cancelOrder(userId: string, orderId: string): Promise<Order> {
  return withTransaction(async (client) => {
    const found = await client.query<OrderRow>(
      `select ${ORDER_COLUMNS} from orders where order_id = $1 and user_id = $2 for update`,
      [orderId, userId],
    );
    const row = found.rows[0];
    if (!row) throw orderNotFound(orderId);
    if (row.status === 'CANCELLED')
      throw new OrderError('ALREADY_CANCELLED', `Order ${orderId} is already cancelled`);
    const updated = await client.query<OrderRow>(
      `update orders set status = 'CANCELLED', updated_at = now() where region = $1 and order_id = $2
       returning ${ORDER_COLUMNS}`,
      [row.region, orderId],
    );
    const [order] = await loadOrders(client, updated.rows);
    if (!order) throw new Error('order vanished inside its own transaction');
    const events: NewEvent[] = [];
    for (const line of order.items) {
      const restored = await client.query<{ stock: number; version: string }>(
        `update inventory set stock = stock + $2, version = version + 1, updated_at = now()
          where product_id = $1 returning stock, version`,
        [line.productId, line.quantity],
      );
      const r = restored.rows[0];
      if (r) {
        events.push({
          name: 'InventoryChanged',
          detail: {
            productId: line.productId,
            stock: r.stock,
            version: Number(r.version),
            reason: 'ORDER_CANCELLED',
            orderId,
          },
        });
      }
    }
    events.unshift({
      name: 'OrderCancelled',
      detail: { orderId, userId, region: order.region, items: order.items, cancelledAt: order.updatedAt },
    });
    await writeOutbox(client, events);
    return order;
  });
}

/** Sets a product's stock (creating its inventory row) and records InventoryChanged. */
export async function setStock(
  productId: string,
  stock: number,
): Promise<{ productId: string; stock: number; version: number }> {
  return withTransaction(async (client) => {
    const result = await client.query<{ stock: number; version: string }>(
      `insert into inventory (product_id, stock, version) values ($1, $2, 1)
       on conflict (product_id) do update set stock = excluded.stock, version = inventory.version + 1, updated_at = now()
       returning stock, version`,
      [productId, stock],
    );
    const row = result.rows[0];
    if (!row) throw new Error('inventory upsert returned nothing');
    const version = Number(row.version);
    await writeOutbox(client, [
      { name: 'InventoryChanged', detail: { productId, stock: row.stock, version, reason: 'SET' } },
    ]);
    return { productId, stock: row.stock, version };
  });
}

/** The current stock of a product (undefined when it has no inventory row). */
export async function getStock(productId: string): Promise<number | undefined> {
  const pool = await postgresPool();
  const found = await pool.query<{ stock: number }>('select stock from inventory where product_id = $1', [
    productId,
  ]);
  return found.rows[0]?.stock;
}

/**
 * Publishes outbox events not sent yet, oldest first, and marks them sent in the same transaction:
 * one statement claims and marks them (`for update skip locked`: relays running at once share the
 * work instead of sending twice), the events are published, and the commit makes the marks stick (a
 * failed publish rolls them back). At-least-once: a crash between publish and commit (or before the
 * mark, committed asynchronously, reaches the disk) sends those events again, and consumers ignore
 * what they have already applied.
 */
export async function relayOutbox(
  options: { limit?: number; publish?: (events: BuiltEvent[]) => Promise<void> } = {},
): Promise<number> {
  const publish = options.publish ?? ((events: BuiltEvent[]) => publishEvents(events));
  return withTransaction(
    async (client) => {
      const claimed = await client.query<{
        id: string;
        source: string;
        detail_type: string;
        detail: BuiltEvent['detail'];
      }>(
        `update outbox set published_at = now()
          where id in (select id from outbox where published_at is null
                        order by id limit $1 for update skip locked)
          returning id, source, detail_type, detail`,
        [options.limit ?? 100],
      );
      if (!claimed.rows.length) return 0;
      const rows = [...claimed.rows].sort((a, b) => Number(a.id) - Number(b.id)); // oldest first
      await publish(
        rows.map((r) => ({
          name: r.detail_type as BuiltEvent['name'],
          source: r.source,
          detail: r.detail,
        })),
      );
      return rows.length;
    },
    // Losing the mark in a crash only sends the events again, which consumers ignore: its commit
    // need not wait for the WAL flush (one fsync less on every request that relays after a commit).
    { asyncCommit: true },
  );
}
