import { useEffect, useId, useState } from 'react';
import { disablePush, enablePush, pushState, type PushState } from '../state/push';
import { useSession } from './hooks';

const NOTE: Record<PushState, string | null> = {
  unsupported: 'This browser cannot receive push notifications.',
  blocked: 'Notifications are blocked for this site in your browser settings.',
  off: 'Direct messages and mentions while Parley is closed.',
  on: 'Direct messages and mentions while Parley is closed.',
};

/** "Push notifications on this device": one switch, kept in its own file so the settings
 * page can take it as it is. */
export function PushToggle() {
  const chat = useSession();
  const user = chat.myId ?? '';
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { label: useId(), note: useId() };

  useEffect(() => {
    let live = true;
    pushState(user).then(
      (found) => live && setState(found),
      () => live && setState('off'),
    );
    return () => {
      live = false;
    };
  }, [user]);

  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      setState(
        await (state === 'on' ? disablePush(chat.deps.api) : enablePush(chat.deps.api, user)),
      );
    } catch {
      setError('Could not change push notifications. Try again.');
      setState(await pushState(user).catch(() => 'off' as const));
    }
    setBusy(false);
  };

  const on = state === 'on';
  const usable = state === 'on' || state === 'off';
  return (
    <div>
      <div className="flex items-center justify-between gap-3">
        <span id={ids.label} className="text-sm">
          Push notifications on this device
        </span>
        <button
          type="button"
          role="switch"
          aria-checked={on}
          aria-labelledby={ids.label}
          aria-describedby={ids.note}
          disabled={busy || !usable}
          onClick={() => void toggle()}
          data-testid="push-toggle"
          className={`relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:cursor-not-allowed disabled:opacity-50 ${
            on ? 'bg-indigo-600' : 'bg-zinc-400 dark:bg-zinc-600'
          }`}
        >
          <span
            aria-hidden="true"
            className={`inline-block h-5 w-5 rounded-full bg-white shadow transition-transform ${on ? 'translate-x-5' : 'translate-x-0.5'}`}
          />
        </button>
      </div>
      <p id={ids.note} className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
        {state ? NOTE[state] : 'Checking…'}
      </p>
      {error && (
        <p role="alert" className="mt-1 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}
