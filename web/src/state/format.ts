import type { Message, User } from './types';
import { hour12 } from './preferences';
import type { PendingMessage } from './timeline';

/** Up to two initials from a display name or username. */
export function initials(user: Pick<User, 'display_name' | 'username'>): string {
  const source = (user.display_name || user.username || '?').trim();
  const words = source.split(/[\s._-]+/u).filter(Boolean);
  const first = words[0] ?? source;
  const pick = (w: string) => Array.from(w)[0] ?? '';
  const letters = words.length >= 2 ? pick(first) + pick(words[words.length - 1]!) : pick(first);
  return letters.toUpperCase() || '?';
}

/** Hues that read well as avatar backgrounds with white text (no muddy yellows). */
const AVATAR_HUES = [265, 295, 330, 10, 35, 150, 175, 200, 230, 250] as const;

/** A stable hue per id, for avatar backgrounds. */
export function hueFor(id: string): number {
  // FNV-1a; sequential ids ("1", "2", "3"…) spread over the palette.
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return AVATAR_HUES[h % AVATAR_HUES.length]!;
}

function dayKey(d: Date): string {
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function isSameDay(a: Date, b: Date): boolean {
  return dayKey(a) === dayKey(b);
}

/** "Today", "Yesterday", "Monday, March 3", or with the year when not this year. */
export function dayLabel(d: Date, now: Date): string {
  if (isSameDay(d, now)) return 'Today';
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (isSameDay(d, y)) return 'Yesterday';
  const opts: Intl.DateTimeFormatOptions = { weekday: 'long', month: 'long', day: 'numeric' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString(undefined, opts);
}

/** "4:34 AM" or "16:34": the hour cycle the user chose, else as the locale writes it. */
export function timeLabel(d: Date, twelve: boolean | undefined = hour12()): string {
  return d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit', hour12: twelve });
}

/** When an offline user was last connected: "just now", "5 min ago", "3 h ago", yesterday, a date. */
export function lastSeenLabel(at: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - at.getTime()) / 60_000);
  if (minutes < 1) return 'last seen just now';
  if (minutes < 60) return `last seen ${minutes} min ago`;
  if (isSameDay(at, now)) return `last seen ${Math.floor(minutes / 60)} h ago`;
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (isSameDay(at, y)) return `last seen yesterday at ${timeLabel(at)}`;
  return `last seen ${at.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}`;
}

/** Short relative stamp for the sidebar: time today, weekday this week, else date. */
export function shortStamp(d: Date, now: Date): string {
  if (isSameDay(d, now)) return timeLabel(d);
  const diffDays = (now.getTime() - d.getTime()) / 86_400_000;
  if (diffDays < 6) return d.toLocaleDateString(undefined, { weekday: 'short' });
  if (d.getFullYear() === now.getFullYear()) {
    return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  }
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export type Row =
  | {
      kind: 'day';
      key: string;
      label: string;
      /** Nothing older exists: this separator also says the conversation starts here. */
      start: boolean;
      /** The unread marker falls on this day change: one separator says both. */
      unread: boolean;
    }
  | { kind: 'unread'; key: string }
  | {
      kind: 'message';
      key: string;
      message: Message;
      /** First of a run from the same sender: show avatar and name. */
      head: boolean;
      mine: boolean;
    }
  | { kind: 'pending'; key: string; pending: PendingMessage; sender: User | null; head: boolean };

/** Messages from one sender within this many ms form one group. */
export const GROUP_WINDOW_MS = 5 * 60_000;

/**
 * Turn a timeline into display rows: day separators, the "new messages"
 * marker before `unreadFrom`, and head flags for grouping by sender. Where
 * separators would stack (the start of the conversation, a day change, the
 * unread marker) they merge into one day row, so a new room shows one line.
 */
export function buildRows(
  messages: readonly Message[],
  pending: readonly PendingMessage[],
  me: User | null,
  unreadFrom: number | null,
  now: Date,
  atStart = false,
): Row[] {
  const rows: Row[] = [];
  let prevSender: string | null = null;
  let prevTime = 0;
  let prevDay: string | null = null;
  /** Emit a day separator when needed; returns whether a new group starts. */
  const step = (senderId: string, at: Date, marker: boolean): boolean => {
    const day = dayKey(at);
    let head = false;
    if (day !== prevDay) {
      rows.push({ kind: 'day', key: `day-${day}`, label: dayLabel(at, now), start: atStart && prevDay === null, unread: marker });
      prevDay = day;
      head = true;
    } else if (marker) {
      rows.push({ kind: 'unread', key: 'unread-marker' });
    }
    if (marker) head = true;
    if (senderId !== prevSender || at.getTime() - prevTime > GROUP_WINDOW_MS) head = true;
    prevSender = senderId;
    prevTime = at.getTime();
    return head;
  };
  for (const m of messages) {
    const at = new Date(m.created_at);
    const head = step(m.sender.id, at, unreadFrom !== null && m.seq === unreadFrom);
    const mine = me !== null && m.sender.id === me.id;
    rows.push({
      kind: 'message',
      // Own messages keep the key they had while pending, so the row is
      // updated in place when the ack arrives instead of re-mounted.
      key: mine && m.client_id ? `c-${m.client_id}` : `m-${m.seq}`,
      message: m,
      head,
      mine,
    });
  }
  for (const p of pending) {
    const at = new Date(p.created_at);
    const head = step(me?.id ?? '__me__', at, false);
    rows.push({ kind: 'pending', key: `c-${p.client_id}`, pending: p, sender: me, head });
  }
  return rows;
}

/** One-line preview of a message body for the sidebar. */
export function preview(body: string, max = 80): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
