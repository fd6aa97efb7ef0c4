import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from './backoff';
import { Connection, type ConnStatus, type SocketLike } from './connection';
import { SessionExpiredError } from './tokens';
import type { ServerEvent } from './types';
import { ana } from './testutil';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data));
  }
  close(code?: number): void {
    this.closedWith = code ?? 1000;
    this.readyState = 3;
  }
  // server side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  serverClose(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

function setup(overrides: Partial<ConstructorParameters<typeof Connection>[0]> = {}) {
  const sockets: FakeSocket[] = [];
  const frames: ServerEvent[] = [];
  const statuses: ConnStatus[] = [];
  let token = 'at1';
  let resume: Record<string, number> = { r1: 5 };
  const refreshToken = vi.fn(async (rejected: string) => {
    token = `${rejected}-new`;
  });
  const onSessionExpired = vi.fn();
  const onDisconnect = vi.fn();
  const conn = new Connection({
    url: () => 'ws://test/ws',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    getToken: async () => token,
    refreshToken,
    resumeMap: () => resume,
    onFrame: (f) => frames.push(f),
    onStatus: (s) => statuses.push(s),
    onSessionExpired,
    onDisconnect,
    backoff: new Backoff({ baseMs: 1000, maxMs: 8000, random: () => 0 }),
    heartbeatMs: 20_000,
    pongTimeoutMs: 5_000,
    handshakeTimeoutMs: 10_000,
    ...overrides,
  });
  return {
    conn,
    sockets,
    frames,
    statuses,
    refreshToken,
    onSessionExpired,
    onDisconnect,
    setResume: (r: Record<string, number>) => (resume = r),
    last: () => sockets[sockets.length - 1]!,
  };
}

async function flush() {
  await vi.advanceTimersByTimeAsync(0);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Connection', () => {
  it('authenticates with the resume map and reports online on ready', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    expect(t.statuses).toEqual(['connecting']);
    t.last().open();
    expect(t.last().sent).toEqual([{ type: 'auth', token: 'at1', resume: { r1: 5 } }]);
    expect(t.conn.send({ type: 'ping' })).toBe(false); // not ready yet
    t.last().receive({ type: 'ready', user: ana });
    expect(t.statuses.at(-1)).toBe('online');
    expect(t.conn.isReady).toBe(true);
    t.last().receive({ type: 'message', message: { seq: 1 } });
    expect(t.frames.map((f) => f.type)).toEqual(['ready', 'message']);
    expect(t.conn.send({ type: 'typing', room: 'r1' })).toBe(true);
  });

  it('ignores garbage frames', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    t.last().open();
    t.last().onmessage?.({ data: 'not json' });
    t.last().onmessage?.({ data: '{"type":"unknown"}' });
    t.last().onmessage?.({ data: 42 });
    expect(t.frames).toEqual([]);
  });

  it('reconnects with growing backoff after a server restart and resumes from the new cursors', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'ready', user: ana });
    t.setResume({ r1: 9, r2: 3 });
    t.last().serverClose(1012);
    expect(t.onDisconnect).toHaveBeenCalledTimes(1);
    expect(t.statuses.at(-1)).toBe('reconnecting');
    expect(t.conn.isReady).toBe(false);
    await vi.advanceTimersByTimeAsync(499);
    expect(t.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sockets).toHaveLength(2);
    // Connection refused: next delay doubles.
    t.last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(999);
    expect(t.sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sockets).toHaveLength(3);
    t.last().open();
    expect(t.last().sent[0]).toEqual({ type: 'auth', token: 'at1', resume: { r1: 9, r2: 3 } });
    t.last().receive({ type: 'ready', user: ana });
    // After a successful ready the backoff starts over.
    t.last().serverClose(1013);
    await vi.advanceTimersByTimeAsync(500);
    expect(t.sockets).toHaveLength(4);
  });

  it('refreshes the token on 4401 and reconnects at once with the new one', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'error', code: 'unauthorized' });
    t.last().serverClose(4401);
    await flush();
    expect(t.refreshToken).toHaveBeenCalledWith('at1');
    expect(t.sockets).toHaveLength(2);
    t.last().open();
    expect(t.last().sent[0]).toMatchObject({ type: 'auth', token: 'at1-new' });
  });

  it('goes to sign-in when the refresh after 4401 is rejected', async () => {
    const t = setup({
      refreshToken: async () => {
        throw new SessionExpiredError();
      },
    });
    t.conn.start();
    await flush();
    t.last().open();
    t.last().serverClose(4401);
    await flush();
    expect(t.onSessionExpired).toHaveBeenCalledTimes(1);
    expect(t.statuses.at(-1)).toBe('stopped');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.sockets).toHaveLength(1);
  });

  it('does not loop on 4401 forever', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    for (let i = 0; i < 3; i++) {
      t.last().open();
      t.last().serverClose(4401);
      await flush();
    }
    expect(t.refreshToken).toHaveBeenCalledTimes(2);
    expect(t.statuses.at(-1)).toBe('reconnecting'); // third time: ordinary backoff
  });

  it('ends the session when no token can be had', async () => {
    const t = setup({
      getToken: async () => {
        throw new SessionExpiredError();
      },
    });
    t.conn.start();
    await flush();
    expect(t.sockets).toHaveLength(0);
    expect(t.onSessionExpired).toHaveBeenCalled();
  });

  it('retries with backoff while the token endpoint is unreachable', async () => {
    let fail = true;
    const t = setup({
      getToken: async () => {
        if (fail) throw new Error('network');
        return 'at9';
      },
    });
    t.conn.start();
    await flush();
    expect(t.sockets).toHaveLength(0);
    expect(t.statuses.at(-1)).toBe('reconnecting');
    fail = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(t.sockets).toHaveLength(1);
  });

  it('pings a silent connection and drops it when no answer comes', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'ready', user: ana });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(t.last().sent.at(-1)).toEqual({ type: 'ping' });
    t.last().receive({ type: 'pong' });
    expect(t.frames.map((f) => f.type)).toEqual(['ready']); // pong is not forwarded
    await vi.advanceTimersByTimeAsync(20_000);
    expect(t.last().sent.at(-1)).toEqual({ type: 'ping' });
    const dead = t.last();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(dead.closedWith).not.toBeNull();
    expect(t.statuses.at(-1)).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(500);
    expect(t.sockets).toHaveLength(2);
  });

  it('gives up on a handshake that never completes', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    t.last().open(); // but no ready
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.sockets[0]!.closedWith).not.toBeNull();
    expect(t.statuses.at(-1)).toBe('reconnecting');
  });

  it('reports offline and reconnects at once when the network returns', async () => {
    let online = true;
    const t = setup({ isOnline: () => online });
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'ready', user: ana });
    online = false;
    t.conn.networkLost();
    expect(t.statuses.at(-1)).toBe('offline');
    expect(t.sockets[0]!.closedWith).not.toBeNull();
    online = true;
    t.conn.reconnectNow();
    await flush();
    expect(t.sockets).toHaveLength(2);
  });

  it('stop() closes and never reconnects', async () => {
    const t = setup();
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'ready', user: ana });
    t.conn.stop();
    expect(t.sockets[0]!.closedWith).toBe(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.sockets).toHaveLength(1);
    expect(t.statuses.at(-1)).toBe('stopped');
  });

  it('presents a fresh token on the open socket before the old one expires', async () => {
    let token = 'at1';
    let renewIn: number | null = 60_000;
    const t = setup({ getToken: async () => token, renewInMs: () => renewIn, heartbeatMs: 600_000 });
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'ready', user: ana });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(t.last().sent).toHaveLength(1); // the first auth only
    token = 'at2';
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.last().sent.at(-1)).toEqual({ type: 'auth', token: 'at2' });
    renewIn = 30_000;
    t.last().receive({ type: 'reauthed', expires_in: 60 });
    expect(t.frames.map((f) => f.type)).toEqual(['ready']); // reauthed is the connection's own
    token = 'at3';
    await vi.advanceTimersByTimeAsync(30_000);
    expect(t.last().sent.at(-1)).toEqual({ type: 'auth', token: 'at3' });
    expect(t.sockets).toHaveLength(1); // the same socket all along
  });

  it('waits for a replaced token and ends the session when none can be had', async () => {
    let token = 'at1';
    const t = setup({
      getToken: async () => {
        if (token === 'gone') throw new SessionExpiredError();
        return token;
      },
      renewInMs: () => 1_000,
    });
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'ready', user: ana });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.last().sent).toHaveLength(1); // still at1: asks again a second later
    token = 'gone';
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.onSessionExpired).toHaveBeenCalledTimes(1);
  });

  it('stops renewing once the socket is gone', async () => {
    const getToken = vi.fn(async () => 'at1');
    const t = setup({ getToken, renewInMs: () => 5_000 });
    t.conn.start();
    await flush();
    t.last().open();
    t.last().receive({ type: 'ready', user: ana });
    t.conn.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(getToken).toHaveBeenCalledTimes(1); // the connect's only
  });
});
