import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { ApiError } from '../state/api';
import { describeOAuthError, providerLabel, type SignInMethods } from '../state/oauth';
import { Avatar, avatarCache } from './Avatar';
import { useChat, useSession, useStore } from './hooks';

const primary =
  'inline-flex items-center justify-center gap-2 rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50';
const secondary =
  'inline-flex items-center justify-center gap-2 rounded-lg border border-zinc-300 px-3 py-1.5 text-sm font-medium hover:bg-zinc-50 disabled:cursor-not-allowed disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800';
const field =
  'block w-full rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-900';

function problem(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'last_sign_in_method') return 'That is your only way to sign in: set a password or link another account first.';
    if (e.code === 'forbidden') return 'The current password is wrong.';
    if (e.code === 'rate_limited') return 'Too many attempts. Wait a minute and try again.';
    return e.message || 'Something went wrong.';
  }
  return 'Something went wrong. Check your connection.';
}

function PasswordForm({ hasPassword, onDone }: { hasPassword: boolean; onDone: () => void }) {
  const chat = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { current: useId(), next: useId() };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (next.length < 8) {
      setError('Passwords need at least 8 characters.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await chat.deps.api.setPassword(next, hasPassword ? current : undefined);
      setCurrent('');
      setNext('');
      onDone();
    } catch (err) {
      setError(problem(err));
    }
    setBusy(false);
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="space-y-2">
      {hasPassword && (
        <div>
          <label htmlFor={ids.current} className="mb-1 block text-sm">
            Current password
          </label>
          <input
            id={ids.current}
            type="password"
            autoComplete="current-password"
            className={field}
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </div>
      )}
      <div>
        <label htmlFor={ids.next} className="mb-1 block text-sm">
          New password
        </label>
        <input
          id={ids.next}
          type="password"
          autoComplete="new-password"
          className={field}
          value={next}
          onChange={(e) => setNext(e.target.value)}
          placeholder="At least 8 characters"
        />
      </div>
      {error && (
        <p role="alert" className="text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy} className={primary}>
        {hasPassword ? 'Change password' : 'Set password'}
      </button>
    </form>
  );
}

/** Your picture: upload (any PNG, JPEG, GIF or WebP; the server crops it square) or remove. */
function AvatarForm() {
  const chat = useSession();
  const me = useChat((s) => s.me);
  const input = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  if (!me) return null;

  const change = async (run: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await run();
      avatarCache(chat.deps.api).forget(me.id);
      setStatus(done);
    } catch (e) {
      setError(problem(e));
    }
    setBusy(false);
  };

  return (
    <div className='flex items-center gap-3'>
      <Avatar user={me} size='lg' />
      <div className='min-w-0 flex-1 space-y-1'>
        <div className='flex flex-wrap gap-2'>
          <label htmlFor={input} className={`${secondary} cursor-pointer`}>
            Upload a picture
          </label>
          <input
            id={input}
            type='file'
            accept='image/png,image/jpeg,image/gif,image/webp'
            className='sr-only'
            disabled={busy}
            data-testid='avatar-input'
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file)
                void change(
                  () => chat.deps.api.setAvatar(file),
                  'Picture updated.',
                );
            }}
          />
          <button
            type='button'
            className={secondary}
            disabled={busy}
            onClick={() =>
              void change(
                () => chat.deps.api.removeAvatar(),
                'Picture removed.',
              )
            }
          >
            Remove
          </button>
        </div>
        {status && (
          <p
            role='status'
            className='text-xs text-emerald-700 dark:text-emerald-300'
          >
            {status}
          </p>
        )}
        {error && (
          <p role='alert' className='text-xs text-red-700 dark:text-red-300'>
            {error}
          </p>
        )}
      </div>
    </div>
  );
}

/** Sign-in methods: the password, and accounts at other services to link and unlink (a
 * section of the settings page). Setting or changing the password signs out every other
 * session. */
export function AccountSettings() {
  const chat = useSession();
  const store = useStore();
  const providers = useChat((s) => s.providers);
  const oauth = useChat((s) => s.oauth);
  const [methods, setMethods] = useState<SignInMethods | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headings = { linked: useId(), password: useId(), picture: useId() };

  const load = useCallback(
    () =>
      chat.deps.api.signInMethods().then(
        (found) => setMethods(found),
        (e: unknown) => setError(problem(e)),
      ),
    [chat],
  );

  useEffect(() => {
    void load();
  }, [load]);

  // Back from linking at a provider: say how it went, until the next thing done here.
  const who = providerLabel(providers, oauth?.provider ?? null);
  const shownStatus = status ?? (oauth?.kind === 'linked' ? `Your ${who} account is linked.` : null);
  const shownError = error ?? (oauth?.kind === 'error' ? describeOAuthError(oauth.code, who) : null);

  const link = async (provider: string) => {
    store.dismissOAuth();
    setBusy(true);
    setError(null);
    try {
      window.location.assign(await chat.deps.api.startLink(provider, window.location.pathname));
    } catch (e) {
      setError(problem(e));
      setBusy(false);
    }
  };

  const unlink = async (id: string) => {
    store.dismissOAuth();
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await chat.deps.api.unlinkIdentity(id);
      setStatus('Unlinked.');
      await load();
    } catch (e) {
      setError(problem(e));
    }
    setBusy(false);
  };

  const ways = methods ? methods.identities.length + (methods.has_password ? 1 : 0) : 0;

  return (
    <>
      {shownStatus && (
        <p role="status" className="mb-3 rounded-lg bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:bg-emerald-950/40 dark:text-emerald-200">
          {shownStatus}
        </p>
      )}
      {shownError && (
        <p role="alert" className="mb-3 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950/40 dark:text-red-200">
          {shownError}
        </p>
      )}
      {!methods ? (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">Loading…</p>
      ) : (
        <div className="space-y-5">
          <section aria-labelledby={headings.picture}>
            <h3 id={headings.picture} className="mb-2 text-sm font-semibold">
              Picture
            </h3>
            <AvatarForm />
          </section>
          <section aria-labelledby={headings.linked}>
            <h3 id={headings.linked} className="mb-2 text-sm font-semibold">
              Linked accounts
            </h3>
            {methods.identities.length === 0 ? (
              <p className="text-sm text-zinc-500 dark:text-zinc-400">None yet.</p>
            ) : (
              <ul className="space-y-2" aria-label="Linked accounts">
                {methods.identities.map((identity) => {
                  const last = ways <= 1;
                  return (
                    <li key={identity.id} className="flex items-center gap-3 rounded-lg border border-zinc-200 px-3 py-2 dark:border-zinc-800">
                      <span className="min-w-0 flex-1">
                        <span className="block text-sm font-medium">{identity.display_name}</span>
                        <span className="block truncate text-xs text-zinc-500 dark:text-zinc-400">{identity.label}</span>
                      </span>
                      <button
                        type="button"
                        disabled={busy || last}
                        title={last ? 'Your only way to sign in: set a password or link another account first' : undefined}
                        aria-label={`Unlink ${identity.display_name} (${identity.label})`}
                        onClick={() => void unlink(identity.id)}
                        className={secondary}
                      >
                        Unlink
                      </button>
                    </li>
                  );
                })}
              </ul>
            )}
            {ways <= 1 && methods.identities.length === 1 && (
              <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
                This is your only way to sign in. Set a password or link another account to unlink it.
              </p>
            )}
            {providers.length > 0 && (
              <div className="mt-3 flex flex-wrap gap-2">
                {providers.map((p) => (
                  <button key={p.name} type="button" disabled={busy} onClick={() => void link(p.name)} className={secondary}>
                    Link {p.display_name}
                  </button>
                ))}
              </div>
            )}
          </section>
          <section aria-labelledby={headings.password}>
            <h3 id={headings.password} className="mb-2 text-sm font-semibold">
              Password
            </h3>
            {methods.has_password && (
              <p className="mb-2 text-sm text-zinc-500 dark:text-zinc-400">
                Changing it signs you out everywhere else; this device stays signed in.
              </p>
            )}
            {!methods.has_password && (
              <p className="mb-2 text-sm text-zinc-500 dark:text-zinc-400">
                You sign in through a linked account. A password lets you sign in without it.
              </p>
            )}
            <PasswordForm
              hasPassword={methods.has_password}
              onDone={() => {
                store.dismissOAuth();
                setStatus(methods.has_password ? 'Password changed.' : 'Password set.');
                void load();
              }}
            />
          </section>
        </div>
      )}
    </>
  );
}
