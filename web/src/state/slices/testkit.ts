// The harness of the slices' tests: the real store and session, with a fake
// server behind the API and the socket, and fake timers.
import { afterEach, beforeEach, vi } from 'vitest';
import type { ApiClient, HistoryQuery } from '../api';
import { ApiError } from '../api';
import { ChatStore } from '../store';
import { MemoryStorage, TokenManager } from '../tokens';
import type { ClientFrame, Message, Room, ServerEvent, Settings } from '../types';
import { ana, msg, room } from '../testutil';
import type { ConnectionLike, ConnectOptions } from './session';

/** History and rooms as a server would hold them. */
export class FakeApi {
  messages = new Map<string, Message[]>();
  rooms = new Map<string, Room>();
  historyCalls: { room: string; q: HistoryQuery }[] = [];
  listCalls = 0;
  /** Answers to hold back: resolve them by hand to model a slow server. */
  holdHistory = false;
  held: (() => void)[] = [];

  put(roomId: string, list: Message[]) {
    this.messages.set(
      roomId,
      list.map((m) => ({ ...m, room: roomId })),
    );
  }

  async listRooms(): Promise<Room[]> {
    this.listCalls++;
    return [...this.rooms.values()];
  }
  async getRoom(id: string): Promise<Room> {
    const r = this.rooms.get(id);
    if (!r) throw new ApiError(404, 'not_found', 'not found');
    return r;
  }
  async me() {
    return ana;
  }
  async login(username: string) {
    const user = username === 'ana' ? ana : { id: `id-${username}`, username, display_name: username };
    return { user, access_token: 'at', expires_in: 900 };
  }
  async history(roomId: string, q: HistoryQuery = {}) {
    this.historyCalls.push({ room: roomId, q });
    if (this.holdHistory) await new Promise<void>((resolve) => this.held.push(resolve));
    const all = this.messages.get(roomId) ?? [];
    const limit = q.limit ?? 50;
    if (q.after !== undefined) {
      const rest = all.filter((m) => m.seq > q.after!);
      return { messages: rest.slice(0, limit), has_more: rest.length > limit };
    }
    const upto = q.before !== undefined ? all.filter((m) => m.seq < q.before!) : all;
    return { messages: upto.slice(-limit), has_more: upto.length > limit };
  }
  async entries(roomId: string, after: number, limit: number) {
    this.historyCalls.push({ room: roomId, q: { after, limit } });
    if (this.holdHistory) await new Promise<void>((resolve) => this.held.push(resolve));
    const all = this.messages.get(roomId) ?? [];
    const rest = all.filter((m) => m.seq > after);
    return { entries: rest.slice(0, limit).map((message) => ({ message })), last_seq: all.at(-1)?.seq ?? 0 };
  }
  async leaveRoom() {}
  async hideRoom() {}
  async updateRoom(id: string, change: Partial<Room>): Promise<Room> {
    const r = { ...(await this.getRoom(id)), ...change };
    this.rooms.set(id, r);
    return r;
  }
  savedSettings: Settings | null = null;
  async settings(): Promise<Settings> {
    return this.savedSettings ?? { theme: 'system', hour_cycle: 'auto' };
  }
  async saveSettings(settings: Settings) {
    this.savedSettings = settings;
    return settings;
  }
  async updateMe(display_name: string) {
    return { ...ana, display_name };
  }
  profileCalls: string[] = [];
  async profile(id: string) {
    this.profileCalls.push(id);
    return { user: { id, username: id, display_name: id }, online: false, last_seen: '2026-12-02T10:00:00.000Z' };
  }
}

export class FakeConn implements ConnectionLike {
  sent: ClientFrame[] = [];
  ready = false;
  started = 0;
  stopped = false;
  constructor(readonly opts: ConnectOptions) {}
  get isReady() {
    return this.ready;
  }
  start() {
    this.started++;
  }
  stop() {
    this.ready = false;
    this.stopped = true;
  }
  send(frame: ClientFrame) {
    if (!this.ready) return false;
    this.sent.push(frame);
    return true;
  }
  reconnectNow() {}
  networkLost() {}
  // test helpers
  serverSends(event: ServerEvent) {
    this.opts.onFrame(event);
  }
  connectReady() {
    this.ready = true;
    this.opts.onStatus?.('online', { attempt: 0, retryAt: null, lastCloseCode: null });
    this.serverSends({ type: 'ready', user: ana, online: [] });
  }
  drop() {
    this.ready = false;
    this.opts.onDisconnect?.();
    this.opts.onStatus?.('reconnecting', { attempt: 1, retryAt: null, lastCloseCode: 1012 });
  }
  sends(type: ClientFrame['type']) {
    return this.sent.filter((f) => f.type === type);
  }
}

export function newTokens() {
  return new TokenManager({
    storage: new MemoryStorage(),
    refreshRequest: async () => ({ kind: 'unauthorized' }),
    logoutRequest: async () => {},
  });
}

/** A store signed in as Ana with the socket ready; `conns` holds every socket it made. */
export async function setup(opts: { rooms?: Room[]; history?: Record<string, Message[]> } = {}) {
  const api = new FakeApi();
  for (const r of opts.rooms ?? []) api.rooms.set(r.id, r);
  for (const [id, list] of Object.entries(opts.history ?? {})) api.put(id, list);
  const conns: FakeConn[] = [];
  const notified: Message[] = [];
  let ids = 0;
  const store = new ChatStore({
    api: api as unknown as ApiClient,
    tokens: newTokens(),
    connect: (o) => {
      const conn = new FakeConn(o);
      conns.push(conn);
      return conn;
    },
    newId: () => `c${++ids}`,
    notify: (m) => notified.push(m),
    timing: { ackTimeoutMs: 5000, gapGraceMs: 100, readThrottleMs: 500, pageSize: 50, gapPageSize: 100 },
  });
  await store.signIn('ana', 'password123');
  const conn = conns[0]!;
  conn.connectReady();
  await vi.advanceTimersByTimeAsync(0);
  return { store, chat: store.session!, api, conn, conns, notified, s: () => store.getState() };
}

export type Harness = Awaited<ReturnType<typeof setup>>;

/** Fake timers at a fixed date for every test of the file that calls it. */
export function withFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date(Date.UTC(2024, 4, 2, 12)));
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

export const r1 = room('r1', { last_seq: 5, unread: 0, last_message: msg(5) });
