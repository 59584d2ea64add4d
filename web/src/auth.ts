import type { ConsoleConfig } from './config.ts';

/** Who is signed in: the API token and the claims the console shows (the API decides what they allow). */
export interface Session {
  token: string;
  userId: string;
  admin: boolean;
  expiresAt: number;
}

// localStorage, not sessionStorage: a second tab is the same user (that is how two tabs edit one cart).
const KEY = 'shop.session';

export function claimsOf(token: string): { sub: string; groups: string[]; exp: number } {
  const [, payload] = token.split('.');
  if (!payload) throw new Error('not a JWT');
  const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  return {
    sub: String(json.sub ?? ''),
    groups: Array.isArray(json['cognito:groups']) ? (json['cognito:groups'] as string[]) : [],
    exp: Number(json.exp ?? 0),
  };
}

export function sessionFromToken(token: string): Session {
  const claims = claimsOf(token);
  return { token, userId: claims.sub, admin: claims.groups.includes('admin'), expiresAt: claims.exp * 1000 };
}

export function loadSession(): Session | undefined {
  try {
    const session = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    return session && session.expiresAt > Date.now() + 30_000 ? session : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session | undefined): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}

/** Local cloud: the console's local server signs a token with the local cloud's key. */
export async function localSignIn(config: ConsoleConfig, userId: string, admin: boolean): Promise<Session> {
  const url = config.local?.tokenUrl;
  if (!url) throw new Error('This console is not served by the local cloud');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, admin }),
  });
  const body = (await response.json()) as { token?: string; message?: string };
  if (!response.ok || !body.token)
    throw new Error(body.message ?? `token endpoint answered ${response.status}`);
  return sessionFromToken(body.token);
}

const PKCE_KEY = 'shop.pkce';

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function redirectUri(): string {
  return `${location.origin}/`;
}

/** AWS: to the Cognito hosted UI (authorization code with PKCE; no client secret in a browser). */
export async function cognitoSignIn(config: ConsoleConfig): Promise<void> {
  const cognito = config.cognito;
  if (!cognito) throw new Error('No Cognito settings in /config.json');
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, back: location.hash }));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: cognito.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email profile',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${cognito.domain}/oauth2/authorize?${params}`);
}

/** Completes a hosted-UI sign-in when the page was opened with `?code=…&state=…`. */
export async function completeCognitoSignIn(config: ConsoleConfig): Promise<Session | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code || !config.cognito) return undefined;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as {
    verifier: string;
    state: string;
    back: string;
  } | null;
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', `${location.pathname}${saved?.back ?? ''}`);
  if (!saved || saved.state !== params.get('state'))
    throw new Error('Sign-in state did not match; try again');
  const response = await fetch(`${config.cognito.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.cognito.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: saved.verifier,
    }),
  });
  const body = (await response.json()) as { id_token?: string; error?: string };
  // The API's Cognito authorizer takes the ID token (it carries `cognito:groups`).
  if (!response.ok || !body.id_token)
    throw new Error(`Cognito refused the sign-in: ${body.error ?? response.status}`);
  return sessionFromToken(body.id_token);
}

export function cognitoSignOutUrl(config: ConsoleConfig): string | undefined {
  if (!config.cognito) return undefined;
  const params = new URLSearchParams({ client_id: config.cognito.clientId, logout_uri: redirectUri() });
  return `${config.cognito.domain}/logout?${params}`;
}
