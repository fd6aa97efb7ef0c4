import { applyEventToRoom, applyMessageToRoom } from '../rooms';
import { gapCursor, insertEntries } from '../timeline';
import type { UserSession } from './session';

/**
 * Holes in a loaded timeline (an entry beyond the contiguous end, or a
 * resume that hit the server's cap) are filled from the room's stream
 * (`/events?after=`), messages and room events in seq order.
 */
export class GapsSlice {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  /** Rooms whose resume was cut short: page until has_more is false. */
  private readonly incomplete = new Set<string>();

  constructor(private readonly chat: UserSession) {}

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  check(id: string): void {
    const tl = this.chat.state.timelines[id];
    const room = this.chat.state.rooms[id];
    if (!tl) return;
    if (gapCursor(tl, room?.last_seq ?? 0) === null && !this.incomplete.has(id)) return;
    if (this.timers.has(id) || this.running.has(id)) {
      if (this.running.has(id)) this.again.add(id);
      return;
    }
    // A short grace period: an ack can overtake the message events before
    // it, which closes the "gap" by itself.
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        void this.fill(id);
      }, this.chat.timing.gapGraceMs),
    );
  }

  /** `resumed`: rooms that missed more than the server replays are paged in. */
  onResumed(incomplete: readonly string[]): void {
    for (const id of incomplete) {
      const tl = this.chat.state.timelines[id];
      if (tl && tl.loaded) {
        this.incomplete.add(id);
        void this.fill(id);
      } else {
        void this.chat.rooms.refresh(id);
      }
    }
  }

  forget(id: string): void {
    this.incomplete.delete(id);
  }

  /** Page forward with `after=` until the window reaches everything known. */
  async fill(id: string): Promise<void> {
    const chat = this.chat;
    if (this.running.has(id)) {
      this.again.add(id);
      return;
    }
    this.running.add(id);
    try {
      for (let pages = 0; pages < 200; pages++) {
        const tl = chat.state.timelines[id];
        const room = chat.state.rooms[id];
        if (!tl || !tl.loaded) break;
        const cursor = this.incomplete.has(id) ? tl.hi : gapCursor(tl, room?.last_seq ?? 0);
        if (cursor === null) break;
        const page = await chat.deps.api.entries(id, cursor, chat.timing.gapPageSize);
        if (!chat.alive) return;
        const cur = chat.state.timelines[id];
        if (!cur) break;
        const next = insertEntries(cur, page.entries, chat.myId);
        chat.timeline.set(next);
        chat.outbox.settle(id);
        const r = chat.state.rooms[id];
        if (r) {
          let updated = r;
          for (const e of page.entries) {
            updated = 'message' in e ? applyMessageToRoom(updated, e.message, chat.myId) : applyEventToRoom(updated, e.event);
          }
          if (updated !== r) chat.rooms.set(updated);
        }
        const complete = next.hi >= page.last_seq;
        if (complete) this.incomplete.delete(id);
        if (next.hi === cur.hi) break; // no progress
        if (complete && gapCursor(next, chat.state.rooms[id]?.last_seq ?? 0) === null) break;
      }
    } catch {
      // Leave the gap; the next event or reconnect tries again.
    } finally {
      this.running.delete(id);
      if (this.again.delete(id) && chat.alive) this.check(id);
    }
  }
}
