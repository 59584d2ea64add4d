import './styles.css';
import { type ComponentType, render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { App, type AppContext, makeApi, useRoute } from './app.tsx';
import { completeCognitoSignIn, loadSession, type Session, saveSession } from './auth.ts';
import { type ConsoleConfig, loadConfig } from './config.ts';
import { ApiReference } from './pages/api-reference.tsx';
import { CartPage } from './pages/cart.tsx';
import { LocalCloudPage } from './pages/local-cloud.tsx';
import { OrdersPage } from './pages/orders.tsx';
import { ProductPage } from './pages/product.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { Storefront } from './pages/storefront.tsx';
import { Loading } from './ui.tsx';

// The chart pages load the charting library (and the lab its parameter schema) only when opened.
const LabPage = lazy(() => import('./pages/lab.tsx').then((m) => m.LabPage));
const LakePage = lazy(() => import('./pages/lake.tsx').then((m) => m.LakePage));

function lazy<P extends object>(load: () => Promise<ComponentType<P>>) {
  let loaded: ComponentType<P> | undefined;
  return function Lazy(props: P) {
    const [, setReady] = useState(false);
    const [error, setError] = useState<Error>();
    useEffect(() => {
      if (!loaded)
        load().then(
          (c) => {
            loaded = c;
            setReady(true);
          },
          (e: Error) => setError(e),
        );
    }, []);
    if (error)
      return (
        <p class="error" role="alert">
          This page could not load: {error.message}
        </p>
      );
    const Component = loaded;
    return Component ? <Component {...props} /> : <Loading what="Loading the page" />;
  };
}

function Shell({ config }: { config: ConsoleConfig }) {
  const [session, setSessionState] = useState<Session | undefined>(loadSession);
  const [cartVersion, setCartVersion] = useState(0);
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const setSession = (s: Session | undefined) => {
    saveSession(s);
    setSessionState(s);
  };
  const api = useMemo(
    () =>
      makeApi(
        config,
        () => sessionRef.current,
        () => setSession(undefined),
      ),
    [config],
  );
  // Another tab signing in or out.
  useEffect(() => {
    const on = (e: StorageEvent) => e.key === 'shop.session' && setSessionState(loadSession());
    addEventListener('storage', on);
    return () => removeEventListener('storage', on);
  }, []);
  const ctx: AppContext = {
    config,
    api,
    session,
    setSession,
    cartVersion,
    cartChanged: () => setCartVersion((v) => v + 1),
  };
  const route = useRoute();
  const [section = 'products', id] = route.path;
  const main = useRef<HTMLElement>(null);
  // Move focus to the new page's heading so keyboard and screen-reader users land on it.
  useEffect(() => {
    const heading = main.current?.querySelector<HTMLElement>('h1');
    if (heading && document.activeElement !== document.body) heading.focus();
    document.title = `${heading?.textContent ?? 'Console'} · Serverless Shop`;
  }, [section, id]);

  const nav: [string, string][] = [
    ['products', 'Store'],
    ['cart', 'Cart'],
    ['orders', 'Orders'],
    ['lab', 'Consistency lab'],
    ['lake', 'Lake'],
    ...(config.mode === 'local' ? ([['local', 'Local cloud']] as [string, string][]) : []),
    ['api', 'API'],
  ];
  let page: preact.JSX.Element;
  if (section === 'products' && id) page = <ProductPage id={id} />;
  else if (section === 'products') page = <Storefront route={route} />;
  else if (section === 'cart') page = <CartPage />;
  else if (section === 'orders') page = <OrdersPage />;
  else if (section === 'lab') page = <LabPage route={route} />;
  else if (section === 'lake') page = <LakePage />;
  else if (section === 'local' && config.mode === 'local') page = <LocalCloudPage />;
  else if (section === 'api') page = <ApiReference route={route} />;
  else page = <p class="notice">No page here. Try the store.</p>;

  return (
    <App.Provider value={ctx}>
      <header class="top">
        <a class="brand" href="#/products">
          Serverless Shop
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map(([key, label]) => (
              <li key={key}>
                <a href={`#/${key}`} aria-current={section === key ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <SignIn />
      </header>
      <main id="main" ref={main}>
        {page}
      </main>
      <footer class="muted">
        API <code>{config.apiUrl}</code> · {config.mode === 'local' ? 'local cloud' : 'AWS'}
      </footer>
    </App.Provider>
  );
}

async function boot() {
  const root = document.getElementById('app');
  if (!root) return;
  try {
    const config = await loadConfig();
    if (config.mode === 'aws') {
      const session = await completeCognitoSignIn(config);
      if (session) saveSession(session);
    }
    root.textContent = '';
    render(<Shell config={config} />, root);
  } catch (error) {
    root.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'error';
    p.setAttribute('role', 'alert');
    p.textContent = `The console could not start: ${(error as Error).message}`;
    root.append(p);
  }
}

void boot();
