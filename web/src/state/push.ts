/**
 * Web Push on this device: the service worker, the browser's subscription and the server's
 * record of it. The subscription is made with the server's VAPID public key and posted to
 * /api/push/subscriptions, tied to this session (signing out ends it on the server).
 *
 * The browser's subscription outlives sessions, so whose it is is kept beside it
 * (``OWNER_KEY``): the same person signing in again has it registered for the new
 * session (``renewPush``); someone else finds it off, and the last person's removed.
 */
import { ApiError, type ApiClient } from './api';

export const SERVICE_WORKER_URL = '/sw.js';
export const OWNER_KEY = 'parley.push.user';

/** Local storage, or null where there is none (tests, storage disabled). */
function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export type PushState = 'unsupported' | 'blocked' | 'off' | 'on';

export function pushSupported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    typeof window !== 'undefined' &&
    'PushManager' in window &&
    'Notification' in window
  );
}

/** The key as PushManager.subscribe wants it: base64url text to bytes. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const text = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

export function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

async function current(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration('/');
  return (await registration?.pushManager.getSubscription()) ?? null;
}

export async function pushState(user: string): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'blocked';
  if (Notification.permission !== 'granted') return 'off';
  return (await current()) && storage()?.getItem(OWNER_KEY) === user ? 'on' : 'off';
}

/** At the start of a session: register this device's subscription for it if its owner
 * turned push on here before, else drop a subscription someone else left behind. */
export async function renewPush(api: ApiClient, user: string): Promise<void> {
  if (!pushSupported() || Notification.permission !== 'granted') return;
  const subscription = await current();
  if (!subscription) return;
  if (storage()?.getItem(OWNER_KEY) === user) {
    await api.request('POST', '/api/push/subscriptions', subscription.toJSON());
  } else {
    await subscription.unsubscribe();
    storage()?.removeItem(OWNER_KEY);
  }
}

/** Ask for permission, subscribe with the server's key, register the subscription. */
export async function enablePush(api: ApiClient, user: string): Promise<PushState> {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'blocked' : 'off';
  await navigator.serviceWorker.register(SERVICE_WORKER_URL, { scope: '/' });
  const registration = await navigator.serviceWorker.ready;
  const { public_key } = await api.request<{ public_key: string }>('GET', '/api/push/key');
  const key = keyBytes(public_key);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    // Made with another server key (the server's changed): it can never be delivered to.
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: key,
  });
  await api.request('POST', '/api/push/subscriptions', subscription.toJSON());
  storage()?.setItem(OWNER_KEY, user);
  return 'on';
}

/** Remove the server's record, then the browser's subscription. */
export async function disablePush(api: ApiClient): Promise<PushState> {
  const subscription = await current();
  if (subscription) {
    try {
      await api.request('DELETE', '/api/push/subscriptions', { endpoint: subscription.endpoint });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'not_found')) throw e;
    }
    await subscription.unsubscribe();
  }
  storage()?.removeItem(OWNER_KEY);
  return 'off';
}
