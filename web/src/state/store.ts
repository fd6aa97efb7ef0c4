import { ApiError, NetworkError, type ApiClient } from './api';
import { Backoff } from './backoff';
import type { ConnectionOptions, ConnStatus, StatusInfo } from './connection';
import {
  applyMessageToRoom,
  applyReadToRoom,
  mergeServerRoom,
  placeholderRoom,
  sortRooms,
  type RoomState,
} from './rooms';
import {
  addPending,
  applyLatestPage,
  applyNewerPage,
  applyOlderPage,
  emptyTimeline,
  firstUnreadSeq,
  gapCursor,
  insertMessages,
  lowSeq,
  removePending,
  updatePending,
  type PendingMessage,
  type Timeline,
} from './timeline';
import { SessionExpiredError, type TokenManager } from './tokens';
import { addTyping, activeTyping, removeTyping, TypingThrottle, type TypingEntry } from './typing';
import type { AuthResponse, ClientFrame, Message, Room, ServerFrame, User } from './types';
import { userIdOf } from './types';

/**
 * The client's state machine: everything the UI shows, and every rule for
 * merging what arrives over the socket and over HTTP. Plain TypeScript; the
 * React layer subscribes to it (useSyncExternalStore) and calls its actions.
 */

export type Phase = 'booting' | 'signedOut' | 'signedIn';

export interface ConnState {
  status: ConnStatus;
  attempt: number;
  retryAt: number | null;
  /** The socket has been ready at least once in this session. */
  everOnline: boolean;
}

export interface RoomUi {
  loadingLatest: boolean;
  loadingOlder: boolean;
  /** Seq of the first unread message when the room was opened (frozen). */
  unreadFrom: number | null;
  error: string | null;
}

export interface ChatState {
  phase: Phase;
  me: User | null;
  rooms: Readonly<Record<string, RoomState>>;
  /** Room ids, newest activity first. */
  order: readonly string[];
  roomsLoaded: boolean;
  timelines: Readonly<Record<string, Timeline>>;
  roomUi: Readonly<Record<string, RoomUi>>;
  typing: Readonly<Record<string, readonly TypingEntry[]>>;
  presence: Readonly<Record<string, 'online' | 'offline'>>;
  conn: ConnState;
  activeRoom: string | null;
  /** A transient message for the user (toast). */
  notice: { id: number; text: string } | null;
  /** Why the user was signed out, shown on the sign-in screen. */
  signedOutReason: string | null;
}

export interface ConnectionLike {
  start(): void;
  stop(): void;
  send(frame: ClientFrame): boolean;
  reconnectNow(): void;
  networkLost(): void;
  readonly isReady: boolean;
}

export interface StoreDeps {
  api: ApiClient;
  tokens: TokenManager;
  /** Build the socket connection (real: `new Connection(opts)`). */
  connect: (
    opts: Pick<
      ConnectionOptions,
      'getToken' | 'refreshToken' | 'resumeMap' | 'onFrame' | 'onStatus' | 'onDisconnect' | 'onSessionExpired'
    >,
  ) => ConnectionLike;
  now?: () => number;
  newId?: () => string;
  /** Desktop notification hook; called for live messages from others. */
  notify?: (msg: Message, room: RoomState | undefined) => void;
  /** Tunables (tests shorten them). */
  timing?: Partial<Timing>;
}

export interface Timing {
  ackTimeoutMs: number;
  gapGraceMs: number;
  readThrottleMs: number;
  pageSize: number;
  gapPageSize: number;
  maxSendRetries: number;
}

const DEFAULT_TIMING: Timing = {
  ackTimeoutMs: 15_000,
  gapGraceMs: 400,
  readThrottleMs: 800,
  pageSize: 50,
  gapPageSize: 100,
  maxSendRetries: 6,
};

const RETRYABLE = new Set(['rate_limited', 'unavailable']);

function initialState(phase: Phase): ChatState {
  return {
    phase,
    me: null,
    rooms: {},
    order: [],
    roomsLoaded: false,
    timelines: {},
    roomUi: {},
    typing: {},
    presence: {},
    conn: { status: 'stopped', attempt: 0, retryAt: null, everOnline: false },
    activeRoom: null,
    notice: null,
    signedOutReason: null,
  };
}

const EMPTY_UI: RoomUi = { loadingLatest: false, loadingOlder: false, unreadFrom: null, error: null };

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message || e.code;
  if (e instanceof NetworkError) return 'Network error — check your connection.';
  if (e instanceof Error) return e.message;
  return String(e);
}

export class ChatStore {
  private state: ChatState = initialState('booting');
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;
  private readonly deps: StoreDeps;
  private readonly timing: Timing;
  private readonly now: () => number;
  private readonly newId: () => string;
  private conn: ConnectionLike | null = null;
  private resuming = false;
  private readonly typingThrottle = new TypingThrottle();
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly retryBackoff = new Map<string, Backoff>();
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly gapRunning = new Set<string>();
  private readonly gapAgain = new Set<string>();
  private readonly incomplete = new Set<string>();
  private readonly roomFetches = new Map<string, Promise<void>>();
  private readonly readSent = new Map<string, number>();
  private readonly readTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly readLastAt = new Map<string, number>();
  private readonly roomAddedAt = new Map<string, number>();
  private readonly typingRetry = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per room: the client_id of the send awaiting its ack. */
  private readonly inflight = new Map<string, string>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private noticeSeq = 0;
  private session = 0;

  constructor(deps: StoreDeps) {
    this.deps = deps;
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.now = deps.now ?? Date.now;
    this.newId =
      deps.newId ??
      (() =>
        typeof crypto !== 'undefined' && 'randomUUID' in crypto
          ? crypto.randomUUID()
          : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
    deps.tokens.onExpired(() => {
      if (this.state.phase === 'signedIn') this.endSession('Your session has ended. Please sign in again.');
    });
  }

  // ---- subscription -------------------------------------------------------

  getState = (): ChatState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<ChatState> | ((s: ChatState) => Partial<ChatState>)): void {
    const p = typeof patch === 'function' ? patch(this.state) : patch;
    this.state = { ...this.state, ...p };
    if (!this.notifyScheduled) {
      this.notifyScheduled = true;
      queueMicrotask(() => {
        this.notifyScheduled = false;
        for (const l of [...this.listeners]) l();
      });
    }
  }

  private setRoom(room: RoomState, reorder = true): void {
    const rooms = { ...this.state.rooms, [room.id]: room };
    const prev = this.state.rooms[room.id];
    const needsSort = reorder && (!prev || prev.activity !== room.activity);
    this.set({ rooms, order: needsSort ? sortRooms(Object.values(rooms)).map((r) => r.id) : this.state.order });
  }

  private setTimeline(tl: Timeline): void {
    this.set((s) => ({ timelines: { ...s.timelines, [tl.room]: tl } }));
  }

  private setRoomUi(room: string, patch: Partial<RoomUi>): void {
    this.set((s) => ({
      roomUi: { ...s.roomUi, [room]: { ...(s.roomUi[room] ?? EMPTY_UI), ...patch } },
    }));
  }

  private toast(text: string): void {
    this.set({ notice: { id: ++this.noticeSeq, text } });
  }

  dismissNotice(): void {
    this.set({ notice: null });
  }

  get myId(): string | null {
    return this.state.me?.id ?? null;
  }

  // ---- session --------------------------------------------------------------

  /** On page load: resume the stored session, if any. */
  async boot(): Promise<void> {
    if (!this.deps.tokens.hasSession()) {
      this.set({ phase: 'signedOut' });
      return;
    }
    const session = this.session;
    for (let attempt = 0; ; attempt++) {
      try {
        const me = await this.deps.api.me();
        if (session !== this.session) return;
        this.beginSession(me);
        return;
      } catch (e) {
        if (session !== this.session) return;
        if (e instanceof SessionExpiredError || (e instanceof ApiError && e.status === 401)) {
          void this.deps.tokens.clear();
          this.set({ ...initialState('signedOut'), signedOutReason: null });
          return;
        }
        // Server unreachable: keep the session and try again shortly.
        this.set({ conn: { ...this.state.conn, status: 'reconnecting', attempt: attempt + 1 } });
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
      }
    }
  }

  async signIn(username: string, password: string): Promise<void> {
    const auth = await this.deps.api.login(username, password);
    await this.adopt(auth);
  }

  async signUp(username: string, password: string, displayName?: string): Promise<void> {
    const auth = await this.deps.api.register(username, password, displayName);
    await this.adopt(auth);
  }

  private async adopt(auth: AuthResponse): Promise<void> {
    await this.deps.tokens.setSession(auth);
    const me = auth.user ?? (await this.deps.api.me());
    this.beginSession(me);
  }

  private beginSession(me: User): void {
    this.session++;
    this.conn?.stop();
    this.state = { ...initialState('signedIn'), me };
    this.set({});
    const conn = this.deps.connect({
      getToken: () => this.deps.tokens.getAccessToken(),
      refreshToken: (rejected) => this.deps.tokens.refresh(rejected),
      resumeMap: () => this.resumeMap(),
      onFrame: (f) => this.handleFrame(f),
      onStatus: (status, info) => this.onConnStatus(status, info),
      onDisconnect: () => this.onDisconnect(),
      onSessionExpired: () => this.endSession('Your session has ended. Please sign in again.'),
    });
    this.conn = conn;
    // The list is fetched right away (so the sidebar and the resume map are
    // ready early) and again after every `ready`.
    void this.refreshRooms();
    conn.start();
  }

  /** Sign out here (and revoke the refresh token on the server). */
  async signOut(): Promise<void> {
    this.endSession(null);
    await this.deps.tokens.signOut();
  }

  /** The session ended elsewhere (another tab signed out, or it was revoked). */
  endSession(reason: string | null): void {
    this.session++;
    const conn = this.conn;
    this.conn = null;
    conn?.stop();
    this.clearAllTimers();
    this.resuming = false;
    this.readSent.clear();
    this.incomplete.clear();
    this.inflight.clear();
    this.state = { ...initialState('signedOut'), signedOutReason: reason };
    this.set({});
  }

  private clearAllTimers(): void {
    for (const m of [this.ackTimers, this.retryTimers, this.gapTimers, this.readTimers, this.typingRetry]) {
      for (const t of m.values()) clearTimeout(t);
      m.clear();
    }
    this.retryBackoff.clear();
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = null;
  }

  // ---- connection -------------------------------------------------------------

  /** Seq to resume each known room from: the timeline's contiguous end, or the summary's. */
  resumeMap(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const room of Object.values(this.state.rooms)) {
      if (room.placeholder) continue;
      const tl = this.state.timelines[room.id];
      out[room.id] = tl && tl.loaded ? tl.hi : room.last_seq;
    }
    return out;
  }

  private onConnStatus(status: ConnStatus, info: StatusInfo): void {
    this.set((s) => ({
      conn: {
        status,
        attempt: info.attempt,
        retryAt: info.retryAt,
        everOnline: s.conn.everOnline || status === 'online',
      },
    }));
  }

  private onDisconnect(): void {
    this.resuming = false;
    this.inflight.clear();
    for (const t of this.ackTimers.values()) clearTimeout(t);
    this.ackTimers.clear();
    // Typing indicators can not be trusted across a gap.
    if (Object.keys(this.state.typing).length > 0) this.set({ typing: {} });
  }

  /** Browser online/offline hints. */
  networkChanged(online: boolean): void {
    if (!this.conn) return;
    if (online) this.conn.reconnectNow();
    else this.conn.networkLost();
  }

  handleFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready':
        this.onReady(frame.user, frame.online);
        break;
      case 'message':
        this.onMessage(frame.message, !this.resuming);
        break;
      case 'ack':
        this.onAck(frame.client_id, frame.message);
        break;
      case 'resumed':
        this.onResumed(frame.incomplete ?? []);
        break;
      case 'room':
        this.onRoomEvent(frame.room);
        if (Array.isArray(frame.online)) this.markOnline(frame.online);
        break;
      case 'left':
        this.forgetRoom(frame.room);
        break;
      case 'typing':
        this.onTyping(frame.room, frame.user);
        break;
      case 'read':
        this.onRead(frame.room, userIdOf(frame.user), frame.seq);
        break;
      case 'presence':
        this.set((s) => ({ presence: { ...s.presence, [frame.user.id]: frame.status } }));
        break;
      case 'error':
        this.onError(frame.code, frame.message ?? '', frame.client_id);
        break;
      case 'pong':
        break;
    }
  }

  /** Presence hints that come with other frames (who is online among new co-members). */
  private markOnline(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.set((s) => {
      const presence = { ...s.presence };
      for (const id of ids) presence[String(id)] = 'online';
      return { presence };
    });
  }

  private onReady(user: User, online: readonly string[] | undefined): void {
    this.resuming = true;
    if (user && user.id) this.set({ me: { ...this.state.me, ...user } });
    if (Array.isArray(online)) {
      // A snapshot of who (sharing a room with me) is online right now.
      const presence: Record<string, 'online' | 'offline'> = {};
      for (const id of Object.keys(this.state.presence)) presence[id] = 'offline';
      for (const id of online) presence[String(id)] = 'online';
      this.set({ presence });
    }
    void this.refreshRooms();
    this.flushOutbox();
    this.flushReads();
  }

  private onResumed(incomplete: readonly string[]): void {
    this.resuming = false;
    for (const id of incomplete) {
      const tl = this.state.timelines[id];
      if (tl && tl.loaded) {
        this.incomplete.add(id);
        void this.fillGap(id);
      } else {
        void this.refreshRoom(id);
      }
    }
  }

  // ---- messages ---------------------------------------------------------------

  private ensureRoom(id: string): RoomState {
    const existing = this.state.rooms[id];
    if (existing) return existing;
    const ph = placeholderRoom(id, this.now());
    this.roomAddedAt.set(id, this.now());
    void this.refreshRoom(id);
    return ph;
  }

  private onMessage(msg: Message, live: boolean): void {
    const myId = this.myId;
    const room = this.ensureRoom(msg.room);
    const wasNew = msg.seq > room.last_seq;
    const next = applyMessageToRoom(room, msg, myId);
    if (next !== room || !this.state.rooms[room.id]) this.setRoom(next);
    const tl = this.state.timelines[msg.room];
    if (tl) {
      const merged = insertMessages(tl, [msg], myId);
      if (merged !== tl) this.setTimeline(merged);
      this.checkGap(msg.room);
      this.settle(msg.room);
    }
    if (msg.sender.id !== myId) {
      const list = this.state.typing[msg.room];
      if (list) {
        const rest = removeTyping(list, msg.sender.id);
        if (rest !== list) this.set((s) => ({ typing: { ...s.typing, [msg.room]: rest } }));
      }
      if (live && wasNew) this.deps.notify?.(msg, this.state.rooms[msg.room]);
    }
  }

  private onAck(clientId: string, msg: Message): void {
    this.clearSendTimers(clientId);
    const myId = this.myId;
    const room = this.ensureRoom(msg.room);
    const next = applyMessageToRoom(room, msg, myId);
    if (next !== room || !this.state.rooms[room.id]) this.setRoom(next);
    let tl = this.state.timelines[msg.room];
    if (tl) {
      tl = insertMessages(tl, [msg], myId);
      // The ack is authoritative for this client_id even if the echoed
      // message carried none.
      tl = removePending(tl, clientId);
      this.setTimeline(tl);
      this.checkGap(msg.room);
      this.settle(msg.room);
    }
  }

  private onError(code: string, text: string, clientId: string | undefined): void {
    if (clientId) {
      this.onSendError(clientId, code, text);
      return;
    }
    if (code === 'unauthorized') return; // the close (4401) that follows is handled
    if (code === 'rate_limited') {
      this.toast('Slow down a little — too many actions at once.');
      return;
    }
    if (text) this.toast(text);
  }

  private findPending(clientId: string): { tl: Timeline; p: PendingMessage } | null {
    for (const tl of Object.values(this.state.timelines)) {
      const p = tl.pending.find((x) => x.client_id === clientId);
      if (p) return { tl, p };
    }
    return null;
  }

  private onSendError(clientId: string, code: string, text: string): void {
    this.clearAckTimer(clientId);
    const found = this.findPending(clientId);
    if (!found) return;
    const { tl } = found;
    const room = tl.room;
    if (this.inflight.get(room) === clientId) this.inflight.delete(room);
    if (RETRYABLE.has(code)) {
      let b = this.retryBackoff.get(clientId);
      if (!b) {
        b = new Backoff({ baseMs: 1000, maxMs: 10_000 });
        this.retryBackoff.set(clientId, b);
      }
      if (b.attempts >= this.timing.maxSendRetries) {
        this.retryBackoff.delete(clientId);
        this.setTimeline(
          updatePending(tl, clientId, { status: 'failed', final: false, error: 'Not sent — server busy' }),
        );
        this.pump(room);
        return;
      }
      // The room's queue waits behind this message, so the order is kept.
      const delay = b.next();
      const old = this.retryTimers.get(clientId);
      if (old) clearTimeout(old);
      this.retryTimers.set(
        clientId,
        setTimeout(() => {
          this.retryTimers.delete(clientId);
          this.pump(room);
        }, delay),
      );
      return;
    }
    this.retryBackoff.delete(clientId);
    const reason =
      code === 'not_found'
        ? 'Not sent — you are no longer in this conversation'
        : code === 'invalid_input'
          ? `Not sent — ${text || 'invalid message'}`
          : `Not sent — ${text || code}`;
    this.setTimeline(updatePending(tl, clientId, { status: 'failed', final: true, error: reason }));
    this.pump(room);
  }

  private clearAckTimer(clientId: string): void {
    const t = this.ackTimers.get(clientId);
    if (t) clearTimeout(t);
    this.ackTimers.delete(clientId);
  }

  private clearSendTimers(clientId: string): void {
    this.clearAckTimer(clientId);
    const r = this.retryTimers.get(clientId);
    if (r) clearTimeout(r);
    this.retryTimers.delete(clientId);
    this.retryBackoff.delete(clientId);
  }

  /**
   * Send the room's next queued message. One send per room is in flight at a
   * time and a refused one is retried before anything after it, so messages
   * are stored in the order they were written even when some are refused
   * (rate_limited, unavailable) and retried.
   */
  private pump(roomId: string): void {
    if (this.inflight.has(roomId)) return;
    const conn = this.conn;
    const tl = this.state.timelines[roomId];
    if (!conn || !conn.isReady || !tl) return;
    const next = tl.pending.find((p) => p.status === 'sending');
    if (!next) return;
    if (this.retryTimers.has(next.client_id)) return; // waiting to retry: hold the queue
    const frame: ClientFrame = { type: 'send', room: roomId, body: next.body, client_id: next.client_id };
    if (!conn.send(frame)) return; // flushed again on the next `ready`
    this.inflight.set(roomId, next.client_id);
    this.setTimeline(updatePending(tl, next.client_id, { attempts: next.attempts + 1 }));
    const clientId = next.client_id;
    this.clearAckTimer(clientId);
    this.ackTimers.set(
      clientId,
      setTimeout(() => {
        this.ackTimers.delete(clientId);
        if (this.inflight.get(roomId) === clientId) this.inflight.delete(roomId);
        const again = this.findPending(clientId);
        if (again && again.p.status === 'sending') {
          this.setTimeline(
            updatePending(again.tl, clientId, { status: 'failed', final: false, error: 'Not confirmed yet' }),
          );
        }
        this.pump(roomId);
      }, this.timing.ackTimeoutMs),
    );
  }

  /** The in-flight message of a room left the outbox (acked or echoed): send the next. */
  private settle(roomId: string): void {
    const clientId = this.inflight.get(roomId);
    if (clientId === undefined) return;
    const tl = this.state.timelines[roomId];
    if (tl && tl.pending.some((p) => p.client_id === clientId)) return;
    this.clearSendTimers(clientId);
    this.inflight.delete(roomId);
    this.pump(roomId);
  }

  /** Re-send everything not finally rejected, with the same client_ids, in order. */
  private flushOutbox(): void {
    this.inflight.clear();
    for (const tl of Object.values(this.state.timelines)) {
      let cur = tl;
      for (const p of tl.pending) {
        if (!p.final && p.status !== 'sending') {
          cur = updatePending(cur, p.client_id, { status: 'sending', error: null });
        }
      }
      if (cur !== tl) this.setTimeline(cur);
      this.pump(tl.room);
    }
  }

  /** Send a message optimistically. Returns its client_id, or null if empty. */
  send(roomId: string, body: string): string | null {
    const text = body.replace(/^\s+|\s+$/g, '');
    if (text.length === 0) return null;
    const clientId = this.newId();
    const p: PendingMessage = {
      client_id: clientId,
      room: roomId,
      body: text,
      created_at: new Date(this.now()).toISOString(),
      status: 'sending',
      final: false,
      error: null,
      attempts: 0,
    };
    const tl = this.state.timelines[roomId] ?? emptyTimeline(roomId);
    this.setTimeline(addPending(tl, p));
    this.typingThrottle.reset(roomId);
    this.pump(roomId);
    return clientId;
  }

  /** The Retry button: the same client_id again, so the server dedups. */
  retry(clientId: string): void {
    const found = this.findPending(clientId);
    if (!found) return;
    this.clearSendTimers(clientId);
    this.setTimeline(updatePending(found.tl, clientId, { status: 'sending', final: false, error: null }));
    if (this.inflight.get(found.tl.room) === clientId) this.inflight.delete(found.tl.room);
    this.pump(found.tl.room);
  }

  /** Give up on a failed message. */
  discard(clientId: string): void {
    const found = this.findPending(clientId);
    if (!found) return;
    this.clearSendTimers(clientId);
    this.setTimeline(removePending(found.tl, clientId));
    this.settle(found.tl.room);
  }

  // ---- typing, reads, presence ----------------------------------------------

  /** The composer changed (non-empty): announce typing, throttled. */
  typing(roomId: string): void {
    if (!this.conn?.isReady) return;
    const { send, retryAt } = this.typingThrottle.decide(roomId, this.now());
    if (send) {
      this.stopTyping(roomId);
      this.conn.send({ type: 'typing', room: roomId });
    } else if (retryAt !== null && !this.typingRetry.has(roomId)) {
      this.typingRetry.set(
        roomId,
        setTimeout(() => {
          this.typingRetry.delete(roomId);
          this.typing(roomId);
        }, Math.max(0, retryAt - this.now())),
      );
    }
  }

  /** The composer was emptied: drop a scheduled typing announcement. */
  stopTyping(roomId: string): void {
    const t = this.typingRetry.get(roomId);
    if (t) clearTimeout(t);
    this.typingRetry.delete(roomId);
  }

  private onTyping(roomId: string, user: User): void {
    if (!user || user.id === this.myId) return;
    const now = this.now();
    const list = addTyping(this.state.typing[roomId] ?? [], user, now);
    this.set((s) => ({ typing: { ...s.typing, [roomId]: list } }));
    this.scheduleTypingPrune();
  }

  private scheduleTypingPrune(): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    let next = Infinity;
    for (const list of Object.values(this.state.typing)) {
      for (const e of list) next = Math.min(next, e.until);
    }
    if (next === Infinity) return;
    this.typingTimer = setTimeout(() => {
      this.typingTimer = null;
      const now = this.now();
      const typing: Record<string, readonly TypingEntry[]> = {};
      for (const [room, list] of Object.entries(this.state.typing)) {
        const live = activeTyping(list, now);
        if (live.length > 0) typing[room] = live;
      }
      this.set({ typing });
      this.scheduleTypingPrune();
    }, Math.max(0, next - this.now()) + 20);
  }

  /**
   * Messages up to `seq` have been seen. Only moves forward; frames are
   * throttled per room (the latest value wins).
   */
  markRead(roomId: string, seq: number): void {
    const room = this.state.rooms[roomId];
    if (!room || !Number.isInteger(seq) || seq < 1) return;
    if (seq <= (this.readSent.get(roomId) ?? 0)) return; // only forward
    if (seq <= room.readSeq) return; // the server already has this marker
    // Optimistic: the badge clears at once.
    const { room: next } = applyReadToRoom(room, seq, this.state.timelines[roomId], this.myId);
    if (next !== room) this.setRoom(next, false);
    this.readSent.set(roomId, seq);
    this.scheduleReadFlush(roomId);
  }

  private scheduleReadFlush(roomId: string): void {
    if (this.readTimers.has(roomId)) return;
    const last = this.readLastAt.get(roomId) ?? 0;
    const wait = Math.max(0, last + this.timing.readThrottleMs - this.now());
    this.readTimers.set(
      roomId,
      setTimeout(() => {
        this.readTimers.delete(roomId);
        this.sendRead(roomId);
      }, wait),
    );
  }

  private readFlushedSeq = new Map<string, number>();

  private sendRead(roomId: string): void {
    const seq = this.readSent.get(roomId);
    if (seq === undefined) return;
    if ((this.readFlushedSeq.get(roomId) ?? 0) >= seq) return;
    if (this.conn?.send({ type: 'read', room: roomId, seq })) {
      this.readFlushedSeq.set(roomId, seq);
      this.readLastAt.set(roomId, this.now());
    }
  }

  /** Send throttled read markers right away (the page is being hidden or closed). */
  flushPendingReads(): void {
    for (const [roomId, t] of this.readTimers) {
      clearTimeout(t);
      this.readTimers.delete(roomId);
      this.sendRead(roomId);
    }
  }

  private flushReads(): void {
    this.readFlushedSeq.clear();
    for (const roomId of this.readSent.keys()) this.sendRead(roomId);
  }

  private onRead(roomId: string, userId: string, seq: number): void {
    if (userId !== this.myId) return;
    const room = this.state.rooms[roomId];
    if (!room) return;
    const { room: next, needsRefresh } = applyReadToRoom(
      room,
      seq,
      this.state.timelines[roomId],
      this.myId,
    );
    if (next !== room) this.setRoom(next, false);
    if (needsRefresh) void this.refreshRoom(roomId);
  }

  // ---- rooms ------------------------------------------------------------------

  private onRoomEvent(room: Room): void {
    if (!room || !room.id) return;
    const local = this.state.rooms[room.id];
    if (!local || local.placeholder) {
      // Added to a room (or one was created with me in it).
      this.roomAddedAt.set(room.id, this.now());
      this.mergeRoom(room);
      return;
    }
    // A membership change broadcast to every member: its unread count is not
    // mine, so take only the room's details and keep my counters.
    this.setRoom({ ...local, kind: room.kind, name: room.name, members: room.members }, false);
    if (room.last_seq > local.last_seq) void this.refreshRoom(room.id);
  }

  private mergeRoom(server: Room): void {
    const merged = mergeServerRoom(this.state.rooms[server.id], server, this.now());
    this.setRoom(merged);
    if (this.state.timelines[server.id]) this.checkGap(server.id);
  }

  async refreshRooms(): Promise<void> {
    const session = this.session;
    const startedAt = this.now();
    let list: Room[];
    try {
      list = await this.deps.api.listRooms();
    } catch (e) {
      if (session !== this.session) return;
      if (!(e instanceof SessionExpiredError)) this.toast(`Could not load conversations: ${errorText(e)}`);
      return;
    }
    if (session !== this.session) return;
    const rooms: Record<string, RoomState> = {};
    const now = this.now();
    for (const r of list) rooms[r.id] = mergeServerRoom(this.state.rooms[r.id], r, now);
    // Keep rooms announced after the request started (not in this snapshot).
    for (const [id, r] of Object.entries(this.state.rooms)) {
      if (!rooms[id] && (this.roomAddedAt.get(id) ?? 0) >= startedAt) rooms[id] = r;
    }
    const timelines = { ...this.state.timelines };
    for (const id of Object.keys(timelines)) {
      if (!rooms[id] && !(timelines[id]!.pending.length > 0 && this.state.rooms[id])) delete timelines[id];
    }
    const activeRoom =
      this.state.activeRoom && !rooms[this.state.activeRoom] ? null : this.state.activeRoom;
    this.set({
      rooms,
      order: sortRooms(Object.values(rooms)).map((r) => r.id),
      roomsLoaded: true,
      timelines,
      activeRoom,
    });
    for (const id of Object.keys(timelines)) this.checkGap(id);
  }

  refreshRoom(id: string): Promise<void> {
    const existing = this.roomFetches.get(id);
    if (existing) return existing;
    const session = this.session;
    const p = (async () => {
      try {
        const room = await this.deps.api.getRoom(id);
        if (session !== this.session) return;
        this.mergeRoom(room);
      } catch (e) {
        if (session !== this.session) return;
        if (e instanceof ApiError && e.status === 404) this.forgetRoom(id);
      } finally {
        this.roomFetches.delete(id);
      }
    })();
    this.roomFetches.set(id, p);
    return p;
  }

  private forgetRoom(id: string): void {
    const rooms = { ...this.state.rooms };
    const timelines = { ...this.state.timelines };
    const typing = { ...this.state.typing };
    delete rooms[id];
    delete timelines[id];
    delete typing[id];
    this.readSent.delete(id);
    this.incomplete.delete(id);
    this.set((s) => ({
      rooms,
      timelines,
      typing,
      order: s.order.filter((x) => x !== id),
      activeRoom: s.activeRoom === id ? null : s.activeRoom,
    }));
  }

  async createDirect(username: string): Promise<string> {
    const room = await this.deps.api.createDirect(username);
    this.roomAddedAt.set(room.id, this.now());
    this.mergeRoom(room);
    return room.id;
  }

  async createGroup(name: string, usernames: string[]): Promise<string> {
    const room = await this.deps.api.createGroup(name, usernames);
    this.roomAddedAt.set(room.id, this.now());
    this.mergeRoom(room);
    return room.id;
  }

  async addMember(roomId: string, username: string): Promise<void> {
    const res = await this.deps.api.addMember(roomId, username);
    if (res && typeof res === 'object' && 'id' in res && 'members' in res) this.mergeRoom(res);
    else await this.refreshRoom(roomId);
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.deps.api.leaveRoom(roomId);
    this.forgetRoom(roomId);
  }

  async searchUsers(prefix: string): Promise<User[]> {
    const users = await this.deps.api.searchUsers(prefix);
    return users.filter((u) => u.id !== this.myId);
  }

  // ---- timelines ----------------------------------------------------------------

  /** The user opened a room: load it if needed and freeze its unread marker. */
  openRoom(id: string | null): void {
    const prev = this.state.activeRoom;
    if (prev && prev !== id) this.setRoomUi(prev, { unreadFrom: null });
    this.set({ activeRoom: id });
    if (!id) return;
    const tl = this.state.timelines[id];
    if (!tl || (!tl.loaded && !this.state.roomUi[id]?.loadingLatest)) {
      if (!tl) this.setTimeline(emptyTimeline(id));
      void this.loadLatest(id);
    } else if (tl.loaded) {
      void this.computeUnreadMarker(id);
    }
  }

  async loadLatest(id: string): Promise<void> {
    const session = this.session;
    this.setRoomUi(id, { loadingLatest: true, error: null });
    try {
      const page = await this.deps.api.history(id, { limit: this.timing.pageSize });
      if (session !== this.session) return;
      const tl = this.state.timelines[id] ?? emptyTimeline(id);
      this.setTimeline(applyLatestPage(tl, page, this.myId));
      this.settle(id);
      this.setRoomUi(id, { loadingLatest: false });
      this.checkGap(id);
      if (this.state.activeRoom === id) await this.computeUnreadMarker(id);
    } catch (e) {
      if (session !== this.session) return;
      if (e instanceof ApiError && e.status === 404) {
        this.forgetRoom(id);
        return;
      }
      this.setRoomUi(id, { loadingLatest: false, error: errorText(e) });
    }
  }

  private async computeUnreadMarker(id: string): Promise<void> {
    const room = this.state.rooms[id];
    if (!room || room.unread <= 0) {
      this.setRoomUi(id, { unreadFrom: null });
      return;
    }
    const unread = room.unread;
    for (let i = 0; i < 4; i++) {
      const tl = this.state.timelines[id];
      if (!tl) return;
      const first = firstUnreadSeq(tl.messages, unread, this.myId);
      if (!first) break;
      if (first.exact || !tl.hasOlder) {
        this.setRoomUi(id, { unreadFrom: first.seq });
        return;
      }
      const before = this.state.timelines[id];
      await this.loadOlder(id);
      if (this.state.timelines[id] === before) break;
    }
    const tl = this.state.timelines[id];
    const first = tl ? firstUnreadSeq(tl.messages, unread, this.myId) : null;
    this.setRoomUi(id, { unreadFrom: first ? first.seq : null });
  }

  async loadOlder(id: string): Promise<void> {
    const tl = this.state.timelines[id];
    const ui = this.state.roomUi[id];
    if (!tl || !tl.loaded || !tl.hasOlder || ui?.loadingOlder) return;
    const session = this.session;
    this.setRoomUi(id, { loadingOlder: true });
    try {
      const page = await this.deps.api.history(id, { before: lowSeq(tl), limit: this.timing.pageSize });
      if (session !== this.session) return;
      const cur = this.state.timelines[id];
      if (cur) this.setTimeline(applyOlderPage(cur, page, this.myId));
      this.settle(id);
      this.setRoomUi(id, { loadingOlder: false });
    } catch (e) {
      if (session !== this.session) return;
      this.setRoomUi(id, { loadingOlder: false, error: errorText(e) });
    }
  }

  private checkGap(id: string): void {
    const tl = this.state.timelines[id];
    const room = this.state.rooms[id];
    if (!tl) return;
    if (gapCursor(tl, room?.last_seq ?? 0) === null && !this.incomplete.has(id)) return;
    if (this.gapTimers.has(id) || this.gapRunning.has(id)) {
      if (this.gapRunning.has(id)) this.gapAgain.add(id);
      return;
    }
    // A short grace period: an ack can overtake the message events before
    // it, which closes the "gap" by itself.
    this.gapTimers.set(
      id,
      setTimeout(() => {
        this.gapTimers.delete(id);
        void this.fillGap(id);
      }, this.timing.gapGraceMs),
    );
  }

  /** Page forward with `after=` until the window reaches everything known. */
  async fillGap(id: string): Promise<void> {
    if (this.gapRunning.has(id)) {
      this.gapAgain.add(id);
      return;
    }
    const session = this.session;
    this.gapRunning.add(id);
    try {
      for (let pages = 0; pages < 200; pages++) {
        const tl = this.state.timelines[id];
        const room = this.state.rooms[id];
        if (!tl || !tl.loaded) break;
        const forced = this.incomplete.has(id);
        const cursor = forced ? tl.hi : gapCursor(tl, room?.last_seq ?? 0);
        if (cursor === null) break;
        const page = await this.deps.api.history(id, { after: cursor, limit: this.timing.gapPageSize });
        if (session !== this.session) return;
        const cur = this.state.timelines[id];
        if (!cur) break;
        const next = applyNewerPage(cur, page, this.myId);
        this.setTimeline(next);
        this.settle(id);
        const r = this.state.rooms[id];
        if (r) {
          let updated = r;
          for (const m of page.messages) updated = applyMessageToRoom(updated, m, this.myId);
          if (updated !== r) this.setRoom(updated);
        }
        if (!page.has_more) this.incomplete.delete(id);
        if (next.hi === cur.hi && page.messages.length === 0) break; // no progress
        if (!page.has_more && gapCursor(next, this.state.rooms[id]?.last_seq ?? 0) === null) break;
      }
    } catch {
      // Leave the gap; the next event or reconnect tries again.
    } finally {
      this.gapRunning.delete(id);
      if (this.gapAgain.delete(id) && session === this.session) this.checkGap(id);
    }
  }
}
