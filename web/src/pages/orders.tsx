import { useState } from 'preact/hooks';
import { query } from '../api.ts';
import { useApp, useLoad } from '../app.tsx';
import { money, shortId, when } from '../format.ts';
import type { Page as ApiPage, Order } from '../types.ts';
import { DataTable, ErrorBox, Loading, signedIn } from '../ui.tsx';

export const OrdersPage = signedIn('Orders', Orders);

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
        <DataTable
          label="Your orders"
          testId="orders"
          rows={list.data.items}
          rowKey={(o) => o.orderId}
          rowAttributes={(o) => ({ 'data-order': o.orderId })}
          columns={[
            { title: 'Order', cell: (o) => <code title={o.orderId}>{shortId(o.orderId)}</code> },
            { title: 'Placed', cell: (o) => when(o.createdAt) },
            { title: 'Region', cell: (o) => o.region },
            { title: 'Items', cell: (o) => o.items.reduce((n, i) => n + i.quantity, 0) },
            { title: 'Total', num: true, cell: (o) => money(o.totalCents) },
            {
              title: 'Status',
              cell: (o) => (
                <>
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
                </>
              ),
            },
          ]}
        />
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
