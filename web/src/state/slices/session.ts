import type { ApiClient } from '../api';
import type { ConnectionOptions } from '../connection';
import type { RoomState } from '../rooms';
import type { TokenManager } from '../tokens';
import type { ClientFrame, ErrorCode, Message, ServerEvent, User } from '../types';
import { ActionsSlice, initialActions, type ActionsState } from './actions';
import { DraftsSlice } from './drafts';
import { GapsSlice } from './gaps';
import { OutboxSlice } from './outbox';
import { initialNotifications, NotificationsSlice, type NotificationsState } from './notifications';
import { initialPresence, PresenceSlice, type PresenceState } from './presence';
import { initialProfile, ProfileSlice, type ProfileState } from './profile';
import { ReadsSlice } from './reads';
import { initialRooms, RoomsSlice, type RoomsState } from './rooms';
import { initialSocket, SocketSlice, type SocketState } from './socket';
import { initialTimeline, TimelineSlice, type TimelineState } from './timeline';
import { initialTyping, TypingSlice, type TypingState } from './typing';

/**
 * One signed-in user's part of the client: the slices (socket, rooms,
 * timeline, outbox, reads, gaps, typing, presence, profile, drafts) combined, with the
 * socket connection they share. Everything that belongs to the user lives in
 * here and nowhere else, so signing out drops it whole: the store disposes the
 * session (timers cleared, socket closed, writes refused from then on) and a
 * new sign-in starts from a fresh one.
 */

export interface ConnectionLike {
  start(): void;
  stop(): void;
  send(frame: ClientFrame): boolean;
  reconnectNow(): void;
  networkLost(): void;
  readonly isReady: boolean;
}

export type ConnectOptions = Pick<
  ConnectionOptions,
  | 'getToken'
  | 'refreshToken'
  | 'renewInMs'
  | 'resumeMap'
  | 'onFrame'
  | 'onStatus'
  | 'onDisconnect'
  | 'onSessionExpired'
>;

export interface Timing {
  ackTimeoutMs: number;
  gapGraceMs: number;
  readThrottleMs: number;
  pageSize: number;
  gapPageSize: number;
  maxSendRetries: number;
}

export const DEFAULT_TIMING: Timing = {
  ackTimeoutMs: 15_000,
  gapGraceMs: 400,
  readThrottleMs: 800,
  pageSize: 50,
  gapPageSize: 100,
  maxSendRetries: 6,
};

/** What a session needs from outside; the store hands over its own. */
export interface SessionDeps {
  api: ApiClient;
  tokens: Pick<TokenManager, 'getAccessToken' | 'refresh' | 'msUntilRefresh'>;
  /** Build the socket connection (real: `new Connection(opts)`). */
  connect: (opts: ConnectOptions) => ConnectionLike;
  now: () => number;
  newId: () => string;
  /** Desktop notification hook; called for live messages from others. */
  notify?: (msg: Message, room: RoomState | undefined) => void;
  timing: Timing;
  /** The server ended the session (refresh refused). */
  onExpired: () => void;
}

export interface Notice {
  id: number;
  text: string;
}

/** The state a session shows: each slice's keys, combined flat. */
export interface SessionState
  extends SocketState,
    RoomsState,
    TimelineState,
    TypingState,
    PresenceState,
    ProfileState,
    ActionsState,
    NotificationsState {
  /** A transient message for the user (toast). */
  notice: Notice | null;
}

export function initialSessionState(me: User | null): SessionState {
  return {
    ...initialSocket(me),
    ...initialRooms(),
    ...initialTimeline(),
    ...initialTyping(),
    ...initialPresence(),
    ...initialProfile(),
    ...initialActions(),
    ...initialNotifications(),
    notice: null,
  };
}

export type Patch = Partial<SessionState> | ((s: SessionState) => Partial<SessionState>);

/** The session's window on the store's state. */
export interface StateAccess {
  get(): SessionState;
  set(patch: Patch): void;
}

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'unavailable']);

let lastId = 0;

export class UserSession {
  /** Tells sessions apart (React remounts the chat for a new one). */
  readonly id = ++lastId;
  readonly deps: SessionDeps;
  readonly conn: ConnectionLike;
  readonly socket: SocketSlice;
  readonly rooms: RoomsSlice;
  readonly timeline: TimelineSlice;
  readonly outbox: OutboxSlice;
  readonly actions: ActionsSlice;
  readonly reads: ReadsSlice;
  readonly gaps: GapsSlice;
  readonly typing: TypingSlice;
  readonly presence: PresenceSlice;
  readonly profile: ProfileSlice;
  readonly drafts: DraftsSlice;
  readonly notifications: NotificationsSlice;
  private readonly access: StateAccess;
  /** The state as it was when the session ended; a disposed session never sees its successor's. */
  private final: SessionState | null = null;
  private noticeSeq = 0;

  constructor(access: StateAccess, deps: SessionDeps) {
    this.access = access;
    this.deps = deps;
    this.socket = new SocketSlice(this);
    this.rooms = new RoomsSlice(this);
    this.timeline = new TimelineSlice(this);
    this.outbox = new OutboxSlice(this);
    this.actions = new ActionsSlice(this);
    this.reads = new ReadsSlice(this);
    this.gaps = new GapsSlice(this);
    this.typing = new TypingSlice(this);
    this.presence = new PresenceSlice(this);
    this.profile = new ProfileSlice(this);
    this.drafts = new DraftsSlice();
    this.notifications = new NotificationsSlice(this);
    this.conn = deps.connect({
      getToken: () => deps.tokens.getAccessToken(),
      refreshToken: (rejected) => deps.tokens.refresh(rejected),
      renewInMs: () => deps.tokens.msUntilRefresh(),
      resumeMap: () => this.socket.resumeMap(),
      onFrame: (event) => this.handleEvent(event),
      onStatus: (status, info) => this.socket.onStatus(status, info),
      onDisconnect: () => this.socket.onDisconnect(),
      onSessionExpired: () => deps.onExpired(),
    });
  }

  get state(): SessionState {
    return this.final ?? this.access.get();
  }

  /** False once signed out: late answers and timers of this session change nothing. */
  get alive(): boolean {
    return this.final === null;
  }

  get myId(): string | null {
    return this.state.me?.id ?? null;
  }

  get timing(): Timing {
    return this.deps.timing;
  }

  now(): number {
    return this.deps.now();
  }

  set(patch: Patch): void {
    if (this.alive) this.access.set(patch);
  }

  /** The room list is fetched right away (sidebar and resume map early) and again after every `ready`. */
  start(): void {
    void this.rooms.refreshAll();
    void this.profile.loadSettings();
    this.conn.start();
  }

  /** Before the store forgets the user: stop the socket and every timer, refuse writes. */
  dispose(): void {
    if (!this.alive) return;
    this.final = this.access.get();
    this.conn.stop();
    this.outbox.dispose();
    this.actions.dispose();
    this.reads.dispose();
    this.gaps.dispose();
    this.typing.dispose();
    this.notifications.dispose();
  }

  /** One server event to the slice that owns it. */
  handleEvent(event: ServerEvent): void {
    if (!this.alive) return;
    switch (event.type) {
      case 'ready':
        this.socket.onReady(event.user, event.online);
        this.notifications.sendFocus();
        void this.notifications.refresh();
        break;
      case 'notification':
        this.notifications.onNotification(event.notification);
        break;
      case 'message':
        this.timeline.onMessage(event.message, !this.socket.resuming);
        break;
      case 'ack':
        if (event.message) this.outbox.onAck(event.client_id, event.message);
        else this.actions.onAck(event.client_id, event.event ?? null);
        break;
      case 'event':
        this.timeline.onEvent(event.event);
        break;
      case 'resumed':
        this.socket.onResumed(event.incomplete);
        break;
      case 'room':
        this.rooms.onRoomEvent(event.room);
        this.presence.markOnline(event.online);
        break;
      case 'room_updated':
        this.rooms.onRoomUpdated(event);
        break;
      case 'left':
        this.rooms.forget(event.room);
        break;
      case 'typing':
        this.typing.onTyping(event.room, event.user);
        break;
      case 'read':
        this.reads.onRead(event.room, event.user.id, event.seq);
        break;
      case 'presence':
        this.presence.onPresence(event.user, event.status);
        if (event.status === 'offline') this.profile.onOffline(event.user.id, event.last_seen);
        break;
      case 'user_updated':
        this.profile.onUserUpdated(event.user);
        break;
      case 'presence_subscribed':
        this.presence.onSubscribed(event.users, event.online);
        break;
      case 'error':
        this.onError(event.code, event.message, event.client_id);
        break;
      case 'pong':
      case 'reauthed':
        break;
    }
  }

  private onError(code: ErrorCode, text: string, clientId: string | undefined): void {
    if (clientId && this.actions.owns(clientId)) {
      this.actions.onError(clientId, code, text, RETRYABLE.has(code));
      return;
    }
    if (clientId) {
      this.outbox.onSendError(clientId, code, text, RETRYABLE.has(code));
      return;
    }
    if (code === 'unauthorized') return; // the close (4401) that follows is handled
    if (code === 'rate_limited') {
      this.toast('Slow down a little — too many actions at once.');
      return;
    }
    if (text) this.toast(text);
  }

  toast(text: string): void {
    this.set({ notice: { id: ++this.noticeSeq, text } });
  }

  dismissNotice(): void {
    this.set({ notice: null });
  }
}
