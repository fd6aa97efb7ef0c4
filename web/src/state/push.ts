/**
 * Web Push on this device: the service worker, the browser's subscription and the server's
 * record of it. The subscription is made with the server's VAPID public key and posted to
 * /api/push/subscriptions, tied to this session (signing out ends it on the server).
 */
import { ApiError, type ApiClient } from './api';

export const SERVICE_WORKER_URL = '/sw.js';

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

export async function pushState(): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'blocked';
  if (Notification.permission !== 'granted') return 'off';
  return (await current()) ? 'on' : 'off';
}

/** Ask for permission, subscribe with the server's key, register the subscription. */
export async function enablePush(api: ApiClient): Promise<PushState> {
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
  return 'off';
}
