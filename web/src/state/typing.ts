import type { User } from './types';

export const TYPING_SEND_INTERVAL_MS = 3000;
export const TYPING_SHOW_MS = 5000;

/** The gateway drops typing frames closer together than this (per user and room). */
export const TYPING_SERVER_MIN_MS = 2000;

/**
 * Sender side: at most one `typing` frame per room every interval. Right after
 * a message was sent the next keystroke may announce again sooner (the
 * receivers cleared the indicator when the message arrived), but never sooner
 * than the server accepts; `retryAt` then says when to try again.
 */
export class TypingThrottle {
  private readonly last = new Map<string, number>();
  private readonly fresh = new Set<string>();
  constructor(
    private readonly intervalMs = TYPING_SEND_INTERVAL_MS,
    private readonly serverMinMs = TYPING_SERVER_MIN_MS + 100,
  ) {}

  decide(room: string, now: number): { send: boolean; retryAt: number | null } {
    const prev = this.last.get(room);
    const elapsed = prev === undefined ? Infinity : now - prev;
    const gap = this.fresh.has(room) ? this.serverMinMs : this.intervalMs;
    if (elapsed >= gap || elapsed < 0) {
      this.last.set(room, now);
      this.fresh.delete(room);
      return { send: true, retryAt: null };
    }
    return { send: false, retryAt: this.fresh.has(room) ? prev! + gap : null };
  }

  /** True when a frame should be sent now (and records it). */
  shouldSend(room: string, now: number): boolean {
    return this.decide(room, now).send;
  }

  /** A message was sent: the next keystroke announces typing again as soon as allowed. */
  reset(room: string): void {
    if (this.last.has(room)) this.fresh.add(room);
  }
}

export interface TypingEntry {
  user: User;
  until: number;
}

/** Receiver side: remember who types where until `until`. */
export function addTyping(
  list: readonly TypingEntry[],
  user: User,
  now: number,
  ttl = TYPING_SHOW_MS,
): TypingEntry[] {
  const rest = list.filter((e) => e.user.id !== user.id && e.until > now);
  return rest.concat([{ user, until: now + ttl }]);
}

export function removeTyping(list: readonly TypingEntry[], userId: string): readonly TypingEntry[] {
  const rest = list.filter((e) => e.user.id !== userId);
  return rest.length === list.length ? list : rest;
}

export function activeTyping(list: readonly TypingEntry[], now: number): TypingEntry[] {
  return list.filter((e) => e.until > now);
}

/** "Ana is typing…", "Ana and Ben are typing…", "Ana, Ben and 2 others are typing…" */
export function typingLabel(users: readonly Pick<User, 'display_name' | 'username'>[]): string {
  const names = users.map((u) => u.display_name || u.username);
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others are typing…`;
}
