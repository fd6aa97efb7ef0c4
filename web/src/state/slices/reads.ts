import { applyReadToRoom } from '../rooms';
import type { UserSession } from './session';

/**
 * My read markers: they only move forward, clear the badge at once, and go to
 * the server throttled per room (the latest value wins).
 */
export class ReadsSlice {
  /** Per room: the highest seq marked read here. */
  private readonly marked = new Map<string, number>();
  /** Per room: the highest seq the socket took. */
  private readonly flushed = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastSentAt = new Map<string, number>();

  constructor(private readonly chat: UserSession) {}

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Messages up to `seq` have been seen. */
  mark(roomId: string, seq: number): void {
    const chat = this.chat;
    const room = chat.state.rooms[roomId];
    if (!room || !Number.isInteger(seq) || seq < 1) return;
    if (seq <= (this.marked.get(roomId) ?? 0)) return; // only forward
    if (seq <= room.readSeq) return; // the server already has this marker
    // Optimistic: the badge clears at once.
    const { room: next } = applyReadToRoom(room, seq, chat.state.timelines[roomId], chat.myId);
    if (next !== room) chat.rooms.set(next, false);
    this.marked.set(roomId, seq);
    this.schedule(roomId);
  }

  /** Send throttled read markers right away (the page is being hidden or closed). */
  flushPending(): void {
    for (const [roomId, t] of this.timers) {
      clearTimeout(t);
      this.timers.delete(roomId);
      this.send(roomId);
    }
  }

  /** A new socket: it knows nothing of what the last one took. */
  flushAll(): void {
    this.flushed.clear();
    for (const roomId of this.marked.keys()) this.send(roomId);
  }

  /** A `read` event: mine (maybe from another tab) moves my marker; others' are not shown. */
  onRead(roomId: string, userId: string, seq: number): void {
    const chat = this.chat;
    if (userId !== chat.myId) return;
    const room = chat.state.rooms[roomId];
    if (!room) return;
    const { room: next, needsRefresh } = applyReadToRoom(room, seq, chat.state.timelines[roomId], chat.myId);
    if (next !== room) chat.rooms.set(next, false);
    if (needsRefresh) void chat.rooms.refresh(roomId);
  }

  forget(roomId: string): void {
    this.marked.delete(roomId);
  }

  private schedule(roomId: string): void {
    if (this.timers.has(roomId)) return;
    const last = this.lastSentAt.get(roomId) ?? 0;
    const wait = Math.max(0, last + this.chat.timing.readThrottleMs - this.chat.now());
    this.timers.set(
      roomId,
      setTimeout(() => {
        this.timers.delete(roomId);
        this.send(roomId);
      }, wait),
    );
  }

  private send(roomId: string): void {
    const seq = this.marked.get(roomId);
    if (seq === undefined) return;
    if ((this.flushed.get(roomId) ?? 0) >= seq) return;
    if (this.chat.alive && this.chat.conn.send({ type: 'read', room: roomId, seq })) {
      this.flushed.set(roomId, seq);
      this.lastSentAt.set(roomId, this.chat.now());
    }
  }
}
