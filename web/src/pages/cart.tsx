import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { href, useApp } from '../app.tsx';
import { money, shortId } from '../format.ts';
import type { CartView, Order, Product } from '../types.ts';
import { DataTable, ErrorBox, Loading, signedIn } from '../ui.tsx';

interface Conflict {
  edited: number;
  current?: number;
  retry: () => Promise<void>;
}

export const CartPage = signedIn('Cart', Cart);

/**
 * The caller's cart. Every change carries `If-Match: <version this tab last saw>`: when another tab or
 * device changed the cart meanwhile the API answers 412, and the change is not applied. The page
 * says so and offers to reload, or to apply the change again on top of the current cart.
 */
function Cart() {
  const { api, cartChanged } = useApp();
  const [cart, setCart] = useState<CartView>();
  const [names, setNames] = useState<Record<string, Product>>({});
  const [error, setError] = useState<unknown>();
  const [conflict, setConflict] = useState<Conflict>();
  const [busy, setBusy] = useState(false);
  const [region, setRegion] = useState('eu');
  const [placed, setPlaced] = useState<{ order: Order; requests: number }>();
  // One Idempotency-Key per cart version: a double click, a retry after a timeout or a reload of the
  // page all send the same key, and the API places one order.
  const checkoutKey = useRef<{ version: number; key: string; requests: number } | undefined>(undefined);

  const load = async () => {
    const r = await api.get<CartView>('/cart');
    setCart(r.body);
    return r.body;
  };
  useEffect(() => {
    load().catch(setError);
  }, []);
  useEffect(() => {
    for (const line of cart?.items ?? []) {
      if (names[line.productId]) continue;
      api
        .get<Product>(`/products/${encodeURIComponent(line.productId)}`)
        .then((r) => setNames((n) => ({ ...n, [line.productId]: r.body })))
        .catch(() => {});
    }
  }, [cart, api, names]);
  const nameOf = (productId: string) => names[productId]?.name ?? shortId(productId);

  const change = async (method: 'PUT' | 'DELETE', path: string, body?: unknown) => {
    if (!cart) return;
    const edited = cart.version;
    const attempt = async (version: number) => {
      setError(undefined);
      setBusy(true);
      try {
        const r = await api.request<CartView | undefined>(method, path, {
          body,
          headers: { 'if-match': `"${version}"` },
        });
        setConflict(undefined);
        if (r.status === 204) await load();
        else if (r.body) setCart(r.body);
        cartChanged();
      } catch (err) {
        if (err instanceof ApiError && err.status === 412) {
          // Show what happened: this tab's version is stale. Fetch the current one to say by how much.
          const current = await api.get<CartView>('/cart').then(
            (r) => r.body,
            () => undefined,
          );
          setConflict({
            edited: version,
            current: current?.version,
            retry: async () => {
              if (current) setCart(current);
              await attempt(current?.version ?? version);
            },
          });
        } else setError(err);
      } finally {
        setBusy(false);
      }
    };
    await attempt(edited);
  };

  const checkout = async () => {
    if (!cart) return;
    if (checkoutKey.current?.version !== cart.version)
      checkoutKey.current = { version: cart.version, key: `console-${crypto.randomUUID()}`, requests: 0 };
    const key = checkoutKey.current;
    key.requests++;
    setError(undefined);
    setBusy(true);
    try {
      const r = await api.request<Order>('POST', '/orders', {
        body: { region },
        headers: { 'idempotency-key': key.key },
      });
      setPlaced({ order: r.body, requests: key.requests });
      cartChanged();
      // The cart is emptied by the OrderPlaced consumer, asynchronously: show it when it has happened.
      for (let i = 0; i < 10; i++) {
        const now = await load();
        if (now.version !== cart.version) break;
        await new Promise((r) => setTimeout(r, 300));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!cart) return error ? <ErrorBox error={error} /> : <Loading what="Loading your cart" />;
  return (
    <>
      {conflict && (
        <div class="conflict" role="alert" data-testid="conflict">
          <h2>412 Precondition Failed: this cart changed elsewhere</h2>
          <p>
            This tab edited version <strong>{conflict.edited}</strong>, but another tab or device changed the
            cart
            {conflict.current !== undefined && (
              <>
                {' '}
                (now version <strong>{conflict.current}</strong>)
              </>
            )}
            . Your change was <strong>not</strong> applied, so nothing was overwritten.
          </p>
          <div class="row">
            <button
              type="button"
              onClick={() => {
                setConflict(undefined);
                void load();
              }}
            >
              Show the current cart
            </button>
            <button type="button" onClick={() => void conflict.retry()}>
              Apply my change to the current cart
            </button>
          </div>
        </div>
      )}
      <p class="muted" data-testid="cart-version">
        Cart version {cart.version} (sent as <code>If-Match</code> with every change)
      </p>
      {cart.items.length === 0 ? (
        <p class="notice">
          Your cart is empty. <a href="#/products">Browse the store</a>.
        </p>
      ) : (
        <DataTable
          label="Cart lines"
          rows={cart.items}
          rowKey={(line) => line.productId}
          columns={[
            {
              title: 'Product',
              cell: (line) => <a href={href('products', line.productId)}>{nameOf(line.productId)}</a>,
            },
            {
              title: 'Quantity',
              cell: (line) => (
                <input
                  type="number"
                  min={1}
                  max={99}
                  value={line.quantity}
                  aria-label={`Quantity of ${nameOf(line.productId)}`}
                  disabled={busy}
                  onChange={(e) => {
                    const quantity = Number((e.currentTarget as HTMLInputElement).value);
                    void change('PUT', `/cart/items/${encodeURIComponent(line.productId)}`, { quantity });
                  }}
                />
              ),
            },
            {
              title: 'Price',
              num: true,
              cell: (line) => money(line.priceCents * line.quantity, names[line.productId]?.currency),
            },
            {
              title: <span class="sr-only">Remove</span>,
              cell: (line) => (
                <button
                  type="button"
                  class="link"
                  disabled={busy}
                  onClick={() => void change('DELETE', `/cart/items/${encodeURIComponent(line.productId)}`)}
                >
                  Remove <span class="sr-only">{nameOf(line.productId)}</span>
                </button>
              ),
            },
          ]}
          footer={
            <tr>
              <th scope="row" colSpan={2}>
                Total
              </th>
              <td class="num" data-testid="cart-total">
                {money(cart.totalCents, names[cart.items[0]?.productId ?? '']?.currency)}
              </td>
              <td />
            </tr>
          }
        />
      )}
      <ErrorBox error={error} />
      {cart.items.length > 0 && (
        <div class="row checkout">
          <label>
            Region
            <select value={region} onChange={(e) => setRegion((e.currentTarget as HTMLSelectElement).value)}>
              <option value="eu">eu</option>
              <option value="us">us</option>
              <option value="ap">ap</option>
            </select>
          </label>
          <button type="button" class="primary" onClick={() => void checkout()} data-testid="checkout">
            {busy ? 'Placing order…' : 'Place order'}
          </button>
          <button type="button" disabled={busy} onClick={() => void change('DELETE', '/cart')}>
            Empty cart
          </button>
        </div>
      )}
      {placed && (
        <p class="ok" role="status" data-testid="placed">
          Order <a href="#/orders">{shortId(placed.order.orderId)}</a> placed:{' '}
          {money(placed.order.totalCents)} in {placed.order.region}.{' '}
          {placed.requests > 1 &&
            `${placed.requests} requests carried the same Idempotency-Key; the API placed one order.`}
        </p>
      )}
    </>
  );
}
