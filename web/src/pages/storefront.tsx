import { useEffect, useState } from 'preact/hooks';
import { query } from '../api.ts';
import { href, type Route, useApp, useLoad } from '../app.tsx';
import { money } from '../format.ts';
import type { Page, Product } from '../types.ts';
import { ErrorBox, Loading, Page as PageLayout } from '../ui.tsx';

const PAGE_SIZE = 12;

/** Products by category (the `byCategory` GSI) or all (`byType`), one cursor page at a time. */
export function Storefront({ route }: { route: Route }) {
  const { api } = useApp();
  const category = route.params.get('category') ?? '';
  const cursor = route.params.get('cursor') ?? '';
  // Cursors of the pages before this one, for "Previous" (the API pages forward only).
  const [back, setBack] = useState<string[]>([]);
  useEffect(() => setBack([]), [category]);
  const page = useLoad(
    () =>
      api.get<Page<Product>>(`/products${query({ category, cursor, limit: PAGE_SIZE })}`).then((r) => r.body),
    [category, cursor],
  );
  // The category chips wait until the products are on screen: asked at the same time, the two calls
  // would need two workers of the catalog function (a second Lambda cold start) while the visitor waits.
  const shown = page.data !== undefined || page.error !== undefined;
  const categories = useLoad(
    () =>
      shown
        ? api
            .get<Page<Product>>('/products?limit=100')
            .then((r) => [...new Set(r.body.items.map((p) => p.category))].sort())
        : Promise.resolve([]),
    [shown],
  );
  // Marks when the first products are on screen: the page load the browser tests report.
  useEffect(() => {
    if (page.data?.items.length && performance.getEntriesByName('shop:products-shown').length === 0)
      performance.mark('shop:products-shown');
  }, [page.data]);
  const go = (params: Record<string, string>) => {
    location.hash = `#/products${query(params)}`;
  };
  return (
    <PageLayout title={category ? `Store · ${category}` : 'Store'}>
      <nav aria-label="Categories" class="chips">
        <a href="#/products" class="chip" aria-current={category === '' ? 'true' : undefined}>
          All
        </a>
        {(categories.data ?? []).map((c) => (
          <a
            key={c}
            class="chip"
            href={`#/products${query({ category: c })}`}
            aria-current={category === c ? 'true' : undefined}
          >
            {c}
          </a>
        ))}
      </nav>
      {page.loading && !page.data && <Loading what="Loading products" />}
      <ErrorBox error={page.error} />
      {page.data && page.data.items.length === 0 && (
        <p class="notice">
          No products yet. An administrator adds them with <code>POST /products</code> (see the README's
          walk-through).
        </p>
      )}
      <ul class="grid" aria-label="Products" data-testid="products">
        {page.data?.items.map((p) => (
          <li key={p.productId} class="card">
            <h2>
              <a href={href('products', p.productId)}>{p.name}</a>
            </h2>
            <p class="muted">{p.category}</p>
            <p class="price">{money(p.priceCents, p.currency)}</p>
            <p class={p.available > 0 ? 'ok' : 'warn'}>
              {p.available > 0 ? `${p.available} available` : 'Out of stock'}
            </p>
          </li>
        ))}
      </ul>
      <div class="pager">
        <button
          type="button"
          disabled={back.length === 0 && !cursor}
          onClick={() => {
            const previous = back.slice(0, -1);
            const target = back.at(-1) ?? '';
            setBack(previous);
            go({ category, cursor: target });
          }}
        >
          ← Previous
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => {
            setBack([...back, cursor]);
            go({ category, cursor: page.data?.nextCursor ?? '' });
          }}
        >
          Next →
        </button>
      </div>
    </PageLayout>
  );
}
