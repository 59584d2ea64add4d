import { useState } from 'preact/hooks';
import { useApp, useLoad } from '../app.tsx';
import { money } from '../format.ts';
import type { CartView, Product } from '../types.ts';
import { ErrorBox, Loading, Page } from '../ui.tsx';

/** One product, read eventually consistent or strongly consistent, with the header that says which it got. */
export function ProductPage({ id }: { id: string }) {
  const { api, session, cartChanged } = useApp();
  const [strong, setStrong] = useState(false);
  const [quantity, setQuantity] = useState(1);
  const [added, setAdded] = useState<CartView>();
  const [error, setError] = useState<unknown>();
  const product = useLoad(async () => {
    const started = performance.now();
    const r = await api.get<Product>(
      `/products/${encodeURIComponent(id)}${strong ? '?consistent=true' : ''}`,
    );
    return {
      product: r.body,
      consistency: r.headers.get('x-read-consistency'),
      ms: performance.now() - started,
    };
  }, [id, strong]);
  const add = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await api.request<CartView>('PUT', `/cart/items/${encodeURIComponent(id)}`, {
        body: { quantity },
      });
      setAdded(r.body);
      cartChanged();
    } catch (err) {
      setError(err);
    }
  };
  const p = product.data?.product;
  return (
    <Page title={p?.name ?? 'Product'}>
      <fieldset class="toggle">
        <legend>Read</legend>
        <label>
          <input type="radio" name="consistency" checked={!strong} onChange={() => setStrong(false)} />{' '}
          eventual
        </label>
        <label>
          <input type="radio" name="consistency" checked={strong} onChange={() => setStrong(true)} /> strong (
          <code>?consistent=true</code>)
        </label>
      </fieldset>
      {product.loading && <Loading />}
      <ErrorBox error={product.error} />
      {p && (
        <dl class="facts">
          <dt>Price</dt>
          <dd>{money(p.priceCents, p.currency)}</dd>
          <dt>Category</dt>
          <dd>
            <a href={`#/products?category=${encodeURIComponent(p.category)}`}>{p.category}</a>
          </dd>
          <dt>Available</dt>
          <dd data-testid="available">{p.available}</dd>
          <dt>Version</dt>
          <dd>{p.version}</dd>
          <dt>
            <code>x-read-consistency</code>
          </dt>
          <dd data-testid="read-consistency">
            <strong>{product.data?.consistency ?? '(header not exposed)'}</strong>{' '}
            <span class="muted">({Math.round(product.data?.ms ?? 0)} ms)</span>
          </dd>
          {p.description && (
            <>
              <dt>Description</dt>
              <dd>{p.description}</dd>
            </>
          )}
        </dl>
      )}
      {p && (
        <form class="row" onSubmit={add}>
          <label>
            Quantity
            <input
              type="number"
              name="quantity"
              min={1}
              max={99}
              value={quantity}
              onInput={(e) => setQuantity(Number((e.currentTarget as HTMLInputElement).value))}
            />
          </label>
          <button type="submit" disabled={!session} title={session ? undefined : 'Sign in first'}>
            Put in cart
          </button>
          {!session && <span class="muted">Sign in to use the cart.</span>}
        </form>
      )}
      <ErrorBox error={error} />
      {added && (
        <p class="ok" role="status">
          In your cart: {added.items.find((i) => i.productId === id)?.quantity ?? 0} · cart version{' '}
          {added.version} · <a href="#/cart">go to cart</a>
        </p>
      )}
    </Page>
  );
}
