import type { Message, MessagePage } from './types';

/**
 * One room's message timeline: the pure, immutable core of the client.
 *
 * Confirmed messages form one contiguous window of seqs [lo..hi]. A message
 * that arrives beyond hi+1 waits in `ahead` until the gap before it is filled
 * from history (`after=hi`); duplicates (by seq) are dropped, so replays after
 * a reconnect, acks racing their `message` event and overlapping history pages
 * all merge into one copy. Pending (optimistic) messages are kept apart, keyed
 * by client_id, and disappear as soon as the confirmed message carrying the
 * same client_id from the same sender arrives by whatever route.
 */

export type PendingStatus = 'sending' | 'failed';

export interface PendingMessage {
  client_id: string;
  room: string;
  body: string;
  /** Local creation time (ISO), for display. */
  created_at: string;
  status: PendingStatus;
  /** A final failure (invalid_input / not_found) is never re-sent by itself. */
  final: boolean;
  error: string | null;
  /** How many times the frame was handed to the socket. */
  attempts: number;
}

export interface Timeline {
  room: string;
  /** The latest page has been fetched; before that hi is meaningless. */
  loaded: boolean;
  messages: readonly Message[];
  /** Highest contiguous seq held (0 for an empty room). */
  hi: number;
  /** Older messages exist before messages[0]. */
  hasOlder: boolean;
  /** Messages beyond hi+1, ascending and unique, waiting for a gap to close. */
  ahead: readonly Message[];
  pending: readonly PendingMessage[];
}

export function emptyTimeline(room: string): Timeline {
  return { room, loaded: false, messages: [], hi: 0, hasOlder: false, ahead: [], pending: [] };
}

/** Lowest seq held, or hi+1 when nothing is held. */
export function lowSeq(tl: Timeline): number {
  return tl.messages.length > 0 ? tl.messages[0]!.seq : tl.hi + 1;
}

function insertSorted(list: readonly Message[], msg: Message): readonly Message[] {
  // Unique by seq, ascending. Lists here are short; linear from the end.
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > msg.seq) i--;
  if (i > 0 && list[i - 1]!.seq === msg.seq) return list;
  const out = list.slice();
  out.splice(i, 0, msg);
  return out;
}

function dropConfirmedPending(
  pending: readonly PendingMessage[],
  msgs: readonly Message[],
  myId: string | null,
): readonly PendingMessage[] {
  if (pending.length === 0) return pending;
  const confirmed = new Set<string>();
  for (const m of msgs) {
    if (m.client_id && (myId === null || m.sender.id === myId)) confirmed.add(m.client_id);
  }
  if (confirmed.size === 0) return pending;
  const kept = pending.filter((p) => !confirmed.has(p.client_id));
  return kept.length === pending.length ? pending : kept;
}

/**
 * Merge confirmed messages (live events, acks, replays or history pages) into
 * the timeline. Order of arrival does not matter.
 */
export function insertMessages(
  tl: Timeline,
  msgs: readonly Message[],
  myId: string | null,
): Timeline {
  if (msgs.length === 0) return tl;
  const pending = dropConfirmedPending(tl.pending, msgs, myId);
  let { messages, hi, ahead } = tl;
  let changed = pending !== tl.pending;
  const sorted = [...msgs].sort((a, b) => a.seq - b.seq);
  for (const m of sorted) {
    if (!Number.isInteger(m.seq) || m.seq < 1) continue;
    if (tl.loaded && m.seq <= hi) continue; // already held (or older than the window)
    const next = insertSorted(ahead, m);
    if (next !== ahead) {
      ahead = next;
      changed = true;
    }
  }
  if (tl.loaded && ahead.length > 0 && ahead[0]!.seq <= hi + 1) {
    // Absorb every contiguous message from the buffer into the window.
    const appended: Message[] = [];
    let k = 0;
    while (k < ahead.length && ahead[k]!.seq <= hi + 1) {
      const m = ahead[k]!;
      if (m.seq === hi + 1) {
        appended.push(m);
        hi = m.seq;
      }
      k++;
    }
    ahead = ahead.slice(k);
    if (appended.length > 0) messages = messages.concat(appended);
    changed = true;
  }
  if (!changed) return tl;
  return { ...tl, messages, hi, ahead, pending };
}

/**
 * The newest page (no cursor). The first load defines the window; later ones
 * (a refresh) merge like any other messages.
 */
export function applyLatestPage(tl: Timeline, page: MessagePage, myId: string | null): Timeline {
  if (tl.loaded) return insertMessages(tl, page.messages, myId);
  const sorted = [...page.messages].sort((a, b) => a.seq - b.seq);
  // Keep the contiguous tail of the page (a well-behaved server sends only that).
  let start = sorted.length - 1;
  while (start > 0 && sorted[start - 1]!.seq === sorted[start]!.seq - 1) start--;
  const window = start >= 0 ? sorted.slice(start) : [];
  const hi = window.length > 0 ? window[window.length - 1]!.seq : 0;
  const lo = window.length > 0 ? window[0]!.seq : 1;
  const base: Timeline = {
    ...tl,
    loaded: true,
    messages: window,
    hi,
    hasOlder: page.has_more || start > 0 || lo > 1,
    pending: dropConfirmedPending(tl.pending, window, myId),
    ahead: tl.ahead.filter((m) => m.seq > hi),
  };
  if (base.ahead.length === 0) return base;
  // Re-run the buffer through the merge so contiguous ones get absorbed.
  const buffered = base.ahead;
  return insertMessages({ ...base, ahead: [] }, buffered, myId);
}

/** A `before=lo` page: prepend what is contiguous with the window. */
export function applyOlderPage(tl: Timeline, page: MessagePage, myId: string | null): Timeline {
  if (!tl.loaded) return tl;
  const lo = lowSeq(tl);
  const older = [...page.messages].filter((m) => m.seq < lo).sort((a, b) => b.seq - a.seq);
  const prefix: Message[] = [];
  let expect = lo - 1;
  for (const m of older) {
    if (m.seq === expect) {
      prefix.push(m);
      expect--;
    } else if (m.seq < expect) {
      break; // hole in the page: stop at the contiguous part
    }
  }
  prefix.reverse();
  const newLo = prefix.length > 0 ? prefix[0]!.seq : lo;
  return {
    ...tl,
    messages: prefix.length > 0 ? prefix.concat(tl.messages) : tl.messages,
    // A hole inside the page means older messages remain to be asked for.
    hasOlder: newLo > 1 && prefix.length > 0 && (page.has_more || prefix.length < older.length),
    pending: dropConfirmedPending(tl.pending, prefix, myId),
  };
}

/** An `after=` page (gap fill or incomplete resume). */
export function applyNewerPage(tl: Timeline, page: MessagePage, myId: string | null): Timeline {
  return insertMessages(tl, page.messages, myId);
}

/**
 * Where history must be fetched from to close a gap: the `after=` cursor, or
 * null if the window is complete. `knownLastSeq` is the highest seq the client
 * has heard of by any route (room list, room event, live message).
 */
export function gapCursor(tl: Timeline, knownLastSeq = 0): number | null {
  if (!tl.loaded) return null;
  if (tl.ahead.length > 0) return tl.hi;
  if (knownLastSeq > tl.hi) return tl.hi;
  return null;
}

/** The seq a (re)connection resumes this room from. */
export function resumeCursor(tl: Timeline): number | null {
  return tl.loaded ? tl.hi : null;
}

export function addPending(tl: Timeline, p: PendingMessage): Timeline {
  if (tl.pending.some((x) => x.client_id === p.client_id)) return tl;
  return { ...tl, pending: tl.pending.concat([p]) };
}

export function updatePending(
  tl: Timeline,
  clientId: string,
  patch: Partial<Omit<PendingMessage, 'client_id' | 'room'>>,
): Timeline {
  let hit = false;
  const pending = tl.pending.map((p) => {
    if (p.client_id !== clientId) return p;
    hit = true;
    return { ...p, ...patch };
  });
  return hit ? { ...tl, pending } : tl;
}

export function removePending(tl: Timeline, clientId: string): Timeline {
  const pending = tl.pending.filter((p) => p.client_id !== clientId);
  return pending.length === tl.pending.length ? tl : { ...tl, pending };
}

/**
 * The seq of the first unread message given the server's unread count (which
 * counts only other people's messages after the read marker). Returns null
 * when nothing is unread; when the loaded window does not reach back far
 * enough, returns the oldest loaded message from someone else, flagged.
 */
export function firstUnreadSeq(
  messages: readonly Message[],
  unread: number,
  myId: string | null,
): { seq: number; exact: boolean } | null {
  if (unread <= 0) return null;
  let counted = 0;
  let seq: number | null = null;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.sender.id === myId) continue;
    counted++;
    seq = m.seq;
    if (counted >= unread) return { seq, exact: true };
  }
  return seq === null ? null : { seq, exact: false };
}
