import { useId, useState, type FormEvent } from 'react';
import { ApiError, NetworkError } from '../state/api';
import { describeOAuthError, providerLabel, startUrl, type Provider } from '../state/oauth';
import { useChat, useStore } from './hooks';
import { IconChat } from './icons';

const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;

function describe(e: unknown, mode: 'in' | 'up'): string {
  if (e instanceof ApiError) {
    if (e.code === 'invalid_credentials') return 'Wrong username or password.';
    if (e.code === 'username_taken') return 'That username is taken — try another.';
    if (e.code === 'rate_limited') return 'Too many attempts. Wait a minute and try again.';
    if (e.code === 'invalid_input') return e.message || 'Please check the fields.';
    return e.message || `Could not sign ${mode}.`;
  }
  if (e instanceof NetworkError) return 'Cannot reach the server. Check your connection.';
  return `Could not sign ${mode}.`;
}

/** A button per configured provider; each is a plain link (a navigation to the provider). */
function ProviderButtons({ providers, verb }: { providers: Provider[]; verb: string }) {
  if (providers.length === 0) return null;
  const next = window.location.pathname;
  return (
    <div className="mt-6">
      <div className="flex items-center gap-3 text-xs text-zinc-500 dark:text-zinc-400" aria-hidden="true">
        <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
        or
        <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
      </div>
      <ul className="mt-4 space-y-2" aria-label="Other ways to sign in">
        {providers.map((p) => (
          <li key={p.name}>
            <a
              href={startUrl(p.name, next)}
              className="flex w-full items-center justify-center rounded-lg border border-zinc-300 bg-white px-4 py-2.5 text-[15px] font-medium text-zinc-800 shadow-xs transition hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:hover:bg-zinc-800"
            >
              {verb} with {p.display_name}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function AuthScreen() {
  const [mode, setMode] = useState<'in' | 'up'>('in');
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const store = useStore();
  const reason = useChat((s) => s.signedOutReason);
  const providers = useChat((s) => s.providers);
  const oauth = useChat((s) => s.oauth);
  const oauthError =
    oauth?.kind === 'error' ? describeOAuthError(oauth.code, providerLabel(providers, oauth.provider)) : null;
  const ids = { user: useId(), name: useId(), pass: useId(), err: useId() };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    store.dismissOAuth();
    const u = username.trim().toLowerCase();
    if (mode === 'up') {
      if (!USERNAME_RE.test(u)) {
        setError('Usernames are 3–32 characters: a–z, 0–9, dot, dash or underscore.');
        return;
      }
      if (password.length < 8) {
        setError('Passwords need at least 8 characters.');
        return;
      }
    }
    setBusy(true);
    try {
      if (mode === 'in') await store.signIn(u, password);
      else await store.signUp(u, password, displayName.trim() || undefined);
    } catch (err) {
      setError(describe(err, mode));
      setBusy(false);
    }
  };

  const field =
    'block w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-[15px] shadow-xs outline-none transition placeholder:text-zinc-400 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-900 dark:placeholder:text-zinc-500';
  const label = 'mb-1.5 block text-sm font-medium text-zinc-700 dark:text-zinc-300';

  return (
    <main className="flex min-h-full items-center justify-center bg-zinc-50 px-4 py-12 dark:bg-zinc-950">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex flex-col items-center text-center">
          <div className="mb-4 flex h-12 w-12 items-center justify-center rounded-2xl bg-indigo-600 text-white shadow-lg shadow-indigo-600/20">
            <IconChat size={24} />
          </div>
          <h1 className="text-2xl font-semibold tracking-tight">
            {mode === 'in' ? 'Sign in to Parley' : 'Create your account'}
          </h1>
          <p className="mt-1.5 text-sm text-zinc-500 dark:text-zinc-400">
            {mode === 'in' ? 'Welcome back. Pick up where you left off.' : 'It takes ten seconds.'}
          </p>
        </div>

        {oauthError && (
          <p
            role="alert"
            data-testid="oauth-error"
            className="mb-4 rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900/50 dark:bg-red-950/40 dark:text-red-200"
          >
            {oauthError}
          </p>
        )}

        {reason && (
          <p
            role="status"
            className="mb-4 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900/50 dark:bg-amber-950/40 dark:text-amber-200"
          >
            {reason}
          </p>
        )}

        <form
          onSubmit={(e) => void submit(e)}
          noValidate
          aria-describedby={error ? ids.err : undefined}
          className="space-y-4 rounded-2xl border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900/60"
        >
          <div>
            <label htmlFor={ids.user} className={label}>
              Username
            </label>
            <input
              id={ids.user}
              name="username"
              className={field}
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              placeholder="ana"
              autoFocus
            />
          </div>
          {mode === 'up' && (
            <div>
              <label htmlFor={ids.name} className={label}>
                Display name <span className="font-normal text-zinc-500 dark:text-zinc-400">(optional)</span>
              </label>
              <input
                id={ids.name}
                name="display_name"
                className={field}
                autoComplete="name"
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
                placeholder="Ana Lima"
                maxLength={64}
              />
            </div>
          )}
          <div>
            <label htmlFor={ids.pass} className={label}>
              Password
            </label>
            <input
              id={ids.pass}
              name="password"
              type="password"
              className={field}
              autoComplete={mode === 'in' ? 'current-password' : 'new-password'}
              required
              minLength={mode === 'up' ? 8 : undefined}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              placeholder={mode === 'up' ? 'At least 8 characters' : ''}
            />
          </div>
          {error && (
            <p id={ids.err} role="alert" className="text-sm text-red-600 dark:text-red-400">
              {error}
            </p>
          )}
          <button
            type="submit"
            disabled={busy}
            className="flex w-full items-center justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-[15px] font-medium text-white shadow-sm transition hover:bg-indigo-500 disabled:cursor-wait disabled:opacity-70"
          >
            {busy ? (mode === 'in' ? 'Signing in…' : 'Creating account…') : mode === 'in' ? 'Sign in' : 'Create account'}
          </button>
        </form>

        <ProviderButtons providers={providers} verb={mode === 'in' ? 'Sign in' : 'Sign up'} />

        <p className="mt-6 text-center text-sm text-zinc-500 dark:text-zinc-400">
          {mode === 'in' ? 'New to Parley?' : 'Already have an account?'}{' '}
          <button
            type="button"
            className="font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400"
            onClick={() => {
              setMode(mode === 'in' ? 'up' : 'in');
              setError(null);
            }}
          >
            {mode === 'in' ? 'Create an account' : 'Sign in'}
          </button>
        </p>
      </div>
    </main>
  );
}
