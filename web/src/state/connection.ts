import { Backoff } from './backoff';
import { SessionExpiredError } from './tokens';
import { parseServerEvent, type ClientFrame, type CloseCode, type ServerEvent } from './types';

/**
 * The WebSocket lifecycle: connect, authenticate (with the resume map in the
 * same frame), keep alive, and reconnect with jittered exponential backoff.
 * Knows nothing about rooms; the store supplies the resume map and consumes
 * frames.
 */

export type ConnStatus = 'connecting' | 'online' | 'reconnecting' | 'offline' | 'stopped';

export interface StatusInfo {
  /** Consecutive failed attempts since the last successful `ready`. */
  attempt: number;
  /** When the next attempt is due (ms epoch), if one is scheduled. */
  retryAt: number | null;
  /** Close code of the last connection, if any. */
  lastCloseCode: number | null;
}

/** The subset of the browser WebSocket used here (so tests can fake it). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface ConnectionOptions {
  url: () => string;
  createSocket: (url: string) => SocketLike;
  /** A valid access token (may refresh first). SessionExpiredError ends the session. */
  getToken: () => Promise<string>;
  /** Called after close code 4401 with the token that was rejected. */
  refreshToken: (rejected: string) => Promise<unknown>;
  /**
   * Milliseconds until the current token should be replaced, or null if unknown.
   * The server closes a socket (4401) when its token expires, so an open socket
   * fetches a fresh token by then and presents it in an `auth` frame.
   */
  renewInMs?: () => number | null;
  /** Rooms to resume, evaluated at the moment the auth frame is sent. */
  resumeMap: () => Record<string, number>;
  onFrame: (frame: ServerEvent) => void;
  onStatus?: (status: ConnStatus, info: StatusInfo) => void;
  /** The socket went away (before any reconnect attempt). */
  onDisconnect?: () => void;
  onSessionExpired?: () => void;
  isOnline?: () => boolean;
  backoff?: Backoff;
  now?: () => number;
  /** Send a ping after this much silence. */
  heartbeatMs?: number;
  /** Give up on a silent socket this long after the ping. */
  pongTimeoutMs?: number;
  /** Limit for open + ready. */
  handshakeTimeoutMs?: number;
}

export const CLOSE_UNAUTHORIZED = 4401 satisfies CloseCode;
const CLOSE_CLIENT_TIMEOUT = 4000;
const OPEN = 1;

export class Connection {
  private readonly opts: ConnectionOptions;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private socket: SocketLike | null = null;
  private token: string | null = null;
  private ready = false;
  private stopped = true;
  private status: ConnStatus = 'stopped';
  private attempt = 0;
  private retryAt: number | null = null;
  private lastCloseCode: number | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private renewTimer: ReturnType<typeof setTimeout> | null = null;
  private lastHeard = 0;
  private pingSentAt: number | null = null;
  private unauthorizedInARow = 0;
  private generation = 0;

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.backoff = opts.backoff ?? new Backoff({ baseMs: 500, maxMs: 15_000 });
    this.now = opts.now ?? Date.now;
  }

  get isReady(): boolean {
    return this.ready && this.socket !== null && this.socket.readyState === OPEN;
  }

  get currentStatus(): ConnStatus {
    return this.status;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.backoff.reset();
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.clearTimers();
    this.dropSocket(1000, 'bye');
    this.ready = false;
    this.setStatus('stopped');
  }

  /** Send a frame if the session is ready; returns false otherwise. */
  send(frame: ClientFrame): boolean {
    if (!this.isReady || !this.socket) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Skip the remaining backoff (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.stopped || this.socket) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.connect();
  }

  /** The browser reports the network is gone: drop the socket right away. */
  networkLost(): void {
    if (this.stopped) return;
    if (this.socket) this.handleClose(CLOSE_CLIENT_TIMEOUT);
    else this.setStatus('offline');
  }

  private setStatus(status: ConnStatus): void {
    this.status = status;
    this.opts.onStatus?.(status, {
      attempt: this.attempt,
      retryAt: this.retryAt,
      lastCloseCode: this.lastCloseCode,
    });
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
    this.cancelRenew();
  }

  private cancelRenew(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  /** Before the token expires, present a fresh one on the open socket. */
  private scheduleRenew(): void {
    this.cancelRenew();
    const ms = this.opts.renewInMs?.() ?? null;
    if (ms === null) return;
    const socket = this.socket;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = null;
      void this.renew(socket);
    }, ms);
  }

  private async renew(socket: SocketLike | null): Promise<void> {
    let token: string;
    try {
      token = await this.opts.getToken();
    } catch (e) {
      if (this.socket !== socket || this.stopped) return;
      if (e instanceof SessionExpiredError) this.expire();
      // Otherwise (offline): the socket closes at expiry, and reconnecting refreshes.
      return;
    }
    if (this.socket !== socket || !this.isReady || !socket) return;
    if (token === this.token) {
      // Not replaced yet (another caller's refresh is under way): look again shortly.
      this.renewTimer = setTimeout(() => void this.renew(socket), 1_000);
      return;
    }
    this.token = token;
    this.send({ type: 'auth', token });
  }

  private dropSocket(code: number, reason: string): void {
    const s = this.socket;
    this.socket = null;
    if (!s) return;
    s.onopen = null;
    s.onmessage = null;
    s.onclose = null;
    s.onerror = null;
    try {
      s.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.retryAt = null;
    this.setStatus(this.attempt === 0 && this.lastCloseCode === null ? 'connecting' : 'reconnecting');
    let token: string;
    try {
      token = await this.opts.getToken();
    } catch (e) {
      if (gen !== this.generation) return;
      if (e instanceof SessionExpiredError) {
        this.expire();
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (gen !== this.generation || this.stopped) return;
    this.token = token;
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.ready = false;
    this.lastHeard = this.now();
    this.pingSentAt = null;
    this.armWatchdog(this.opts.handshakeTimeoutMs ?? 10_000);
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const frame: ClientFrame = { type: 'auth', token, resume: this.opts.resumeMap() };
      try {
        socket.send(JSON.stringify(frame));
      } catch {
        this.handleClose(CLOSE_CLIENT_TIMEOUT);
      }
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.lastHeard = this.now();
      this.pingSentAt = null;
      const frame = parseServerEvent(ev.data);
      if (!frame) return;
      if (frame.type === 'ready') {
        this.ready = true;
        this.attempt = 0;
        this.unauthorizedInARow = 0;
        this.backoff.reset();
        this.lastCloseCode = null;
        this.armWatchdog(this.heartbeatMs());
        this.scheduleRenew();
        this.setStatus('online');
      }
      if (frame.type === 'reauthed') {
        this.scheduleRenew();
        return;
      }
      if (frame.type === 'pong') return;
      this.opts.onFrame(frame);
    };
    socket.onerror = () => {
      /* a close event follows */
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.handleClose(ev.code);
    };
  }

  private heartbeatMs(): number {
    return this.opts.heartbeatMs ?? 20_000;
  }

  private armWatchdog(ms: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.onWatchdog(), ms);
  }

  private onWatchdog(): void {
    this.watchdog = null;
    if (!this.socket) return;
    if (!this.ready) {
      // Handshake (open + auth) took too long.
      this.handleClose(CLOSE_CLIENT_TIMEOUT);
      return;
    }
    const now = this.now();
    const pongTimeout = this.opts.pongTimeoutMs ?? 10_000;
    if (this.pingSentAt !== null && now - this.pingSentAt >= pongTimeout) {
      this.handleClose(CLOSE_CLIENT_TIMEOUT);
      return;
    }
    const silent = now - this.lastHeard;
    if (this.pingSentAt === null && silent >= this.heartbeatMs()) {
      this.pingSentAt = now;
      this.send({ type: 'ping' });
      this.armWatchdog(pongTimeout);
      return;
    }
    this.armWatchdog(
      this.pingSentAt !== null ? pongTimeout - (now - this.pingSentAt) : this.heartbeatMs() - silent,
    );
  }

  private handleClose(code: number): void {
    const wasSocket = this.socket !== null;
    this.dropSocket(CLOSE_CLIENT_TIMEOUT, 'closing');
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.cancelRenew();
    this.ready = false;
    this.lastCloseCode = code;
    if (wasSocket) this.opts.onDisconnect?.();
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHORIZED) {
      this.unauthorizedInARow++;
      const rejected = this.token;
      this.token = null;
      if (this.unauthorizedInARow <= 2 && rejected !== null) {
        const gen = ++this.generation;
        this.setStatus('reconnecting');
        this.opts.refreshToken(rejected).then(
          () => {
            if (gen === this.generation && !this.stopped) void this.connect();
          },
          (e: unknown) => {
            if (gen !== this.generation || this.stopped) return;
            if (e instanceof SessionExpiredError) this.expire();
            else this.scheduleReconnect();
          },
        );
        return;
      }
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const delay = this.backoff.next();
    this.attempt++;
    this.retryAt = this.now() + delay;
    const offline = this.opts.isOnline ? !this.opts.isOnline() : false;
    this.setStatus(offline ? 'offline' : 'reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }

  private expire(): void {
    this.stop();
    this.opts.onSessionExpired?.();
  }
}
