import type { ComponentChildren } from 'preact';
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
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable (WCAG 2.1.1)
    <section class="table-wrap" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </section>
  );
}
