import type { NewEvent } from '../../events/schemas.ts';
import type { Product, ProductInput, ProductPage } from './domain.ts';

/**
 * What the catalog's use cases need, as interfaces: the adapters (`catalog-table.ts`,
 * `idempotency.ts`, wired in `shared/catalog/adapters/wiring.ts`) implement them; unit tests pass
 * in-memory ones.
 */

/** What {@link ProductStore.createProduct} did: created it, or found the product that id already names. */
export interface CreateResult {
  product: Product;
  created: boolean;
  /** The `requestHash` the existing product was created with (when it was not created now). */
  requestHash?: string;
}

/** A listing query: one category's products or all, sorted by name, after where the last page stopped. */
export interface ListingQuery {
  category?: string;
  limit: number;
  /** Where the previous page stopped (the store's key, decoded from the client's cursor). */
  startKey?: Record<string, string>;
}

/** The products (DynamoDB), with the outbox that announces each new one. */
export interface ProductStore {
  /** One product; `consistent` asks for a strongly consistent read. */
  getProduct(productId: string, options: { consistent: boolean }): Promise<Product | undefined>;
  listProducts(query: ListingQuery): Promise<ProductPage>;
  /**
   * Creates a product and its `ProductUpserted` event in one write. With a `productId` the write is
   * conditional on the id being free; when it is taken, the existing product comes back
   * (`created: false`) with the `requestHash` it was created with.
   */
  createProduct(
    input: ProductInput,
    options: { productId?: string; requestHash?: string },
  ): Promise<CreateResult>;
  /** Replaces a product's own fields and bumps its version; undefined when there is no such product. */
  updateProduct(productId: string, input: ProductInput): Promise<Product | undefined>;
}

/** A product read, for the contexts that price from the catalog (cart, orders). */
export type ProductLookup = Pick<ProductStore, 'getProduct'>;

/** The catalog's events on the bus. */
export interface CatalogEvents {
  /** Sends the outbox's events now. Never throws: what it could not send waits for the scheduled relay. */
  relayEvents(): Promise<void>;
  /** Publishes an event directly (a product update is announced without the outbox). */
  publish(event: NewEvent<'ProductUpserted'>): Promise<void>;
}

/** What a create under an Idempotency-Key is remembered by. */
export interface CreateRequest {
  userId: string;
  key: string;
  input: ProductInput;
}

/** The record of requests made under an Idempotency-Key (Powertools idempotency, for an hour). */
export interface RequestRecords {
  /**
   * Runs `create` once per caller and key: a retry gets the first result. Another `input` under the
   * same key is refused (`keyReused`, 422), and so is a retry while the first still runs
   * (`requestInProgress`, 409).
   */
  once(request: CreateRequest, create: () => Promise<Product>): Promise<Product>;
}

export type CatalogPorts = ProductStore & CatalogEvents & RequestRecords;
