/**
 * A product as the API shows it. Money is integer cents in `currency` (ISO 4217). A module of
 * types only, so the web console shares it (`web/src/types.ts`) without bundling server code.
 */
export interface Product {
  productId: string;
  name: string;
  description?: string;
  category: string;
  priceCents: number;
  currency: string;
  /** Stock as last seen by the catalog (projected from Postgres through InventoryChanged events). */
  available: number;
  /** Grows with every change of the product itself (not of its stock). */
  version: number;
  createdAt: string;
  updatedAt: string;
}
