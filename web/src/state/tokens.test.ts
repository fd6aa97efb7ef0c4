import { describe, expect, it, vi } from 'vitest';
import { makeLogoutRequest, makeRefreshRequest } from './api';
import {
  MemoryStorage,
  SESSION_KEY,
  SessionExpiredError,
  STORED_REFRESH_TOKEN_KEY,
  TokenManager,
  type LockRunner,
  type RefreshOutcome,
  type TokenManagerOptions,
} from './tokens';

/**
 * A server that keeps the refresh token in a cookie jar shared by the tabs (as
 * the browser does), rotates it on every refresh, and revokes the family when
 * a rotated token comes back.
 */
class FakeAuthServer {
  private n = 0;
  cookie: string | null = null;
  used = new Set<string>();
  revoked = false;
  calls: (string | null)[] = [];
  delayMs = 5;

  signIn(): { access_token: string; expires_in: number } {
    this.n++;
    this.cookie = `rt${this.n}`;
    return { access_token: `at${this.n}`, expires_in: 900 };
  }

  refresh = async (stored?: string): Promise<RefreshOutcome> => {
    const rt = stored ?? this.cookie; // the request carries the cookie current when sent
    this.calls.push(rt);
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (rt === null || this.revoked) return { kind: 'unauthorized' };
    if (this.used.has(rt)) {
      this.revoked = true;
      return { kind: 'unauthorized' };
    }
    this.used.add(rt);
    return { kind: 'ok', auth: this.signIn() };
  };

  logout = async (): Promise<void> => {
    this.revoked = true;
    this.cookie = null;
  };
}

/** An exclusive lock shared by "tabs" (what navigator.locks provides). */
function sharedLock(): LockRunner {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(_name: string, fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

function manager(
  server: FakeAuthServer,
  storage = new MemoryStorage(),
  extra: Partial<TokenManagerOptions> = {},
): TokenManager {
  return new TokenManager({
    storage,
    refreshRequest: server.refresh,
    logoutRequest: server.logout,
    ...extra,
  });
}

describe('TokenManager', () => {
  it('keeps the access token in memory and only a hint of the session in storage', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const tm = manager(server, storage);
    expect(tm.hasSession()).toBe(false);
    await tm.setSession(server.signIn());
    expect(storage.getItem(SESSION_KEY)).toBe('1');
    expect(storage.getItem(STORED_REFRESH_TOKEN_KEY)).toBeNull();
    expect(tm.accessToken).toBe('at1');
    expect(tm.hasSession()).toBe(true);
  });

  it('resumes a session after a reload through the cookie', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    await manager(server, storage).setSession(server.signIn());
    const reloaded = manager(server, storage);
    expect(reloaded.accessToken).toBeNull();
    await expect(reloaded.getAccessToken()).resolves.toBe('at2');
    expect(server.calls).toEqual(['rt1']);
  });

  it('serializes concurrent refreshes within a tab into one request', async () => {
    const server = new FakeAuthServer();
    const tm = manager(server);
    await tm.setSession(server.signIn());
    const results = await Promise.all([tm.refresh('at1'), tm.refresh('at1'), tm.refresh('at1')]);
    expect(results).toEqual(['at2', 'at2', 'at2']);
    expect(server.calls).toEqual(['rt1']);
    expect(server.revoked).toBe(false);
  });

  it('does not refresh again for a caller whose token was already replaced', async () => {
    const server = new FakeAuthServer();
    const tm = manager(server);
    await tm.setSession(server.signIn());
    await tm.refresh('at1');
    // A request that failed with the old token finishes late:
    await expect(tm.refresh('at1')).resolves.toBe('at2');
    expect(server.calls).toEqual(['rt1']);
  });

  it('tabs sharing the lock send the cookie the previous tab received', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const lock = sharedLock();
    const tabA = manager(server, storage, { lock });
    const tabB = manager(server, storage, { lock });
    await tabA.setSession(server.signIn());
    const [a, b] = await Promise.all([tabA.refresh(null), tabB.refresh(null)]);
    expect(server.revoked).toBe(false);
    expect(server.calls).toEqual(['rt1', 'rt2']);
    expect([a, b]).toEqual(['at2', 'at3']);
  });

  it('moves a token stored before the cookie into the cookie, once', async () => {
    const storage = new MemoryStorage();
    storage.setItem(STORED_REFRESH_TOKEN_KEY, 'old-rt');
    const calls: (string | undefined)[] = [];
    const tm = manager(new FakeAuthServer(), storage, {
      refreshRequest: async (stored) => {
        calls.push(stored);
        return { kind: 'ok', auth: { access_token: `at${calls.length}`, expires_in: 900 } };
      },
    });
    expect(tm.hasSession()).toBe(true);
    await expect(tm.getAccessToken()).resolves.toBe('at1');
    expect(storage.getItem(STORED_REFRESH_TOKEN_KEY)).toBeNull();
    expect(storage.getItem(SESSION_KEY)).toBe('1');
    await tm.refresh('at1');
    expect(calls).toEqual(['old-rt', undefined]);
  });

  it('drops a stored token the server refuses', async () => {
    const storage = new MemoryStorage();
    storage.setItem(STORED_REFRESH_TOKEN_KEY, 'revoked-rt');
    const tm = manager(new FakeAuthServer(), storage, {
      refreshRequest: async () => ({ kind: 'unauthorized' }),
    });
    await expect(tm.getAccessToken()).rejects.toBeInstanceOf(SessionExpiredError);
    expect(storage.getItem(STORED_REFRESH_TOKEN_KEY)).toBeNull();
    expect(tm.hasSession()).toBe(false);
  });

  it('ends the session when the refresh is rejected', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const tm = manager(server, storage);
    const expired = vi.fn();
    tm.onExpired(expired);
    await tm.setSession(server.signIn());
    server.revoked = true;
    await expect(tm.refresh('at1')).rejects.toBeInstanceOf(SessionExpiredError);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(storage.getItem(SESSION_KEY)).toBeNull();
    expect(tm.accessToken).toBeNull();
    expect(server.calls).toEqual(['rt1']); // not retried
  });

  it('ends the session without asking when there is none', async () => {
    const server = new FakeAuthServer();
    await expect(manager(server).getAccessToken()).rejects.toBeInstanceOf(SessionExpiredError);
    expect(server.calls).toEqual([]);
  });

  it('keeps the session on a network failure so a later attempt can succeed', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    let down = true;
    const tm = manager(server, storage, {
      refreshRequest: async (stored) => {
        if (down) throw new Error('offline');
        return server.refresh(stored);
      },
    });
    await tm.setSession(server.signIn());
    await expect(tm.refresh('at1')).rejects.toThrow('offline');
    expect(storage.getItem(SESSION_KEY)).toBe('1');
    down = false;
    await expect(tm.refresh('at1')).resolves.toBe('at2');
  });

  it('refreshes proactively when the access token is about to expire', async () => {
    let now = 1_000_000;
    const server = new FakeAuthServer();
    const tm = manager(server, new MemoryStorage(), { now: () => now, skewMs: 30_000 });
    await tm.setSession(server.signIn()); // expires_in 900 s
    await expect(tm.getAccessToken()).resolves.toBe('at1');
    now += 860_000; // 40 s left: still fine
    await expect(tm.getAccessToken()).resolves.toBe('at1');
    now += 20_000; // 20 s left: within the skew
    await expect(tm.getAccessToken()).resolves.toBe('at2');
    expect(server.calls).toEqual(['rt1']);
  });

  it('says when the access token should be replaced', async () => {
    let now = 1_000_000;
    const server = new FakeAuthServer();
    const tm = manager(server, new MemoryStorage(), { now: () => now, skewMs: 30_000 });
    expect(tm.msUntilRefresh()).toBeNull(); // no token yet
    await tm.setSession(server.signIn()); // expires_in 900 s
    expect(tm.msUntilRefresh()).toBe(870_000);
    now += 900_000;
    expect(tm.msUntilRefresh()).toBe(0);
    await tm.setSession({ access_token: 'short', expires_in: 4 });
    expect(tm.msUntilRefresh()).toBe(3_000); // a quarter of a short lifetime
  });

  it('does not treat very short-lived tokens as expired on arrival', async () => {
    let now = 0;
    const tm = manager(new FakeAuthServer(), new MemoryStorage(), { now: () => now });
    await tm.setSession({ access_token: 'short', expires_in: 4 });
    await expect(tm.getAccessToken()).resolves.toBe('short');
    now = 2_000;
    await expect(tm.getAccessToken()).resolves.toBe('short');
  });

  it('signOut forgets the session here and revokes it on the server', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const tm = manager(server, storage);
    await tm.setSession(server.signIn());
    await tm.signOut();
    expect(tm.accessToken).toBeNull();
    expect(tm.hasSession()).toBe(false);
    expect(server.revoked).toBe(true);
    expect(server.cookie).toBeNull();
  });

  it('signOut still forgets the session when the server is unreachable', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const tm = manager(server, storage, {
      logoutRequest: async () => {
        throw new Error('offline');
      },
    });
    await tm.setSession(server.signIn());
    await expect(tm.signOut()).resolves.toBeUndefined();
    expect(tm.hasSession()).toBe(false);
  });
});

describe('session requests', () => {
  function recorder(status: number, body: unknown) {
    const seen: { url: string; init: RequestInit }[] = [];
    const first = () => {
      const call = seen[0];
      if (!call) throw new Error('no request was made');
      return call;
    };
    const fetchFn = async (url: string, init?: RequestInit) => {
      seen.push({ url, init: init ?? {} });
      return new Response(body === null ? null : JSON.stringify(body), { status });
    };
    return { first, fetchFn };
  }

  it('refresh asks for the cookie session and sends no token of its own', async () => {
    const { first, fetchFn } = recorder(200, { access_token: 'at', expires_in: 900 });
    const outcome = await makeRefreshRequest(fetchFn)();
    expect(outcome).toEqual({ kind: 'ok', auth: { access_token: 'at', expires_in: 900 } });
    expect(first().url).toBe('/api/auth/refresh');
    expect(first().init.headers).toMatchObject({ 'X-Parley-Session': 'cookie' });
    expect(first().init.credentials).toBe('same-origin');
    expect(JSON.parse(first().init.body as string)).toEqual({});
  });

  it('refresh presents a stored token in the body once', async () => {
    const { first, fetchFn } = recorder(401, { error: { code: 'unauthorized', message: '' } });
    await expect(makeRefreshRequest(fetchFn)('old-rt')).resolves.toEqual({ kind: 'unauthorized' });
    expect(JSON.parse(first().init.body as string)).toEqual({ refresh_token: 'old-rt' });
  });

  it('logout goes through the cookie session', async () => {
    const { first, fetchFn } = recorder(204, null);
    await makeLogoutRequest(fetchFn)();
    expect(first().url).toBe('/api/auth/logout');
    expect(first().init.headers).toMatchObject({ 'X-Parley-Session': 'cookie' });
  });
});
