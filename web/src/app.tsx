import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { Api } from './api.ts';
import type { Session } from './auth.ts';
import type { ConsoleConfig } from './config.ts';

export interface AppContext {
  config: ConsoleConfig;
  api: Api;
  session: Session | undefined;
  setSession: (session: Session | undefined) => void;
  /** Bumped when the cart changes here, so the header's count follows. */
  cartVersion: number;
  cartChanged: () => void;
}

export const App = createContext<AppContext | undefined>(undefined);

export function useApp(): AppContext {
  const app = useContext(App);
  if (!app) throw new Error('useApp outside <App.Provider>');
  return app;
}

export function makeApi(config: ConsoleConfig, session: () => Session | undefined, expired: () => void) {
  return new Api(config.apiUrl, () => session()?.token, expired);
}

/** The hash route: `#/products/abc?x=1` → `{ path: ['products', 'abc'], params }`. */
export interface Route {
  path: string[];
  params: URLSearchParams;
}

function parseHash(): Route {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [p = '/', q = ''] = hash.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function href(...parts: (string | number)[]): string {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
}

/** Loads something once per `deps`, with loading and error states. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
