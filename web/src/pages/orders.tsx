import { useState } from 'preact/hooks';
import { query } from '../api.ts';
import { useApp, useLoad } from '../app.tsx';
import { money, shortId, when } from '../format.ts';
import type { Page as ApiPage, Order } from '../types.ts';
import { ErrorBox, Guard, Loading, Page, TableWrap } from '../ui.tsx';

export function OrdersPage() {
  return (
    <Page title="Orders">
      <Guard>
        <Orders />
      </Guard>
    </Page>
  );
}

/** The caller's orders, newest first (Postgres, partitioned by region), with cancel. */
function Orders() {
  const { api } = useApp();
  const [cursors, setCursors] = useState<string[]>(['']);
  const cursor = cursors.at(-1) ?? '';
  const list = useLoad(
    () => api.get<ApiPage<Order>>(`/orders${query({ limit: 20, cursor })}`).then((r) => r.body),
    [cursor],
  );
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  const cancel = async (orderId: string) => {
    setError(undefined);
    setBusy(orderId);
    try {
      await api.request('POST', `/orders/${encodeURIComponent(orderId)}/cancel`);
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(undefined);
    }
  };
  if (list.loading && !list.data) return <Loading what="Loading your orders" />;
  return (
    <>
      <ErrorBox error={list.error ?? error} />
      {list.data?.items.length === 0 && <p class="notice">No orders yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <TableWrap label="Your orders">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Placed</th>
              <th scope="col">Region</th>
              <th scope="col">Items</th>
              <th scope="col" class="num">
                Total
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody data-testid="orders">
            {list.data.items.map((o) => (
              <tr key={o.orderId} data-order={o.orderId}>
                <td>
                  <code title={o.orderId}>{shortId(o.orderId)}</code>
                </td>
                <td>{when(o.createdAt)}</td>
                <td>{o.region}</td>
                <td>{o.items.reduce((n, i) => n + i.quantity, 0)}</td>
                <td class="num">{money(o.totalCents)}</td>
                <td>
                  <span class={o.status === 'PLACED' ? 'ok' : 'muted'}>{o.status}</span>{' '}
                  {o.status === 'PLACED' && (
                    <button
                      type="button"
                      class="link"
                      disabled={busy === o.orderId}
                      onClick={() => void cancel(o.orderId)}
                    >
                      Cancel <span class="sr-only">order {shortId(o.orderId)}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      <div class="pager">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <button
          type="button"
          disabled={!list.data?.nextCursor}
          onClick={() => setCursors([...cursors, list.data?.nextCursor ?? ''])}
        >
          Older →
        </button>
      </div>
    </>
  );
}
