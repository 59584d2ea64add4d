import { keyReused, type Product, type ProductInput, productIdFor, productRequestHash } from '../domain.ts';
import type { CatalogEvents, CatalogPorts, ProductStore } from '../ports.ts';

/** Who adds the product, under which Idempotency-Key (if any), and what it is. */
export interface AddProduct {
  userId: string;
  key?: string;
  input: ProductInput;
}

/**
 * Adds a product, announced with `ProductUpserted` (written with it, in one transaction, and relayed).
 *
 * Under an Idempotency-Key a retried request (say, after a timeout) gets the product the first one
 * created instead of creating another: the request records answer a retry within the hour (another
 * body under the key is `IDEMPOTENCY_KEY_REUSED`, a concurrent duplicate `REQUEST_IN_PROGRESS`).
 * Behind them, the product's id is derived from caller and key, so the create itself happens once,
 * however long ago and however the first attempt ended.
 *
 * @example
 * const product = await addProduct(ports, { userId: 'admin-1', key: 'create-cup-1', input });
 */
export async function addProduct(ports: CatalogPorts, { userId, key, input }: AddProduct): Promise<Product> {
  if (key === undefined) return createAndAnnounce(ports, input);
  return ports.once({ userId, key, input }, () =>
    createAndAnnounce(ports, input, { productId: productIdFor(userId, key) }),
  );
}

async function createAndAnnounce(
  ports: Pick<ProductStore, 'createProduct'> & CatalogEvents,
  input: ProductInput,
  idempotent?: { productId: string },
): Promise<Product> {
  const requestHash = productRequestHash(input);
  const result = await ports.createProduct(input, idempotent ? { ...idempotent, requestHash } : {});
  if (!result.created && result.requestHash !== requestHash) throw keyReused();
  await ports.relayEvents();
  return result.product;
}
