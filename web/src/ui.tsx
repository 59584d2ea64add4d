import type { ComponentChildren, ComponentType } from 'preact';
import { ApiError } from './api.ts';
import { useApp } from './app.tsx';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  const api = error instanceof ApiError ? error : undefined;
  return (
    <div class="error" role="alert">
      <strong>{api ? `${api.status || 'network'} ${api.code}` : 'Error'}</strong>: {e.message}
      {api && api.details.length > 0 && (
        <ul class="details">
          {api.details.map((d) => (
            <li key={d.path}>
              <code>{d.path}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

/** Shows its children to a signed-in user (and, with `admin`, to administrators only). */
export function Guard({ admin = false, children }: { admin?: boolean; children: ComponentChildren }) {
  const { session } = useApp();
  if (!session)
    return <p class="notice">Sign in (top right) to see this page: the API needs a bearer token for it.</p>;
  if (admin && !session.admin)
    return (
      <p class="notice">
        This page calls admin routes: sign in as a user in the <code>admin</code> group.
      </p>
    );
  return <>{children}</>;
}

export function Page({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          {title}
        </h1>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** A horizontally scrollable table region (keyboard-focusable so it can be scrolled without a mouse). */
export function TableWrap({
  label,
  id,
  children,
}: {
  label: string;
  id?: string;
  children: ComponentChildren;
}) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable (WCAG 2.1.1)
    <section class="table-wrap" id={id} aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </section>
  );
}

/** One column of a {@link DataTable}: its header and how a row fills its cell. */
export interface Column<T> {
  /** The header: text, or markup (e.g. a screen-reader-only name). */
  title: ComponentChildren;
  cell: (row: T) => ComponentChildren;
  /** Right-aligned (numbers, money). */
  num?: boolean;
}

/**
 * A labelled table of rows, one column a {@link Column}: every list of the console (routes, runs,
 * orders, cart lines, a chart's numbers) in the same accessible markup (`th scope="col"`, a named,
 * focusable scroll region).
 *
 * @example
 * <DataTable label="Your orders" rows={orders} rowKey={(o) => o.orderId}
 *   columns={[{ title: 'Placed', cell: (o) => when(o.createdAt) }, { title: 'Total', num: true, cell: (o) => money(o.totalCents) }]} />
 */
export function DataTable<T>({
  label,
  columns,
  rows,
  rowKey,
  rowAttributes,
  id,
  testId,
  footer,
}: {
  label: string;
  columns: (Column<T> | false)[];
  rows: T[];
  rowKey: (row: T, index: number) => string | number;
  /** Extra attributes of a row's `tr` (e.g. `data-run` for tests and styles). */
  rowAttributes?: (row: T) => Record<string, string>;
  id?: string;
  /** The `data-testid` of the `tbody`. */
  testId?: string;
  /** A `tfoot` row (totals). */
  footer?: ComponentChildren;
}) {
  const shown = columns.filter((c): c is Column<T> => c !== false);
  const align = (c: Column<T>) => (c.num ? 'num' : undefined);
  return (
    <TableWrap label={label} id={id}>
      <thead>
        <tr>
          {shown.map((c, i) => (
            <th scope="col" key={i} class={align(c)}>
              {c.title}
            </th>
          ))}
        </tr>
      </thead>
      <tbody data-testid={testId}>
        {rows.map((row, r) => (
          <tr key={rowKey(row, r)} {...rowAttributes?.(row)}>
            {shown.map((c, i) => (
              <td key={i} class={align(c)}>
                {c.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
      {footer && <tfoot>{footer}</tfoot>}
    </TableWrap>
  );
}

/**
 * A page whose content calls routes that need a signed-in user (or an administrator, with `admin`):
 * the content shows only then, and a notice says why otherwise.
 *
 * @example
 * export const OrdersPage = signedIn('Orders', Orders);
 */
export function signedIn<P extends object>(title: string, Content: ComponentType<P>, admin = false) {
  return function SignedInPage(props: P) {
    return (
      <Page title={title}>
        <Guard admin={admin}>
          <Content {...props} />
        </Guard>
      </Page>
    );
  };
}
