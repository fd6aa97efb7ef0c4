import { useEffect, useId, useMemo, useState, useSyncExternalStore, type FormEvent } from 'react';
import { ApiError } from '../state/api';
import { desktopState, onDesktopChange, setDesktop, type DesktopState } from '../state/desktop';
import { roomLevelRows, type EmailSettings } from '../state/slices/notifications';
import type { NotificationLevel } from '../state/types';
import { useChat, useSession } from './hooks';
import { PushToggle } from './PushToggle';
import { Section } from './Section';
import { SwitchRow } from './Switch';

const primary =
  'inline-flex items-center justify-center gap-2 rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50';
const field =
  'block w-full rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-900';

const DIGEST_MINUTES = { min: 5, max: 7 * 24 * 60 };

const LEVELS: { value: NotificationLevel; label: string }[] = [
  { value: 'all', label: 'Direct messages and mentions' },
  { value: 'mentions', label: 'Only mentions' },
  { value: 'nothing', label: 'Nothing (muted)' },
];

/** The address and when to mail it: never, for each notification, or a digest. */
function EmailForm({ saved }: { saved: EmailSettings }) {
  const chat = useSession();
  const [draft, setDraft] = useState(saved);
  const [minutes, setMinutes] = useState(String(saved.digest_minutes));
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ids = { email: useId(), mode: useId(), minutes: useId() };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus(null);
    setError(null);
    const address = (draft.email ?? '').trim();
    const digest = Number(minutes);
    if (draft.email_mode !== 'off' && address === '') {
      setError('Enter an e-mail address to send notifications to.');
      return;
    }
    if (draft.email_mode === 'digest' && !(Number.isInteger(digest) && digest >= DIGEST_MINUTES.min && digest <= DIGEST_MINUTES.max)) {
      setError(`The digest interval is a whole number of minutes from ${DIGEST_MINUTES.min} to ${DIGEST_MINUTES.max}.`);
      return;
    }
    setBusy(true);
    try {
      await chat.notifications.saveEmail({
        email: address || null,
        email_mode: draft.email_mode,
        ...(draft.email_mode === 'digest' ? { digest_minutes: digest } : {}),
      });
      setStatus('E-mail settings saved.');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Something went wrong. Check your connection.');
    }
    setBusy(false);
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="space-y-3" aria-label="E-mail notifications">
      <div>
        <label htmlFor={ids.email} className="mb-1 block text-sm">
          E-mail address
        </label>
        <input
          id={ids.email}
          type="email"
          autoComplete="email"
          className={field}
          value={draft.email ?? ''}
          maxLength={254}
          onChange={(e) => setDraft({ ...draft, email: e.target.value })}
        />
      </div>
      <div>
        <label htmlFor={ids.mode} className="mb-1 block text-sm">
          E-mail me
        </label>
        <select
          id={ids.mode}
          className={field}
          value={draft.email_mode}
          onChange={(e) => setDraft({ ...draft, email_mode: e.target.value as EmailSettings['email_mode'] })}
        >
          <option value="off">Never</option>
          <option value="immediately">For each notification, at once</option>
          <option value="digest">A digest of what is unread</option>
        </select>
      </div>
      {draft.email_mode === 'digest' && (
        <div>
          <label htmlFor={ids.minutes} className="mb-1 block text-sm">
            At most every (minutes)
          </label>
          <input
            id={ids.minutes}
            type="number"
            inputMode="numeric"
            min={DIGEST_MINUTES.min}
            max={DIGEST_MINUTES.max}
            step={1}
            className={field}
            value={minutes}
            onChange={(e) => setMinutes(e.target.value)}
          />
        </div>
      )}
      {error && (
        <p role="alert" className="text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      {status && (
        <p role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
          {status}
        </p>
      )}
      <button type="submit" disabled={busy} className={primary}>
        Save e-mail settings
      </button>
    </form>
  );
}

const DESKTOP_NOTE: Record<DesktopState, string> = {
  unsupported: 'This browser cannot show desktop notifications.',
  blocked: 'Notifications are blocked for this site in your browser settings.',
  off: 'A new message pops up while Parley is open in a background tab.',
  on: 'A new message pops up while Parley is open in a background tab.',
};

/** Desktop notifications while Parley is open but not in view. */
function DesktopToggle() {
  const state = useSyncExternalStore(onDesktopChange, () => desktopState());
  const [error, setError] = useState<string | null>(null);
  const toggle = () => {
    setError(null);
    setDesktop(state !== 'on').catch(() => setError('Could not change desktop notifications. Try again.'));
  };
  return (
    <SwitchRow
      label="Desktop notifications"
      note={DESKTOP_NOTE[state]}
      on={state === 'on'}
      disabled={state === 'unsupported' || state === 'blocked'}
      onToggle={toggle}
      error={error}
      testId="desktop-toggle"
    />
  );
}

/** Every room the user is in, with its level; a room's own mute button changes the same. */
function RoomLevels() {
  const chat = useSession();
  const rooms = useChat((s) => s.rooms);
  const levels = useChat((s) => s.roomLevels);
  const myId = useChat((s) => s.me?.id ?? null);
  const rows = useMemo(() => roomLevelRows(rooms, levels, myId), [rooms, levels, myId]);
  const [pending, setPending] = useState<string | null>(null);
  if (rows.length === 0) {
    return <p className="text-sm text-zinc-500 dark:text-zinc-400">You are not in any conversation yet.</p>;
  }
  const change = (room: string, level: NotificationLevel) => {
    setPending(room);
    chat.notifications
      .setLevel(room, level)
      .catch(() => chat.toast('That could not be done right now; try again.'))
      .finally(() => setPending(null));
  };
  return (
    <ul aria-label="Conversations" className="divide-y divide-zinc-200 dark:divide-zinc-800" data-testid="room-levels">
      {rows.map((row) => (
        <li key={row.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
          <span className="min-w-0 truncate text-sm">
            {row.direct ? row.title : `#${row.title}`}
          </span>
          <select
            aria-label={`Notifications from ${row.direct ? row.title : `#${row.title}`}`}
            className={`${field} w-auto`}
            value={row.level}
            disabled={pending === row.id}
            onChange={(e) => change(row.id, e.target.value as NotificationLevel)}
          >
            {LEVELS.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </li>
      ))}
    </ul>
  );
}

/** The settings page's Notifications: e-mail, this device (push, desktop) and each room. */
export function NotificationSettings() {
  const chat = useSession();
  const saved = useChat((s) => s.notificationEmail);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    chat.notifications.loadSettings().catch(() => setFailed(true));
  }, [chat]);
  return (
    <div className="space-y-6">
      <Section level={3} title="E-mail">
        {saved ? (
          <EmailForm saved={saved} />
        ) : (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">{failed ? 'Could not load the e-mail settings. Reload to try again.' : 'Loading…'}</p>
        )}
      </Section>
      <Section level={3} title="On this device">
        <PushToggle />
        <DesktopToggle />
      </Section>
      <Section level={3} title="Conversations">
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          What you are notified of from each conversation, by e-mail, push and in the bell. Muted ones add nothing to the unread count in the title.
        </p>
        <RoomLevels />
      </Section>
    </div>
  );
}
