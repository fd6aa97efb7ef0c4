import { ApiError, type ApiClient } from './api';
import type { RoomState } from './rooms';
import {
  DEFAULT_TIMING,
  initialSessionState,
  UserSession,
  type ConnectionLike,
  type ConnectOptions,
  type Patch,
  type SessionState,
  type Timing,
} from './slices/session';
import type { OAuthReturn, Provider } from './oauth';
import { SessionExpiredError, type TokenManager } from './tokens';
import type { AuthResponse, Message, User } from './types';

/**
 * The client's one store: whether someone is signed in, and the session of
 * whoever is. The UI reads `getState()` through `useSyncExternalStore` (the
 * store is handed down in a React context) and calls the session's slices for
 * everything a signed-in user does. Plain TypeScript, no React.
 *
 * The state is flat: the store's own keys plus the session's slices' keys
 * (see slices/session.ts). Signing out disposes the session and resets every
 * key, so nothing of one user reaches the next in the same tab.
 */

export type Phase = 'booting' | 'signedOut' | 'signedIn';

export interface ChatState extends SessionState {
  phase: Phase;
  /** Why the user was signed out, shown on the sign-in screen. */
  signedOutReason: string | null;
  /** The sign-in providers the server offers (buttons on the sign-in screen, links in settings). */
  providers: Provider[];
  /** How a provider sign-in or link just ended, until the user has seen it. */
  oauth: OAuthReturn | null;
}

export interface StoreDeps {
  api: ApiClient;
  tokens: TokenManager;
  /** Build the socket connection (real: `new Connection(opts)`). */
  connect: (opts: ConnectOptions) => ConnectionLike;
  now?: () => number;
  newId?: () => string;
  /** Desktop notification hook; called for live messages from others. */
  notify?: (msg: Message, room: RoomState | undefined) => void;
  /** Tunables (tests shorten them). */
  timing?: Partial<Timing>;
}

function initialState(phase: Phase, me: User | null = null): ChatState {
  return { ...initialSessionState(me), phase, signedOutReason: null, providers: [], oauth: null };
}

function randomId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

const EXPIRED = 'Your session has ended. Please sign in again.';

export class ChatStore {
  private state: ChatState = initialState('booting');
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;
  private readonly deps: StoreDeps;
  private current: UserSession | null = null;
  /** Bumped whenever a session begins or ends, so a slow boot does not resurrect one. */
  private epoch = 0;

  constructor(deps: StoreDeps) {
    this.deps = deps;
    deps.tokens.onExpired(() => {
      if (this.state.phase === 'signedIn') this.endSession(EXPIRED);
    });
  }

  getState = (): ChatState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The signed-in user's session, or null. */
  get session(): UserSession | null {
    return this.current;
  }

  private set(patch: Patch | Partial<ChatState>): void {
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

  /** A new state for `phase`; what belongs to the page, not to a user, carries over. */
  private fresh(phase: Phase, me: User | null = null): ChatState {
    return { ...initialState(phase, me), providers: this.state.providers, oauth: this.state.oauth };
  }

  /** Ask the server which providers it offers; without them there are no provider buttons. */
  async loadProviders(): Promise<void> {
    try {
      this.set({ providers: await this.deps.api.providers() });
    } catch {
      /* unreachable: the password form still works, and boot retries the server */
    }
  }

  /** The page was opened by the server's redirect after a provider sign-in or link. */
  acceptOAuthReturn(outcome: OAuthReturn): void {
    if (outcome.kind === 'signed_in') this.deps.tokens.markSignedIn();
    this.set({ oauth: outcome.kind === 'signed_in' ? null : outcome });
  }

  dismissOAuth(): void {
    this.set({ oauth: null });
  }

  /** On page load: resume the stored session, if any. */
  async boot(): Promise<void> {
    if (!this.deps.tokens.hasSession()) {
      this.set({ phase: 'signedOut' });
      return;
    }
    const epoch = this.epoch;
    for (let attempt = 0; ; attempt++) {
      try {
        const me = await this.deps.api.me();
        if (epoch !== this.epoch) return;
        this.beginSession(me);
        return;
      } catch (e) {
        if (epoch !== this.epoch) return;
        if (e instanceof SessionExpiredError || (e instanceof ApiError && e.status === 401)) {
          void this.deps.tokens.clear();
          this.set(this.fresh('signedOut'));
          return;
        }
        // Server unreachable: keep the session and try again shortly.
        this.set((s) => ({ conn: { ...s.conn, status: 'reconnecting', attempt: attempt + 1 } }));
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
      }
    }
  }

  async signIn(username: string, password: string): Promise<void> {
    await this.adopt(await this.deps.api.login(username, password));
  }

  async signUp(username: string, password: string, displayName?: string): Promise<void> {
    await this.adopt(await this.deps.api.register(username, password, displayName));
  }

  private async adopt(auth: AuthResponse): Promise<void> {
    await this.deps.tokens.setSession(auth);
    this.beginSession(auth.user ?? (await this.deps.api.me()));
  }

  private beginSession(me: User): void {
    this.epoch++;
    this.current?.dispose();
    this.state = this.fresh('signedIn', me);
    const session = new UserSession(
      { get: () => this.state, set: (patch) => this.set(patch) },
      {
        api: this.deps.api,
        tokens: this.deps.tokens,
        connect: this.deps.connect,
        now: this.deps.now ?? Date.now,
        newId: this.deps.newId ?? randomId,
        notify: this.deps.notify,
        timing: { ...DEFAULT_TIMING, ...this.deps.timing },
        onExpired: () => this.endSession(EXPIRED),
      },
    );
    this.current = session;
    this.set({});
    session.start();
  }

  /** Sign out here (and revoke the refresh token on the server). */
  async signOut(): Promise<void> {
    this.endSession(null);
    await this.deps.tokens.signOut();
  }

  /** The session ended (signed out here or in another tab, or revoked): forget the user. */
  endSession(reason: string | null): void {
    this.epoch++;
    this.current?.dispose();
    this.current = null;
    this.state = { ...this.fresh('signedOut'), signedOutReason: reason, oauth: null };
    this.set({});
  }
}
