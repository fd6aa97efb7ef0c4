import type { AuthResponse } from './types';

/**
 * Access token bookkeeping. The refresh token is not ours to keep.
 *
 * - The refresh token lives in an HttpOnly, SameSite=Strict cookie that the
 *   server sets on sign-in and on every refresh (`X-Parley-Session: cookie`):
 *   no script on the page, ours or an injected one, can read the 30-day
 *   session. The access token (15 minutes) lives in memory only.
 * - Storage holds a hint, `parley.session`, that a session exists, so a reload
 *   knows to ask for a new access token and other tabs hear about sign-outs
 *   (`storage` events). It is no credential.
 * - Refresh tokens rotate and a reused one revokes the whole family. Within a
 *   tab every refresh goes through one in-flight promise; across tabs it runs
 *   under a Web Lock, so the next tab's request carries the cookie the
 *   previous one just received. Where locks are missing, the server answers
 *   a double submit within a few seconds with the same successor.
 * - Sessions from before the cookie kept the refresh token in storage: it is
 *   presented once (in the body, as the server's JSON flow allows), which
 *   moves the session into the cookie, and dropped from storage.
 */

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Runs fn while holding an exclusive lock shared by all tabs of the origin. */
export type LockRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** Thrown when the session is gone (refresh rejected, or none to refresh). */
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
  /** Where the session hint (and a pre-cookie refresh token) live. */
  storage: KeyValueStorage;
  /** POST /api/auth/refresh (the cookie goes along). Network failures should throw. */
  refreshRequest: (storedToken?: string) => Promise<RefreshOutcome>;
  /** POST /api/auth/logout: revokes the session and clears the cookie. */
  logoutRequest: () => Promise<void>;
  lock?: LockRunner;
  now?: () => number;
  /** Refresh this long before the access token's announced expiry. */
  skewMs?: number;
}

export const SESSION_KEY = 'parley.session';
/** Where sessions from before the cookie kept their refresh token. */
export const STORED_REFRESH_TOKEN_KEY = 'parley.refresh_token';
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
  private readonly storage: KeyValueStorage;
  private readonly refreshRequest: TokenManagerOptions['refreshRequest'];
  private readonly logoutRequest: TokenManagerOptions['logoutRequest'];
  private readonly lock: LockRunner | undefined;
  private readonly now: () => number;
  private readonly skewMs: number;
  private readonly listeners = new Set<() => void>();

  constructor(options: TokenManagerOptions) {
    this.storage = options.storage;
    this.refreshRequest = options.refreshRequest;
    this.logoutRequest = options.logoutRequest;
    this.lock = options.lock;
    this.now = options.now ?? Date.now;
    this.skewMs = options.skewMs ?? 30_000;
  }

  /** True if a session may be resumable (the hint, or a pre-cookie token). */
  hasSession(): boolean {
    return this.read(SESSION_KEY) !== null || this.read(STORED_REFRESH_TOKEN_KEY) !== null;
  }

  get accessToken(): string | null {
    return this.access;
  }

  /** Called when the session ends involuntarily (refresh rejected). */
  onExpired(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adopt the access token from register/login (the server set the cookie). */
  async setSession(auth: AuthResponse): Promise<void> {
    this.setAccess(auth);
    this.write(SESSION_KEY, '1');
  }

  /**
   * A provider sign-in ended on the server, which set the cookie: note that a
   * session exists, so that booting asks for an access token.
   */
  markSignedIn(): void {
    this.write(SESSION_KEY, '1');
  }

  /** Forget the session here (the server's copy is untouched). */
  async clear(): Promise<void> {
    this.access = null;
    this.expiresAt = null;
    this.inflight = null;
    this.remove(SESSION_KEY);
    this.remove(STORED_REFRESH_TOKEN_KEY);
  }

  /** Sign out: forget the session here, then revoke it and clear the cookie. */
  async signOut(): Promise<void> {
    await this.clear();
    try {
      await this.logoutRequest();
    } catch {
      /* offline: the session is forgotten here either way */
    }
  }

  /**
   * Milliseconds until the access token should be replaced (0: now), or null
   * when its lifetime is unknown. An open socket presents the next one before
   * the server closes it at the token's expiry.
   */
  msUntilRefresh(): number | null {
    if (this.expiresAt === null) return null;
    return Math.max(0, this.expiresAt - this.skew() - this.now());
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
    if (!this.hasSession()) {
      this.expire();
      throw new SessionExpiredError('no session');
    }
    const stored = this.read(STORED_REFRESH_TOKEN_KEY);
    const outcome = await this.refreshRequest(stored ?? undefined);
    if (outcome.kind === 'ok') {
      this.write(SESSION_KEY, '1');
      // Answered: a stored token has moved into the cookie (or was refused below).
      this.remove(STORED_REFRESH_TOKEN_KEY);
      this.setAccess(outcome.auth);
      return outcome.auth.access_token;
    }
    this.remove(SESSION_KEY);
    this.remove(STORED_REFRESH_TOKEN_KEY);
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
    return this.now() >= this.expiresAt - this.skew();
  }

  /** How long before expiry a token counts as expiring. */
  private skew(): number {
    // Short-lived tokens (tests) must not look expired the moment they arrive.
    return Math.min(this.skewMs, this.lifetimeMs / 4);
  }

  private read(key: string): string | null {
    try {
      return this.storage.getItem(key);
    } catch {
      return null;
    }
  }

  private write(key: string, value: string): void {
    try {
      this.storage.setItem(key, value);
    } catch {
      /* storage full or disabled: a reload then starts signed out */
    }
  }

  private remove(key: string): void {
    try {
      this.storage.removeItem(key);
    } catch {
      /* ignore */
    }
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
