import { activeTyping, addTyping, removeTyping, TypingThrottle, type TypingEntry } from '../typing';
import type { User } from '../types';
import type { UserSession } from './session';

/** Who is typing where (shown ~5 s), and announcing my own typing, throttled. */

export interface TypingState {
  typing: Readonly<Record<string, readonly TypingEntry[]>>;
}

export function initialTyping(): TypingState {
  return { typing: {} };
}

export class TypingSlice {
  private readonly throttle = new TypingThrottle();
  private readonly retries = new Map<string, ReturnType<typeof setTimeout>>();
  private pruneTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly chat: UserSession) {}

  dispose(): void {
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    if (this.pruneTimer) clearTimeout(this.pruneTimer);
    this.pruneTimer = null;
  }

  /** The composer changed (non-empty): announce typing, throttled. */
  start(roomId: string): void {
    const chat = this.chat;
    if (!chat.alive || !chat.conn.isReady) return;
    const { send, retryAt } = this.throttle.decide(roomId, chat.now());
    if (send) {
      this.stop(roomId);
      chat.conn.send({ type: 'typing', room: roomId });
    } else if (retryAt !== null && !this.retries.has(roomId)) {
      this.retries.set(
        roomId,
        setTimeout(() => {
          this.retries.delete(roomId);
          this.start(roomId);
        }, Math.max(0, retryAt - chat.now())),
      );
    }
  }

  /** The composer was emptied: drop a scheduled typing announcement. */
  stop(roomId: string): void {
    const t = this.retries.get(roomId);
    if (t) clearTimeout(t);
    this.retries.delete(roomId);
  }

  /** I sent a message: the next keystroke may announce again sooner. */
  sent(roomId: string): void {
    this.throttle.reset(roomId);
  }

  onTyping(roomId: string, user: User): void {
    const chat = this.chat;
    if (user.id === chat.myId) return;
    const list = addTyping(chat.state.typing[roomId] ?? [], user, chat.now());
    chat.set((s) => ({ typing: { ...s.typing, [roomId]: list } }));
    this.schedulePrune();
  }

  /** Their message arrived: they stopped typing. */
  stoppedBy(roomId: string, userId: string): void {
    const list = this.chat.state.typing[roomId];
    if (!list) return;
    const rest = removeTyping(list, userId);
    if (rest !== list) this.chat.set((s) => ({ typing: { ...s.typing, [roomId]: rest } }));
  }

  clear(): void {
    if (Object.keys(this.chat.state.typing).length > 0) this.chat.set({ typing: {} });
  }

  private schedulePrune(): void {
    const chat = this.chat;
    if (this.pruneTimer) clearTimeout(this.pruneTimer);
    let next = Infinity;
    for (const list of Object.values(chat.state.typing)) {
      for (const e of list) next = Math.min(next, e.until);
    }
    if (next === Infinity) return;
    this.pruneTimer = setTimeout(() => {
      this.pruneTimer = null;
      const now = chat.now();
      const typing: Record<string, readonly TypingEntry[]> = {};
      for (const [room, list] of Object.entries(chat.state.typing)) {
        const live = activeTyping(list, now);
        if (live.length > 0) typing[room] = live;
      }
      chat.set({ typing });
      this.schedulePrune();
    }, Math.max(0, next - chat.now()) + 20);
  }
}
