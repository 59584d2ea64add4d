import { type Product, type ProductPage, productNotFound } from '../domain.ts';
import type { ListingQuery, ProductStore } from '../ports.ts';

/**
 * One page of the catalog sorted by name, all products or one category's, from an index (never a
 * Scan); `nextCursor` is null on the last page.
 */
export const browseCatalog = (
  ports: Pick<ProductStore, 'listProducts'>,
  query: ListingQuery,
): Promise<ProductPage> => ports.listProducts(query);

/**
 * One product, eventually consistent unless `consistent` (twice the read cost, and it sees the
 * latest write); a product that does not exist is refused (404).
 *
 * @example
 * const product = await showProduct(ports, { productId, consistent: true });
 */
export async function showProduct(
  ports: Pick<ProductStore, 'getProduct'>,
  { productId, consistent }: { productId: string; consistent: boolean },
): Promise<Product> {
  const product = await ports.getProduct(productId, { consistent });
  if (!product) throw productNotFound(productId);
  return product;
}
