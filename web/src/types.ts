/** The API's shapes, as the README documents them. */
export type { Product } from '../../shared/catalog/product.ts';
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface CartView {
  items: { productId: string; quantity: number; priceCents: number }[];
  totalCents: number;
  version: number;
}
export interface Order {
  orderId: string;
  status: 'PLACED' | 'CANCELLED';
  region: string;
  totalCents: number;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
  createdAt: string;
}
