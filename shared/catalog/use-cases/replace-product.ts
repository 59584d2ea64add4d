import { type Product, type ProductInput, productNotFound, productUpserted } from '../domain.ts';
import type { CatalogEvents, ProductStore } from '../ports.ts';

/**
 * Replaces a product's own fields (a missing description removes it; stock and creation time stay),
 * bumps its version and announces it with `ProductUpserted`. An unknown product is refused (404):
 * an update never creates a half product.
 */
export async function replaceProduct(
  ports: Pick<ProductStore, 'updateProduct'> & Pick<CatalogEvents, 'publish'>,
  { productId, input }: { productId: string; input: ProductInput },
): Promise<Product> {
  const product = await ports.updateProduct(productId, input);
  if (!product) throw productNotFound(productId);
  await ports.publish(productUpserted(product));
  return product;
}
