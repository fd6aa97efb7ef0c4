import { describe, expect, it, vi } from 'vitest';
import {
  KeyValueTokenStore,
  MemoryStorage,
  REFRESH_TOKEN_KEY,
  SessionExpiredError,
  TokenManager,
  type LockRunner,
  type RefreshOutcome,
} from './tokens';

/** A server that rotates refresh tokens and revokes the family on reuse. */
class FakeAuthServer {
  private n = 0;
  valid = new Set<string>();
  used = new Set<string>();
  revoked = false;
  calls: string[] = [];
  delayMs = 5;

  issue(): { access_token: string; refresh_token: string; expires_in: number } {
    this.n++;
    const rt = `rt${this.n}`;
    this.valid.add(rt);
    return { access_token: `at${this.n}`, refresh_token: rt, expires_in: 900 };
  }

  refresh = async (rt: string): Promise<RefreshOutcome> => {
    this.calls.push(rt);
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.used.has(rt)) {
      this.revoked = true;
      this.valid.clear();
      return { kind: 'unauthorized' };
    }
    if (this.revoked || !this.valid.has(rt)) return { kind: 'unauthorized' };
    this.valid.delete(rt);
    this.used.add(rt);
    return { kind: 'ok', auth: this.issue() };
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

describe('TokenManager', () => {
  it('stores the refresh token and keeps the access token in memory', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const tm = new TokenManager({ store: new KeyValueTokenStore(storage), refreshRequest: server.refresh });
    expect(tm.hasSession()).toBe(false);
    await tm.setSession(server.issue());
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe('rt1');
    expect(tm.accessToken).toBe('at1');
    expect(tm.hasSession()).toBe(true);
  });

  it('serializes concurrent refreshes within a tab into one request', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const tm = new TokenManager({ store: new KeyValueTokenStore(storage), refreshRequest: server.refresh });
    await tm.setSession(server.issue());
    const results = await Promise.all([tm.refresh('at1'), tm.refresh('at1'), tm.refresh('at1')]);
    expect(results).toEqual(['at2', 'at2', 'at2']);
    expect(server.calls).toEqual(['rt1']);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe('rt2');
    expect(server.revoked).toBe(false);
  });

  it('does not refresh again for a caller whose token was already replaced', async () => {
    const server = new FakeAuthServer();
    const tm = new TokenManager({ store: new KeyValueTokenStore(new MemoryStorage()), refreshRequest: server.refresh });
    await tm.setSession(server.issue());
    await tm.refresh('at1');
    // A request that failed with the old token finishes late:
    await expect(tm.refresh('at1')).resolves.toBe('at2');
    expect(server.calls).toEqual(['rt1']);
  });

  it('never presents a rotated token twice across tabs sharing storage and a lock', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const lock = sharedLock();
    const tabA = new TokenManager({ store: new KeyValueTokenStore(storage), refreshRequest: server.refresh, lock });
    const tabB = new TokenManager({ store: new KeyValueTokenStore(storage), refreshRequest: server.refresh, lock });
    await tabA.setSession(server.issue()); // both tabs see rt1 in storage
    const [a, b] = await Promise.all([tabA.refresh(null), tabB.refresh(null)]);
    expect(server.revoked).toBe(false);
    expect(new Set(server.calls).size).toBe(server.calls.length); // no token reused
    expect(server.calls).toEqual(['rt1', 'rt2']);
    expect([a, b]).toEqual(['at2', 'at3']);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe('rt3');
  });

  it('a tab without a lock that lost the race retries once with the token stored by the winner', async () => {
    const storage = new MemoryStorage();
    const calls: string[] = [];
    const tm = new TokenManager({
      store: new KeyValueTokenStore(storage),
      refreshRequest: async (rt) => {
        calls.push(rt);
        if (rt === 'rt1') {
          // Another tab rotated rt1 -> rt2 meanwhile; this request loses.
          storage.setItem(REFRESH_TOKEN_KEY, 'rt2');
          return { kind: 'unauthorized' };
        }
        return { kind: 'ok', auth: { access_token: 'at3', refresh_token: 'rt3' } };
      },
    });
    await tm.setSession({ access_token: 'at1', refresh_token: 'rt1' });
    await expect(tm.refresh(null)).resolves.toBe('at3');
    expect(calls).toEqual(['rt1', 'rt2']);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe('rt3');
  });

  it('ends the session when the refresh token is rejected', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    const tm = new TokenManager({ store: new KeyValueTokenStore(storage), refreshRequest: server.refresh });
    const expired = vi.fn();
    tm.onExpired(expired);
    await tm.setSession(server.issue());
    server.revoked = true;
    await expect(tm.refresh('at1')).rejects.toBeInstanceOf(SessionExpiredError);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(tm.accessToken).toBeNull();
    expect(server.calls).toEqual(['rt1']); // the rejected token is not retried
  });

  it('ends the session when there is no refresh token at all', async () => {
    const tm = new TokenManager({
      store: new KeyValueTokenStore(new MemoryStorage()),
      refreshRequest: async () => ({ kind: 'unauthorized' }),
    });
    await expect(tm.getAccessToken()).rejects.toBeInstanceOf(SessionExpiredError);
  });

  it('keeps the refresh token on a network failure so a later attempt can succeed', async () => {
    const storage = new MemoryStorage();
    const server = new FakeAuthServer();
    let down = true;
    const tm = new TokenManager({
      store: new KeyValueTokenStore(storage),
      refreshRequest: async (rt) => {
        if (down) throw new Error('offline');
        return server.refresh(rt);
      },
    });
    await tm.setSession(server.issue());
    await expect(tm.refresh('at1')).rejects.toThrow('offline');
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe('rt1');
    down = false;
    await expect(tm.refresh('at1')).resolves.toBe('at2');
  });

  it('refreshes proactively when the access token is about to expire', async () => {
    let now = 1_000_000;
    const server = new FakeAuthServer();
    const tm = new TokenManager({
      store: new KeyValueTokenStore(new MemoryStorage()),
      refreshRequest: server.refresh,
      now: () => now,
      skewMs: 30_000,
    });
    await tm.setSession(server.issue()); // expires_in 900 s
    await expect(tm.getAccessToken()).resolves.toBe('at1');
    now += 860_000; // 40 s left: still fine
    await expect(tm.getAccessToken()).resolves.toBe('at1');
    now += 20_000; // 20 s left: within the skew
    await expect(tm.getAccessToken()).resolves.toBe('at2');
    expect(server.calls).toEqual(['rt1']);
  });

  it('does not treat very short-lived tokens as expired on arrival', async () => {
    let now = 0;
    const tm = new TokenManager({
      store: new KeyValueTokenStore(new MemoryStorage()),
      refreshRequest: async () => ({ kind: 'unauthorized' }),
      now: () => now,
    });
    await tm.setSession({ access_token: 'short', refresh_token: 'r', expires_in: 4 });
    await expect(tm.getAccessToken()).resolves.toBe('short');
    now = 2_000;
    await expect(tm.getAccessToken()).resolves.toBe('short');
  });

  it('clear() forgets both tokens and returns the refresh token', async () => {
    const storage = new MemoryStorage();
    const tm = new TokenManager({ store: new KeyValueTokenStore(storage), refreshRequest: async () => ({ kind: 'unauthorized' }) });
    await tm.setSession({ access_token: 'a', refresh_token: 'r' });
    await expect(tm.clear()).resolves.toBe('r');
    expect(tm.accessToken).toBeNull();
    expect(tm.hasSession()).toBe(false);
  });
});
