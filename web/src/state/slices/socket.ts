import type { ConnStatus, StatusInfo } from '../connection';
import type { User } from '../types';
import type { UserSession } from './session';

/** The socket's life as the UI sees it, and what happens on `ready` and `resumed`. */

export interface ConnState {
  status: ConnStatus;
  attempt: number;
  retryAt: number | null;
  /** The socket has been ready at least once in this session. */
  everOnline: boolean;
}

export interface SocketState {
  me: User | null;
  conn: ConnState;
}

export function initialSocket(me: User | null): SocketState {
  return { me, conn: { status: 'stopped', attempt: 0, retryAt: null, everOnline: false } };
}

export class SocketSlice {
  /** Between `ready` and `resumed`: messages are replays, not news (no notifications). */
  resuming = false;

  constructor(private readonly chat: UserSession) {}

  /** Seq to resume each known room from: the timeline's contiguous end, or the summary's. */
  resumeMap(): Record<string, number> {
    const { rooms, timelines } = this.chat.state;
    const out: Record<string, number> = {};
    for (const room of Object.values(rooms)) {
      if (room.placeholder) continue;
      const tl = timelines[room.id];
      out[room.id] = tl && tl.loaded ? tl.hi : room.last_seq;
    }
    return out;
  }

  onStatus(status: ConnStatus, info: StatusInfo): void {
    this.chat.set((s) => ({
      conn: {
        status,
        attempt: info.attempt,
        retryAt: info.retryAt,
        everOnline: s.conn.everOnline || status === 'online',
      },
    }));
  }

  onDisconnect(): void {
    this.resuming = false;
    this.chat.outbox.onDisconnect();
    // Typing indicators can not be trusted across a gap.
    this.chat.typing.clear();
  }

  /** Browser online/offline hints. */
  networkChanged(online: boolean): void {
    if (online) this.chat.conn.reconnectNow();
    else this.chat.conn.networkLost();
  }

  onReady(user: User, online: readonly string[]): void {
    this.resuming = true;
    this.chat.set((s) => ({ me: { ...s.me, ...user } }));
    this.chat.presence.snapshot(online);
    this.chat.presence.resubscribe();
    void this.chat.rooms.refreshAll();
    this.chat.outbox.flush();
    this.chat.actions.flush();
    this.chat.reads.flushAll();
  }

  onResumed(incomplete: readonly string[]): void {
    this.resuming = false;
    this.chat.gaps.onResumed(incomplete);
  }
}
