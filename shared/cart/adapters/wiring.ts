import { getProduct } from '../../catalog/adapters/catalog-table.ts';
import type { CartPorts } from '../ports.ts';
import { clearCart, getCart, removeCartLine, setCartLine } from './cart-table.ts';

/** The cart's ports as the deployed functions run them: the carts table and the catalog table. */
export const cartPorts: CartPorts = { getCart, setCartLine, removeCartLine, clearCart, getProduct };
