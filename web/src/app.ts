import { ApiClient, makeLogoutRequest, makeRefreshRequest } from './state/api';
import { Connection, type SocketLike } from './state/connection';
import { desktopState } from './state/desktop';
import { roomTitle, type RoomState } from './state/rooms';
import { parseOAuthReturn } from './state/oauth';
import { ChatStore } from './state/store';
import {
  browserLock,
  MemoryStorage,
  SESSION_KEY,
  TokenManager,
  type KeyValueStorage,
} from './state/tokens';
import type { Message, User } from './state/types';
import { preview } from './state/format';

/** Wires the plain-TypeScript client to the browser: fetch, WebSocket, storage, events. */

function pickStorage(): KeyValueStorage {
  try {
    const k = '__parley_probe__';
    window.localStorage.setItem(k, '1');
    window.localStorage.removeItem(k);
    return window.localStorage;
  } catch {
    return new MemoryStorage();
  }
}

export function wsUrl(loc: Location = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws`;
}

const fetchFn = (input: string, init?: RequestInit) => window.fetch(input, init);

export const tokens = new TokenManager({
  storage: pickStorage(),
  refreshRequest: makeRefreshRequest(fetchFn),
  logoutRequest: makeLogoutRequest(fetchFn),
  lock: browserLock(),
});

/**
 * Sessions from before the cookie kept the refresh token in IndexedDB as well
 * (TokenManager moves the localStorage copy into the cookie): delete it.
 */
function dropStoredTokenDatabase(): void {
  try {
    indexedDB.deleteDatabase('parley');
  } catch {
    /* no IndexedDB: nothing was kept there */
  }
}

export const api = new ApiClient({ fetch: fetchFn, tokens });

/** Navigation hook for notification clicks; set by the router. */
export const nav: { open: (roomId: string) => void } = { open: () => undefined };

function notify(me: User | null, msg: Message, room: RoomState | undefined): void {
  if (desktopState() !== 'on') return;
  if (document.visibilityState !== 'hidden') return;
  const sender = msg.sender.display_name || msg.sender.username;
  const title = room && room.kind === 'group' ? `${sender} in ${roomTitle(room, me?.id ?? null)}` : sender;
  try {
    const n = new Notification(title, { body: preview(msg.body, 140), tag: `parley-${msg.room}` });
    n.onclick = () => {
      window.focus();
      nav.open(msg.room);
      n.close();
    };
  } catch {
    /* some platforms only allow notifications from a service worker */
  }
}

/** The page's one store; main.tsx hands it to the UI through React context. */
export function createStore(): ChatStore {
  const store: ChatStore = new ChatStore({
    api,
    tokens,
    connect: (opts) =>
      new Connection({
        ...opts,
        url: () => wsUrl(),
        createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
        isOnline: () => navigator.onLine !== false,
      }),
    notify: (msg, room) => notify(store.getState().me, msg, room),
  });
  return store;
}

/** Browser events that the store cares about. Call once per store. */
export function wireBrowser(store: ChatStore): void {
  window.addEventListener('online', () => store.session?.socket.networkChanged(true));
  window.addEventListener('offline', () => store.session?.socket.networkChanged(false));
  // Do not lose a throttled read marker when the tab is hidden or closed.
  window.addEventListener('pagehide', () => store.session?.reads.flushPending());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') store.session?.reads.flushPending();
  });
  // Another tab signed out (or the session was revoked there).
  window.addEventListener('storage', (e) => {
    if (e.key !== SESSION_KEY && e.key !== null) return;
    const st = store.getState();
    if (e.newValue === null && st.phase === 'signedIn' && !tokens.hasSession()) {
      store.endSession('You signed out in another tab.');
    } else if (e.newValue !== null && st.phase === 'signedOut') {
      void store.boot();
    }
  });
  dropStoredTokenDatabase();
  // Back from a provider: read the outcome, then take it out of the address bar.
  const outcome = parseOAuthReturn(window.location.hash);
  if (outcome) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    store.acceptOAuthReturn(outcome);
  }
  void store.loadProviders();
  void store.boot();
}
