import { createContext, use, useEffect, useState, useSyncExternalStore } from 'react';
import type { UserSession } from '../state/slices/session';
import type { ChatState, ChatStore } from '../state/store';

/** The page's store, provided once at the root (main.tsx). */
export const StoreContext = createContext<ChatStore | null>(null);

/** The signed-in user's session, provided by App around the chat screens. */
export const SessionContext = createContext<UserSession | null>(null);

export function useStore(): ChatStore {
  const store = use(StoreContext);
  if (!store) throw new Error('useStore needs a <StoreContext> above it');
  return store;
}

/** The session the chat screens were mounted for; its slices hold every per-user action. */
export function useSession(): UserSession {
  const session = use(SessionContext);
  if (!session) throw new Error('useSession needs a <SessionContext> above it');
  return session;
}

/** Subscribe to part of the chat state (selectors must return stable values). */
export function useChat<T>(selector: (s: ChatState) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => selector(store.getState()));
}

/** The current time, refreshed every `ms` (for relative stamps). */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

// ---- a tiny router: "/", "/r/:roomId" and "/rooms/:roomId/messages/:seq" (a link to a message) ----

const ROUTE = /^\/(?:r\/([^/]+)|rooms\/([^/]+)\/messages\/([1-9][0-9]{0,15}))\/?$/;

function currentRoom(): string | null {
  const m = ROUTE.exec(window.location.pathname);
  const id = m ? (m[1] ?? m[2]) : undefined;
  return id ? decodeURIComponent(id) : null;
}

/** The seq a message link points at, or null. */
function currentTarget(): number | null {
  const m = ROUTE.exec(window.location.pathname);
  return m?.[3] ? Number(m[3]) : null;
}

/** The address of one message (what "Copy link" copies). */
export function messageLink(roomId: string, seq: number): string {
  return `${window.location.origin}/rooms/${encodeURIComponent(roomId)}/messages/${seq}`;
}

const routeListeners = new Set<() => void>();
window.addEventListener('popstate', () => routeListeners.forEach((l) => l()));

export function navigate(roomId: string | null, replace = false): void {
  const path = roomId ? `/r/${encodeURIComponent(roomId)}` : '/';
  if (path !== window.location.pathname) {
    if (replace) window.history.replaceState(null, '', path);
    else window.history.pushState(null, '', path);
  }
  routeListeners.forEach((l) => l());
}

/** Open a room at one of its messages (a search result): the message link's route. */
export function openMessage(roomId: string, seq: number): void {
  window.history.pushState(null, '', new URL(messageLink(roomId, seq)).pathname);
  routeListeners.forEach((l) => l());
}

/** The settings page's address (App.tsx shows it instead of the chat). */
export const SETTINGS_PATH = '/settings';

export function openSettings(): void {
  if (window.location.pathname !== SETTINGS_PATH) window.history.pushState(null, '', SETTINGS_PATH);
  routeListeners.forEach((l) => l());
}

export function useOnSettings(): boolean {
  return useSyncExternalStore(onRoute, () => window.location.pathname === SETTINGS_PATH);
}

function onRoute(cb: () => void): () => void {
  routeListeners.add(cb);
  return () => routeListeners.delete(cb);
}

export function useRouteRoom(): string | null {
  return useSyncExternalStore(onRoute, currentRoom);
}

export function useRouteTarget(): number | null {
  return useSyncExternalStore(onRoute, currentTarget);
}

/** Whether a media query matches, kept up to date. */
export function useMedia(query: string): boolean {
  return useSyncExternalStore(
    (cb) => {
      const mq = window.matchMedia(query);
      mq.addEventListener('change', cb);
      return () => mq.removeEventListener('change', cb);
    },
    () => window.matchMedia(query).matches,
  );
}
