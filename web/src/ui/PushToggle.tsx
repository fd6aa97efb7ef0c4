import { useEffect, useState } from 'react';
import { disablePush, enablePush, pushState, type PushState } from '../state/push';
import { useSession } from './hooks';
import { SwitchRow } from './Switch';

const NOTE: Record<PushState, string> = {
  unsupported: 'This browser cannot receive push notifications.',
  blocked: 'Notifications are blocked for this site in your browser settings.',
  off: 'Direct messages and mentions while Parley is closed.',
  on: 'Direct messages and mentions while Parley is closed.',
};

/** "Push notifications on this device" (Web Push), on the settings page's Notifications. */
export function PushToggle() {
  const chat = useSession();
  const user = chat.myId ?? '';
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

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

  return (
    <SwitchRow
      label="Push notifications on this device"
      note={state ? NOTE[state] : 'Checking…'}
      on={state === 'on'}
      disabled={busy || !(state === 'on' || state === 'off')}
      onToggle={() => void toggle()}
      error={error}
      testId="push-toggle"
    />
  );
}
