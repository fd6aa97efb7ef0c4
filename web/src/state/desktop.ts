/**
 * Desktop notifications: a new message pops a system notification while Parley is open
 * in a background tab. They need the browser's permission, which a page can ask for but
 * never take back, so "off" is this device's own choice, kept in localStorage; "on"
 * is the permission granted and not switched off here. Web Push (`push.ts`) is the other
 * way, for when Parley is closed.
 */

export type DesktopState = 'unsupported' | 'blocked' | 'off' | 'on';

export const DESKTOP_KEY = 'parley.desktop-notifications';

type Permission = NotificationPermission | 'unsupported';
type Storage_ = Pick<Storage, 'getItem' | 'setItem'>;

export interface DesktopEnv {
  permission: () => Permission;
  request: () => Promise<NotificationPermission>;
  storage: () => Storage_ | undefined;
}

const browser: DesktopEnv = {
  permission: () => (typeof Notification === 'undefined' ? 'unsupported' : Notification.permission),
  request: () => Notification.requestPermission(),
  storage: () => globalThis.localStorage,
};

const listeners = new Set<() => void>();

/** For `useSyncExternalStore`: told when this page switches them, and when the browser's
 * permission changes (the push switch asking for it, or the browser's site settings). */
export function onDesktopChange(listener: () => void): () => void {
  listeners.add(listener);
  let live = true;
  let status: PermissionStatus | null = null;
  globalThis.navigator?.permissions?.query({ name: 'notifications' }).then(
    (found) => {
      if (!live) return;
      status = found;
      found.addEventListener('change', listener);
    },
    () => undefined,
  );
  return () => {
    live = false;
    listeners.delete(listener);
    status?.removeEventListener('change', listener);
  };
}

function switchedOff(env: DesktopEnv): boolean {
  try {
    return env.storage()?.getItem(DESKTOP_KEY) === 'off';
  } catch {
    return false;
  }
}

export function desktopState(env: DesktopEnv = browser): DesktopState {
  const permission = env.permission();
  if (permission === 'unsupported') return 'unsupported';
  if (permission === 'denied') return 'blocked';
  return permission === 'granted' && !switchedOff(env) ? 'on' : 'off';
}

/** Turn them on (asking the browser for permission first if it has not been given) or off. */
export async function setDesktop(on: boolean, env: DesktopEnv = browser): Promise<DesktopState> {
  if (on && env.permission() === 'default') await env.request();
  try {
    env.storage()?.setItem(DESKTOP_KEY, on ? 'on' : 'off');
  } catch {
    /* storage refused (some private modes): the browser's permission alone decides */
  }
  listeners.forEach((l) => l());
  return desktopState(env);
}
