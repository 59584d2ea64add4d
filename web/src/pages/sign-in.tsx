import { useState } from 'preact/hooks';
import { useApp } from '../app.tsx';
import { cognitoSignIn, cognitoSignOutUrl, localSignIn } from '../auth.ts';

const PRESETS: { userId: string; admin: boolean }[] = [
  { userId: 'alice', admin: false },
  { userId: 'bob', admin: false },
  { userId: 'admin-1', admin: true },
];

/** Local cloud: pick a user (the console's local server signs the token). AWS: the Cognito hosted UI. */
export function SignIn() {
  const { config, session, setSession } = useApp();
  const [userId, setUserId] = useState('alice');
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState(false);

  if (session) {
    const signOut = () => {
      setSession(undefined);
      const url = config.mode === 'aws' ? cognitoSignOutUrl(config) : undefined;
      if (url) location.assign(url);
    };
    return (
      <div class="user">
        <span data-testid="signed-in">
          {session.userId}
          {session.admin && <span class="badge">admin</span>}
        </span>
        <button type="button" class="link" onClick={signOut}>
          Sign out
        </button>
      </div>
    );
  }
  if (config.mode === 'aws') {
    return (
      <div class="user">
        <button type="button" onClick={() => cognitoSignIn(config).catch((e: Error) => setError(e.message))}>
          Sign in
        </button>
        {error && <span role="alert">{error}</span>}
      </div>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      setSession(await localSignIn(config, userId.trim(), admin));
      setOpen(false);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <details
      class="user signin"
      open={open}
      onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary>Sign in</summary>
      <form onSubmit={submit} aria-label="Sign in as a local user">
        <fieldset>
          <legend>Local user</legend>
          {PRESETS.map((p) => (
            <button
              key={p.userId}
              type="button"
              class="chip"
              onClick={() => {
                setUserId(p.userId);
                setAdmin(p.admin);
              }}
              aria-pressed={userId === p.userId}
            >
              {p.userId}
              {p.admin ? ' (admin)' : ''}
            </button>
          ))}
        </fieldset>
        <label>
          User id
          <input
            name="userId"
            value={userId}
            required
            pattern="[\w@.+\-]{1,128}"
            onInput={(e) => setUserId((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="admin"
            checked={admin}
            onChange={(e) => setAdmin((e.currentTarget as HTMLInputElement).checked)}
          />
          In the <code>admin</code> group
        </label>
        <button type="submit">Get a token</button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </details>
  );
}
