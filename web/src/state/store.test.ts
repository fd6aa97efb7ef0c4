import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiClient, HistoryQuery } from './api';
import { ApiError } from './api';
import type { ConnectionOptions } from './connection';
import { ChatStore, type ConnectionLike } from './store';
import { MemoryStorage, TokenManager } from './tokens';
import type { ClientFrame, Message, Room, ServerFrame } from './types';
import { ana, ben, msg, range, room, seqs } from './testutil';

/** History and rooms as a server would hold them. */
class FakeApi {
  messages = new Map<string, Message[]>();
  rooms = new Map<string, Room>();
  historyCalls: { room: string; q: HistoryQuery }[] = [];
  listCalls = 0;

  put(roomId: string, list: Message[]) {
    this.messages.set(roomId, list.map((m) => ({ ...m, room: roomId })));
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
  async login() {
    return { user: ana, access_token: 'at', expires_in: 900 };
  }
  async history(roomId: string, q: HistoryQuery = {}) {
    this.historyCalls.push({ room: roomId, q });
    const all = this.messages.get(roomId) ?? [];
    const limit = q.limit ?? 50;
    if (q.after !== undefined) {
      const rest = all.filter((m) => m.seq > q.after!);
      return { messages: rest.slice(0, limit), has_more: rest.length > limit };
    }
    const upto = q.before !== undefined ? all.filter((m) => m.seq < q.before!) : all;
    return { messages: upto.slice(-limit), has_more: upto.length > limit };
  }
  async leaveRoom() {}
}

class FakeConn implements ConnectionLike {
  sent: ClientFrame[] = [];
  ready = false;
  started = 0;
  constructor(readonly opts: Parameters<ConstructorParameters<typeof ChatStore>[0]['connect']>[0]) {}
  get isReady() {
    return this.ready;
  }
  start() {
    this.started++;
  }
  stop() {
    this.ready = false;
  }
  send(frame: ClientFrame) {
    if (!this.ready) return false;
    this.sent.push(frame);
    return true;
  }
  reconnectNow() {}
  networkLost() {}
  // test helpers
  serverSends(frame: ServerFrame) {
    this.opts.onFrame(frame);
  }
  connectReady() {
    this.ready = true;
    this.opts.onStatus?.('online', { attempt: 0, retryAt: null, lastCloseCode: null });
    this.serverSends({ type: 'ready', user: ana });
  }
  drop() {
    this.ready = false;
    this.opts.onDisconnect?.();
    this.opts.onStatus?.('reconnecting', { attempt: 1, retryAt: null, lastCloseCode: 1012 });
  }
  sends(type: string) {
    return this.sent.filter((f) => f.type === type);
  }
}

async function setup(opts: { rooms?: Room[]; history?: Record<string, Message[]> } = {}) {
  const api = new FakeApi();
  for (const r of opts.rooms ?? []) api.rooms.set(r.id, r);
  for (const [id, list] of Object.entries(opts.history ?? {})) api.put(id, list);
  const storage = new MemoryStorage();
  const tokens = new TokenManager({
    storage,
    refreshRequest: async () => ({ kind: 'unauthorized' }),
    logoutRequest: async () => {},
  });
  let conn: FakeConn | null = null;
  const notified: Message[] = [];
  let ids = 0;
  const store = new ChatStore({
    api: api as unknown as ApiClient,
    tokens,
    connect: (o: Pick<ConnectionOptions, 'onFrame'> & Parameters<ConstructorParameters<typeof ChatStore>[0]['connect']>[0]) => {
      conn = new FakeConn(o);
      return conn;
    },
    newId: () => `c${++ids}`,
    notify: (m) => notified.push(m),
    timing: { ackTimeoutMs: 5000, gapGraceMs: 100, readThrottleMs: 500, pageSize: 50, gapPageSize: 100 },
  });
  await store.signIn('ana', 'password123');
  const c = conn as unknown as FakeConn;
  c.connectReady();
  await vi.advanceTimersByTimeAsync(0);
  return { store, api, conn: c, notified, tokens, storage, s: () => store.getState() };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(Date.UTC(2024, 4, 2, 12)));
});
afterEach(() => {
  vi.useRealTimers();
});

const r1 = room('r1', { last_seq: 5, unread: 0, last_message: msg(5) });

describe('ChatStore: session and rooms', () => {
  it('boots signed out without a stored session', async () => {
    const store = new ChatStore({
      api: new FakeApi() as unknown as ApiClient,
      tokens: new TokenManager({
        storage: new MemoryStorage(),
        refreshRequest: async () => ({ kind: 'unauthorized' }),
        logoutRequest: async () => {},
      }),
      connect: () => new FakeConn({} as never),
    });
    await store.boot();
    expect(store.getState().phase).toBe('signedOut');
  });

  it('signs in, connects, and loads the room list after ready', async () => {
    const t = await setup({ rooms: [r1, room('r2', { last_seq: 2, last_message: msg(9) })] });
    expect(t.s().phase).toBe('signedIn');
    expect(t.s().me).toEqual(ana);
    expect(t.conn.started).toBe(1);
    expect(t.api.listCalls).toBe(2); // at sign-in and after ready
    expect(t.s().order).toEqual(['r2', 'r1']); // newest activity first
    expect(t.s().conn.status).toBe('online');
  });

  it('refreshes the room list on every reconnect', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.drop();
    t.conn.connectReady();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.api.listCalls).toBe(3);
  });

  it('adds a room announced by a room event and sorts it first', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'room', room: room('r9', { name: 'New', last_seq: 0 }) });
    expect(t.s().order[0]).toBe('r9');
    expect(t.s().rooms.r9?.name).toBe('New');
  });

  it('learns about an unknown room from a message and fetches it', async () => {
    const t = await setup({ rooms: [r1] });
    t.api.rooms.set('r7', room('r7', { name: 'Surprise', last_seq: 1, unread: 1 }));
    t.conn.serverSends({ type: 'message', message: { ...msg(1), room: 'r7' } });
    expect(t.s().rooms.r7?.placeholder).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.s().rooms.r7).toMatchObject({ placeholder: false, name: 'Surprise', unread: 1 });
  });

  it('returns to sign-in with a reason when the session expires', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.opts.onSessionExpired?.();
    expect(t.s().phase).toBe('signedOut');
    expect(t.s().signedOutReason).toMatch(/session/i);
    expect(t.s().rooms).toEqual({});
  });

  it('leaving a room removes it', async () => {
    const t = await setup({ rooms: [r1] });
    t.store.openRoom('r1');
    await t.store.leaveRoom('r1');
    expect(t.s().rooms.r1).toBeUndefined();
    expect(t.s().activeRoom).toBeNull();
  });
});

describe('ChatStore: sending', () => {
  async function opened() {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    return t;
  }

  it('shows a pending message at once and confirms it on ack, then ignores the echo', async () => {
    const t = await opened();
    const id = t.store.send('r1', '  hello  ')!;
    expect(t.s().timelines.r1!.pending).toMatchObject([{ client_id: id, body: 'hello', status: 'sending' }]);
    expect(t.conn.sends('send')).toEqual([{ type: 'send', room: 'r1', body: 'hello', client_id: id }]);
    const stored = msg(6, ana, { client_id: id, body: 'hello' });
    t.conn.serverSends({ type: 'ack', client_id: id, message: stored });
    t.conn.serverSends({ type: 'message', message: stored });
    const tl = t.s().timelines.r1!;
    expect(tl.pending).toEqual([]);
    expect(seqs(tl.messages)).toEqual(range(1, 6));
    expect(t.notified).toEqual([]); // no notification for my own message
  });

  it('handles the message event arriving before the ack', async () => {
    const t = await opened();
    const id = t.store.send('r1', 'hi')!;
    const stored = msg(6, ana, { client_id: id });
    t.conn.serverSends({ type: 'message', message: stored });
    expect(t.s().timelines.r1!.pending).toEqual([]);
    t.conn.serverSends({ type: 'ack', client_id: id, message: stored });
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 6));
  });

  it('ignores empty messages', async () => {
    const t = await opened();
    expect(t.store.send('r1', ' \n\t ')).toBeNull();
    expect(t.conn.sends('send')).toEqual([]);
  });

  it('queues while disconnected and sends with the same client_id after reconnect', async () => {
    const t = await opened();
    t.conn.drop();
    const id = t.store.send('r1', 'offline hello')!;
    expect(t.conn.sends('send')).toEqual([]);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('sending');
    t.conn.connectReady();
    expect(t.conn.sends('send')).toEqual([{ type: 'send', room: 'r1', body: 'offline hello', client_id: id }]);
  });

  it('re-sends an unacknowledged message after a reconnect, once per connection', async () => {
    const t = await opened();
    const id = t.store.send('r1', 'lost ack')!;
    t.conn.drop(); // server restarted before the ack
    t.conn.connectReady();
    const sends = t.conn.sends('send');
    expect(sends.map((f) => (f as { client_id: string }).client_id)).toEqual([id, id]);
    // The server dedups: the ack carries the original message.
    const original = msg(6, ana, { client_id: id, body: 'lost ack' });
    t.conn.serverSends({ type: 'ack', client_id: id, message: original });
    t.conn.serverSends({ type: 'message', message: original });
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 6));
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('a re-send racing the replayed copy of the same message yields it once', async () => {
    const t = await opened();
    const id = t.store.send('r1', 'x')!;
    t.conn.drop();
    t.conn.connectReady(); // flushes the outbox (same client_id)
    const copy = msg(6, ana, { client_id: id, body: 'x' });
    t.conn.serverSends({ type: 'message', message: copy }); // replay
    t.conn.serverSends({ type: 'resumed', incomplete: [] });
    t.conn.serverSends({ type: 'ack', client_id: id, message: copy }); // ack of the dedup'd re-send
    expect(t.s().timelines.r1!.messages.filter((m) => m.client_id === id)).toHaveLength(1);
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('retries rate_limited sends later with the same client_id', async () => {
    const t = await opened();
    const id = t.store.send('r1', 'fast')!;
    t.conn.serverSends({ type: 'error', code: 'rate_limited', client_id: id });
    expect(t.conn.sends('send')).toHaveLength(1);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('sending');
    await vi.advanceTimersByTimeAsync(1000);
    const sends = t.conn.sends('send') as { client_id: string }[];
    expect(sends).toHaveLength(2);
    expect(sends[1]!.client_id).toBe(id);
  });

  it('gives up on repeated unavailable errors and offers a retry', async () => {
    const t = await opened();
    const id = t.store.send('r1', 'busy')!;
    for (let i = 0; i < 7; i++) {
      t.conn.serverSends({ type: 'error', code: 'unavailable', client_id: id });
      await vi.advanceTimersByTimeAsync(10_000);
    }
    expect(t.s().timelines.r1!.pending[0]).toMatchObject({ status: 'failed', final: false });
  });

  it('marks invalid_input as failed; Retry re-sends the same client_id', async () => {
    const t = await opened();
    const id = t.store.send('r1', 'bad')!;
    t.conn.serverSends({ type: 'error', code: 'invalid_input', message: 'body too long', client_id: id });
    expect(t.s().timelines.r1!.pending[0]).toMatchObject({ status: 'failed', final: true });
    expect(t.s().timelines.r1!.pending[0]?.error).toMatch(/body too long/);
    // A final failure is not re-sent on reconnect...
    t.conn.drop();
    t.conn.connectReady();
    expect(t.conn.sends('send')).toHaveLength(1);
    // ...only when the user asks.
    t.store.retry(id);
    const sends = t.conn.sends('send') as { client_id: string }[];
    expect(sends.map((f) => f.client_id)).toEqual([id, id]);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('sending');
    t.store.discard(id);
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('marks a message failed when no ack comes in time, and confirms it if one arrives later', async () => {
    const t = await opened();
    const id = t.store.send('r1', 'slow')!;
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.s().timelines.r1!.pending[0]).toMatchObject({ status: 'failed', final: false });
    t.conn.serverSends({ type: 'ack', client_id: id, message: msg(6, ana, { client_id: id }) });
    expect(t.s().timelines.r1!.pending).toEqual([]);
    expect(t.s().timelines.r1!.hi).toBe(6);
  });
});

describe('ChatStore: resume and gaps', () => {
  it('resumes loaded rooms from their contiguous end and others from the summary', async () => {
    const t = await setup({
      rooms: [r1, room('r2', { last_seq: 40 })],
      history: { r1: range(1, 5).map((s) => msg(s)) },
    });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.conn.serverSends({ type: 'message', message: msg(9) }); // gap 6..8
    expect(t.conn.opts.resumeMap()).toEqual({ r1: 5, r2: 40 });
  });

  it('fills a gap in live messages from history with after=', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.api.put('r1', range(1, 9).map((s) => msg(s)));
    t.conn.serverSends({ type: 'message', message: msg(9) });
    expect(t.s().timelines.r1!.hi).toBe(5);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.api.historyCalls.at(-1)).toEqual({ room: 'r1', q: { after: 5, limit: 100 } });
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 9));
  });

  it('does not fetch when the gap closes by itself within the grace period', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    const before = t.api.historyCalls.length;
    t.conn.serverSends({ type: 'ack', client_id: 'zz', message: msg(7, ana, { client_id: 'zz' }) });
    t.conn.serverSends({ type: 'message', message: msg(6) });
    t.conn.serverSends({ type: 'message', message: msg(7, ana, { client_id: 'zz' }) });
    await vi.advanceTimersByTimeAsync(500);
    expect(t.api.historyCalls.length).toBe(before);
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 7));
  });

  it('pages an incomplete resume with after= until has_more is false', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.conn.drop();
    t.api.put('r1', range(1, 1000).map((s) => msg(s)));
    t.conn.connectReady();
    for (const s of range(6, 505)) t.conn.serverSends({ type: 'message', message: msg(s) });
    t.conn.serverSends({ type: 'resumed', incomplete: ['r1'] });
    await vi.advanceTimersByTimeAsync(0);
    const after = t.api.historyCalls.filter((c) => c.q.after !== undefined).map((c) => c.q.after);
    expect(after).toEqual([505, 605, 705, 805, 905]);
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 1000));
    expect(t.s().rooms.r1!.last_seq).toBe(1000);
  });

  it('counts replayed messages once in the sidebar and notifies only live ones', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.drop();
    t.conn.connectReady();
    t.conn.serverSends({ type: 'message', message: msg(6) });
    t.conn.serverSends({ type: 'message', message: msg(6) });
    t.conn.serverSends({ type: 'resumed', incomplete: [] });
    t.conn.serverSends({ type: 'message', message: msg(7) });
    expect(t.s().rooms.r1).toMatchObject({ last_seq: 7, unread: 2 });
    expect(t.notified.map((m) => m.seq)).toEqual([7]);
  });
});

describe('ChatStore: reads, typing, presence', () => {
  it('sends read markers forward only, throttled, and clears the badge at once', async () => {
    const t = await setup({
      rooms: [room('r1', { last_seq: 8, unread: 3, last_message: msg(8) })],
      history: { r1: range(1, 8).map((s) => msg(s)) },
    });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    expect(t.s().roomUi.r1?.unreadFrom).toBe(6);
    t.store.markRead('r1', 6);
    t.store.markRead('r1', 7);
    t.store.markRead('r1', 5); // backwards: ignored
    expect(t.s().rooms.r1!.unread).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.conn.sends('read')).toEqual([{ type: 'read', room: 'r1', seq: 7 }]);
    t.store.markRead('r1', 8);
    expect(t.s().rooms.r1!.unread).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.conn.sends('read')).toHaveLength(1); // throttled
    await vi.advanceTimersByTimeAsync(500);
    expect(t.conn.sends('read')).toEqual([
      { type: 'read', room: 'r1', seq: 7 },
      { type: 'read', room: 'r1', seq: 8 },
    ]);
    t.store.markRead('r1', 8);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.conn.sends('read')).toHaveLength(2);
  });

  it('applies my read marker from another tab', async () => {
    const t = await setup({ rooms: [room('r1', { last_seq: 8, unread: 3 })] });
    t.conn.serverSends({ type: 'read', room: 'r1', user: ana, seq: 8 });
    expect(t.s().rooms.r1!.unread).toBe(0);
    t.conn.serverSends({ type: 'read', room: 'r1', user: ben, seq: 8 });
    expect(t.s().rooms.r1!.unread).toBe(0);
  });

  it('shows typing for ~5 s, and stops when that person’s message arrives', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'typing', room: 'r1', user: ben });
    t.conn.serverSends({ type: 'typing', room: 'r1', user: ana }); // myself: ignored
    expect(t.s().typing.r1?.map((e) => e.user.id)).toEqual(['u2']);
    await vi.advanceTimersByTimeAsync(5100);
    expect(t.s().typing.r1 ?? []).toEqual([]);
    t.conn.serverSends({ type: 'typing', room: 'r1', user: ben });
    t.conn.serverSends({ type: 'message', message: msg(6) });
    expect(t.s().typing.r1).toEqual([]);
  });

  it('throttles my typing frames', async () => {
    const t = await setup({ rooms: [r1] });
    t.store.typing('r1');
    t.store.typing('r1');
    await vi.advanceTimersByTimeAsync(2000);
    t.store.typing('r1');
    expect(t.conn.sends('typing')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    t.store.typing('r1');
    expect(t.conn.sends('typing')).toHaveLength(2);
  });

  it('tracks presence', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'presence', user: ben, status: 'online' });
    expect(t.s().presence.u2).toBe('online');
    t.conn.serverSends({ type: 'presence', user: ben, status: 'offline' });
    expect(t.s().presence.u2).toBe('offline');
  });
});

describe('ChatStore: server extras', () => {
  it('takes the presence snapshot from ready', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'presence', user: { ...ben, id: 'u9' }, status: 'online' });
    t.conn.serverSends({ type: 'ready', user: ana, online: ['u2'] });
    expect(t.s().presence).toEqual({ u2: 'online', u9: 'offline' });
  });

  it('a membership broadcast updates members but keeps my counters', async () => {
    const t = await setup({ rooms: [room('r1', { last_seq: 5, unread: 2 })] });
    t.conn.serverSends({
      type: 'room',
      room: room('r1', { last_seq: 5, unread: 0, members: [ana, ben, { ...ben, id: 'u3', username: 'cy' }] }),
    });
    expect(t.s().rooms.r1!.members).toHaveLength(3);
    expect(t.s().rooms.r1!.unread).toBe(2);
  });

  it('forgets a room on a left event', async () => {
    const t = await setup({ rooms: [r1] });
    t.store.openRoom('r1');
    t.conn.serverSends({ type: 'left', room: 'r1' });
    expect(t.s().rooms.r1).toBeUndefined();
    expect(t.s().order).toEqual([]);
    expect(t.s().activeRoom).toBeNull();
  });
});

describe('ChatStore: typing after a send', () => {
  it('re-announces typing once the server would accept it', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.store.typing('r1');
    t.store.send('r1', 'hello');
    await vi.advanceTimersByTimeAsync(500);
    t.store.typing('r1'); // next message started right away
    expect(t.conn.sends('typing')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1700);
    expect(t.conn.sends('typing')).toHaveLength(2);
  });

  it('does not announce when the composer was emptied meanwhile', async () => {
    const t = await setup({ rooms: [r1] });
    t.store.typing('r1');
    t.store.send('r1', 'x');
    t.store.typing('r1');
    t.store.stopTyping('r1');
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.conn.sends('typing')).toHaveLength(1);
  });
});

describe('ChatStore: read markers on page hide', () => {
  it('flushes a throttled read marker at once', async () => {
    const t = await setup({
      rooms: [room('r1', { last_seq: 8, unread: 3, last_message: msg(8) })],
      history: { r1: range(1, 8).map((s) => msg(s)) },
    });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.store.markRead('r1', 6);
    await vi.advanceTimersByTimeAsync(0);
    t.store.markRead('r1', 8); // throttled
    expect(t.conn.sends('read')).toHaveLength(1);
    t.store.flushPendingReads();
    expect(t.conn.sends('read')).toEqual([
      { type: 'read', room: 'r1', seq: 6 },
      { type: 'read', room: 'r1', seq: 8 },
    ]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(t.conn.sends('read')).toHaveLength(2);
  });
});

describe('ChatStore: outbox order', () => {
  async function opened() {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.store.openRoom('r1');
    await vi.advanceTimersByTimeAsync(0);
    return t;
  }
  const ids = (t: Awaited<ReturnType<typeof opened>>) =>
    (t.conn.sends('send') as { client_id: string }[]).map((f) => f.client_id);
  const ack = (t: Awaited<ReturnType<typeof opened>>, id: string, seq: number) =>
    t.conn.serverSends({ type: 'ack', client_id: id, message: msg(seq, ana, { client_id: id }) });

  it('keeps one send per room in flight and sends the next on ack', async () => {
    const t = await opened();
    const a = t.store.send('r1', 'a')!;
    const b = t.store.send('r1', 'b')!;
    expect(ids(t)).toEqual([a]);
    ack(t, a, 6);
    expect(ids(t)).toEqual([a, b]);
    ack(t, b, 7);
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('the echoed message releases the queue as well as the ack', async () => {
    const t = await opened();
    const a = t.store.send('r1', 'a')!;
    const b = t.store.send('r1', 'b')!;
    t.conn.serverSends({ type: 'message', message: msg(6, ana, { client_id: a }) });
    expect(ids(t)).toEqual([a, b]);
  });

  it('holds later messages behind a refused one, so the order survives rate limiting', async () => {
    const t = await opened();
    const a = t.store.send('r1', 'a')!;
    const b = t.store.send('r1', 'b')!;
    const c = t.store.send('r1', 'c')!;
    t.conn.serverSends({ type: 'error', code: 'rate_limited', client_id: a });
    expect(ids(t)).toEqual([a]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ids(t)).toEqual([a, a]);
    ack(t, a, 6);
    expect(ids(t)).toEqual([a, a, b]);
    t.conn.serverSends({ type: 'error', code: 'unavailable', client_id: b });
    await vi.advanceTimersByTimeAsync(1000);
    ack(t, b, 7);
    ack(t, c, 8);
    expect(ids(t)).toEqual([a, a, b, b, c]);
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 8));
  });

  it('skips a finally rejected message and goes on with the next', async () => {
    const t = await opened();
    const a = t.store.send('r1', 'a')!;
    const b = t.store.send('r1', 'b')!;
    t.conn.serverSends({ type: 'error', code: 'invalid_input', client_id: a });
    expect(ids(t)).toEqual([a, b]);
    expect(t.s().timelines.r1!.pending.map((p) => p.status)).toEqual(['failed', 'sending']);
  });

  it('moves on after an ack timeout, and re-sends everything in order after a reconnect', async () => {
    const t = await opened();
    const a = t.store.send('r1', 'a')!;
    const b = t.store.send('r1', 'b')!;
    await vi.advanceTimersByTimeAsync(5000);
    expect(ids(t)).toEqual([a, b]);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('failed');
    t.conn.drop();
    t.conn.connectReady();
    expect(ids(t)).toEqual([a, b, a]);
    ack(t, a, 6);
    expect(ids(t)).toEqual([a, b, a, b]);
  });

  it('rooms do not wait for each other', async () => {
    const t = await setup({ rooms: [r1, room('r2')] });
    const a = t.store.send('r1', 'a')!;
    const b = t.store.send('r2', 'b')!;
    expect((t.conn.sends('send') as { client_id: string }[]).map((f) => f.client_id)).toEqual([a, b]);
  });
});
