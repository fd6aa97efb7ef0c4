import type { AuthResponse } from './types';

/**
 * Access/refresh token bookkeeping.
 *
 * - The access token lives in memory only; the refresh token in storage
 *   (localStorage in the browser) so a reload keeps the session.
 * - Refresh tokens rotate and a reused one revokes the whole family, so a
 *   refresh token must never be presented twice. Within a tab every refresh
 *   goes through one in-flight promise; across tabs the refresh runs under a
 *   Web Lock and re-reads the token from storage inside it, so a tab that
 *   waited picks up the token another tab just stored instead of replaying
 *   the one it had.
 */

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Where the refresh token lives. `get` must see every write that another tab
 * finished before it released the refresh lock; `peek` is a synchronous hint
 * (is there a session at all?) that may lag behind other tabs.
 */
export interface TokenStore {
  get(): Promise<string | null>;
  set(token: string): Promise<void>;
  remove(): Promise<void>;
  peek(): string | null;
}

/** The refresh token in a KeyValueStorage (localStorage, or memory in tests). */
export class KeyValueTokenStore implements TokenStore {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly key: string = REFRESH_TOKEN_KEY,
  ) {}
  peek(): string | null {
    try {
      return this.storage.getItem(this.key);
    } catch {
      return null;
    }
  }
  async get(): Promise<string | null> {
    return this.peek();
  }
  async set(token: string): Promise<void> {
    try {
      this.storage.setItem(this.key, token);
    } catch {
      /* storage full or disabled: the session then lasts for this page only */
    }
  }
  async remove(): Promise<void> {
    try {
      this.storage.removeItem(this.key);
    } catch {
      /* ignore */
    }
  }
}

/** Runs fn while holding an exclusive lock shared by all tabs of the origin. */
export type LockRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** Thrown when the session is gone (refresh token rejected or absent). */
export class SessionExpiredError extends Error {
  constructor(message = 'session expired') {
    super(message);
    this.name = 'SessionExpiredError';
  }
}

export type RefreshOutcome =
  | { kind: 'ok'; auth: AuthResponse }
  | { kind: 'unauthorized' };

export interface TokenManagerOptions {
  store: TokenStore;
  /** POST /api/auth/refresh. Network failures should throw. */
  refreshRequest: (refreshToken: string) => Promise<RefreshOutcome>;
  lock?: LockRunner;
  now?: () => number;
  /** Refresh this long before the access token's announced expiry. */
  skewMs?: number;
}

export const REFRESH_TOKEN_KEY = 'parley.refresh_token';
const LOCK_NAME = 'parley.refresh';

/** navigator.locks when available (all current browsers in secure contexts). */
export function browserLock(): LockRunner | undefined {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return undefined;
  return <T>(name: string, fn: () => Promise<T>) =>
    locks.request(name, { mode: 'exclusive' }, fn) as Promise<T>;
}

export class TokenManager {
  private access: string | null = null;
  private expiresAt: number | null = null;
  private lifetimeMs = 0;
  private inflight: Promise<string> | null = null;
  private readonly store: TokenStore;
  private readonly refreshRequest: TokenManagerOptions['refreshRequest'];
  private readonly lock: LockRunner | undefined;
  private readonly now: () => number;
  private readonly skewMs: number;
  private readonly listeners = new Set<() => void>();

  constructor(options: TokenManagerOptions) {
    this.store = options.store;
    this.refreshRequest = options.refreshRequest;
    this.lock = options.lock;
    this.now = options.now ?? Date.now;
    this.skewMs = options.skewMs ?? 30_000;
  }

  /** True if a refresh token is stored (a session may be resumable). */
  hasSession(): boolean {
    return this.store.peek() !== null;
  }

  get accessToken(): string | null {
    return this.access;
  }

  /** Called when the session ends involuntarily (refresh rejected). */
  onExpired(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adopt the tokens from register/login. */
  async setSession(auth: AuthResponse): Promise<void> {
    this.setAccess(auth);
    await this.store.set(auth.refresh_token);
  }

  /** Forget everything (sign out). Returns the refresh token that was stored. */
  async clear(): Promise<string | null> {
    this.access = null;
    this.expiresAt = null;
    this.inflight = null;
    const rt = (await this.store.get()) ?? this.store.peek();
    await this.store.remove();
    return rt;
  }

  /** A usable access token, refreshing first when missing or about to expire. */
  async getAccessToken(): Promise<string> {
    if (this.access && !this.isExpiring()) return this.access;
    return this.refresh(this.access);
  }

  /**
   * Obtain a new access token.
   *
   * `rejected` is the access token the caller saw fail (or null): if another
   * caller has replaced it in the meantime, the new one is returned without
   * another refresh. Concurrent callers share one request.
   */
  refresh(rejected: string | null = null): Promise<string> {
    if (this.access && rejected !== null && this.access !== rejected && !this.isExpiring()) {
      return Promise.resolve(this.access);
    }
    if (this.inflight) return this.inflight;
    const run = async (): Promise<string> => {
      const work = () => this.refreshLocked();
      return this.lock ? this.lock(LOCK_NAME, work) : work();
    };
    const p = run().finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private async refreshLocked(): Promise<string> {
    // Read inside the lock: another tab may have rotated the token meanwhile.
    let token = await this.store.get();
    for (let attempt = 0; attempt < 2; attempt++) {
      if (token === null) {
        this.expire();
        throw new SessionExpiredError('no refresh token');
      }
      const outcome = await this.refreshRequest(token);
      if (outcome.kind === 'ok') {
        // Stored before the lock is released, so the next tab reads the new one.
        await this.store.set(outcome.auth.refresh_token);
        this.setAccess(outcome.auth);
        return outcome.auth.access_token;
      }
      // Rejected. If a tab without lock support rotated the token while we
      // were asking, the stored one differs: try that once. Never retry the
      // token that was just rejected.
      const current = await this.store.get();
      if (current !== null && current !== token) {
        token = current;
        continue;
      }
      break;
    }
    if ((await this.store.get()) === token) await this.store.remove();
    this.expire();
    throw new SessionExpiredError();
  }

  private expire(): void {
    this.access = null;
    this.expiresAt = null;
    for (const l of [...this.listeners]) l();
  }

  private setAccess(auth: AuthResponse): void {
    this.access = auth.access_token;
    const ok = typeof auth.expires_in === 'number' && auth.expires_in > 0;
    this.lifetimeMs = ok ? (auth.expires_in as number) * 1000 : 0;
    this.expiresAt = ok ? this.now() + this.lifetimeMs : null;
  }

  private isExpiring(): boolean {
    if (this.expiresAt === null) return false;
    // Short-lived tokens (tests) must not look expired the moment they arrive.
    const skew = Math.min(this.skewMs, this.lifetimeMs / 4);
    return this.now() >= this.expiresAt - skew;
  }
}

/** In-memory storage (tests, or browsers with storage disabled). */
export class MemoryStorage implements KeyValueStorage {
  private readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}
