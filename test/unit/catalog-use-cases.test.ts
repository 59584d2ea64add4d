import { describe, expect, it } from 'vitest';
import {
  type Product,
  type ProductInput,
  productIdFor,
  productRequestHash,
} from '../../shared/catalog/domain.ts';
import type { CatalogPorts, CreateRequest } from '../../shared/catalog/ports.ts';
import { addProduct } from '../../shared/catalog/use-cases/add-product.ts';
import { browseCatalog, showProduct } from '../../shared/catalog/use-cases/read-catalog.ts';
import { replaceProduct } from '../../shared/catalog/use-cases/replace-product.ts';
import { Refusal } from '../../shared/refusal.ts';

const cup: ProductInput = { name: 'Cup', category: 'kitchen', priceCents: 1200, currency: 'EUR' };

/**
 * In-memory catalog ports: a product store that creates conditionally on a given id (as the table
 * does), request records that remember results by caller and key (`remember: false` forgets them,
 * as after the hour or when the first attempt crashed before recording), and a bus log.
 */
function memoryPorts({ remember = true } = {}) {
  const products = new Map<string, Product & { requestHash?: string }>();
  const records = new Map<string, { input: string; product: Product }>();
  const events: string[] = [];
  let relays = 0;
  const ports: CatalogPorts = {
    getProduct: async (productId) => products.get(productId),
    listProducts: async ({ limit }) => ({ items: [...products.values()].slice(0, limit), nextCursor: null }),
    createProduct: async (input, { productId = crypto.randomUUID(), requestHash } = {}) => {
      const existing = products.get(productId);
      if (existing) return { product: existing, created: false, requestHash: existing.requestHash };
      const product: Product = {
        productId,
        ...input,
        available: 0,
        version: 1,
        createdAt: 'now',
        updatedAt: 'now',
      };
      products.set(productId, { ...product, requestHash });
      return { product, created: true };
    },
    updateProduct: async (productId, input) => {
      const existing = products.get(productId);
      if (!existing) return undefined;
      const product = { ...existing, ...input, version: existing.version + 1 };
      products.set(productId, product);
      return product;
    },
    relayEvents: async () => {
      relays++;
    },
    publish: async (event) => {
      events.push(`${event.name} ${event.detail.productId} v${event.detail.version}`);
    },
    once: async (request: CreateRequest, create) => {
      const id = `${request.userId}/${request.key}`;
      const record = records.get(id);
      if (record && record.input !== JSON.stringify(request.input)) {
        throw new Refusal('unprocessable', 'IDEMPOTENCY_KEY_REUSED', 'other body');
      }
      if (record) return record.product;
      const product = await create();
      if (remember) records.set(id, { input: JSON.stringify(request.input), product });
      return product;
    },
  };
  return { ports, products, events, relays: () => relays };
}

describe('addProduct', () => {
  it('without a key creates a new product every time, each relayed', async () => {
    const { ports, products, relays } = memoryPorts();
    const a = await addProduct(ports, { userId: 'admin', input: cup });
    const b = await addProduct(ports, { userId: 'admin', input: cup });
    expect(a.productId).not.toBe(b.productId);
    expect(products.size).toBe(2);
    expect(relays()).toBe(2);
  });

  it('under a key creates once: the product id comes from caller and key, a retry gets the same product', async () => {
    const { ports, products } = memoryPorts();
    const first = await addProduct(ports, { userId: 'admin', key: 'k1', input: cup });
    const retry = await addProduct(ports, { userId: 'admin', key: 'k1', input: cup });
    expect(first.productId).toBe(productIdFor('admin', 'k1'));
    expect(retry).toEqual(first);
    expect(products.size).toBe(1);
    expect(products.get(first.productId)?.requestHash).toBe(productRequestHash(cup));
  });

  it('finds the first product through its id when the request record is gone', async () => {
    const { ports, products } = memoryPorts({ remember: false });
    const first = await addProduct(ports, { userId: 'admin', key: 'k1', input: cup });
    const retry = await addProduct(ports, { userId: 'admin', key: 'k1', input: cup });
    expect(retry.productId).toBe(first.productId);
    expect(products.size).toBe(1);
  });

  it('refuses another body under the same key (422), even when the record is gone', async () => {
    const other = { ...cup, priceCents: 1 };
    const remembered = memoryPorts();
    await addProduct(remembered.ports, { userId: 'admin', key: 'k1', input: cup });
    await expect(
      addProduct(remembered.ports, { userId: 'admin', key: 'k1', input: other }),
    ).rejects.toMatchObject({ kind: 'unprocessable', code: 'IDEMPOTENCY_KEY_REUSED' });

    const forgotten = memoryPorts({ remember: false });
    await addProduct(forgotten.ports, { userId: 'admin', key: 'k1', input: cup });
    await expect(
      addProduct(forgotten.ports, { userId: 'admin', key: 'k1', input: other }),
    ).rejects.toMatchObject({ kind: 'unprocessable', code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(forgotten.products.get(productIdFor('admin', 'k1'))?.priceCents).toBe(1200);
  });

  it('keys are per caller: the same key of two admins makes two products', async () => {
    const { ports } = memoryPorts();
    const a = await addProduct(ports, { userId: 'admin-a', key: 'k', input: cup });
    const b = await addProduct(ports, { userId: 'admin-b', key: 'k', input: cup });
    expect(a.productId).not.toBe(b.productId);
  });
});

describe('showProduct, browseCatalog', () => {
  it('passes the read consistency on, and refuses an unknown product with 404 naming it', async () => {
    const { ports } = memoryPorts();
    const asked: boolean[] = [];
    const product = await addProduct(ports, { userId: 'admin', input: cup });
    const spying = {
      getProduct: (id: string, o: { consistent: boolean }) => {
        asked.push(o.consistent);
        return ports.getProduct(id, o);
      },
    };
    expect(await showProduct(spying, { productId: product.productId, consistent: true })).toEqual(product);
    expect(asked).toEqual([true]);
    const error = await showProduct(spying, { productId: 'gone', consistent: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Refusal);
    expect(error).toMatchObject({
      kind: 'not-found',
      code: 'NOT_FOUND',
      message: 'Product gone does not exist',
    });
    expect((await browseCatalog(ports, { limit: 10 })).items).toEqual([product]);
  });
});

describe('replaceProduct', () => {
  it('announces the new version with ProductUpserted', async () => {
    const { ports, events } = memoryPorts();
    const { productId } = await addProduct(ports, { userId: 'admin', input: cup });
    const updated = await replaceProduct(ports, { productId, input: { ...cup, priceCents: 900 } });
    expect(updated).toMatchObject({ priceCents: 900, version: 2 });
    expect(events).toEqual([`ProductUpserted ${productId} v2`]);
  });

  it('refuses an unknown product (404) and announces nothing', async () => {
    const { ports, events, products } = memoryPorts();
    await expect(replaceProduct(ports, { productId: 'nope', input: cup })).rejects.toMatchObject({
      kind: 'not-found',
    });
    expect(events).toEqual([]);
    expect(products.size).toBe(0);
  });
});
