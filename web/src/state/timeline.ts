import { applyEventToMessage, applyEventToReplies, entrySeq, type StreamEntry } from './stream';
import type { Attachment, Message, MessagePage, RoomEvent } from './types';

/**
 * One room's timeline: the pure, immutable core of the client.
 *
 * A room's stream numbers messages and room events (edits, deletes,
 * reactions) together, so the messages held have gaps in their seqs where
 * events were. `hi` is the stream position: every entry up to it has been
 * applied. An entry (message or event) that arrives beyond hi+1 waits in
 * `ahead` until the gap before it is filled from the stream (`/events?after=hi`);
 * entries at or below hi were seen already and are dropped, so replays after a
 * reconnect, acks racing their live copy and overlapping pages merge into one.
 * History pages hold messages in their current state (events folded in) and
 * replace what is held. Pending (optimistic) messages are kept apart, keyed by
 * client_id, and disappear as soon as the confirmed message carrying the same
 * client_id from the same sender arrives by whatever route.
 */

export type PendingStatus = 'sending' | 'failed';

export interface PendingMessage {
  client_id: string;
  room: string;
  body: string;
  /** The seq of the message this one answers. */
  reply_to?: number;
  /** Uploads sent with it. */
  attachments?: Attachment[];
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
  /** Messages held, ascending and unique by seq (events leave holes between them). */
  messages: readonly Message[];
  /** Every stream entry up to this seq has been applied (0 for an empty room). */
  hi: number;
  /** Older messages exist before messages[0]. */
  hasOlder: boolean;
  /** Entries beyond hi+1, ascending and unique, waiting for a gap to close. */
  ahead: readonly StreamEntry[];
  pending: readonly PendingMessage[];
}

export function emptyTimeline(room: string): Timeline {
  return { room, loaded: false, messages: [], hi: 0, hasOlder: false, ahead: [], pending: [] };
}

/** Lowest seq held, or hi+1 when nothing is held. */
export function lowSeq(tl: Timeline): number {
  return tl.messages.length > 0 ? tl.messages[0]!.seq : tl.hi + 1;
}

/** Insert or replace by seq, keeping the list ascending. */
function upsertSorted(list: readonly Message[], msg: Message, replace: boolean): readonly Message[] {
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > msg.seq) i--;
  if (i > 0 && list[i - 1]!.seq === msg.seq) {
    if (!replace || list[i - 1] === msg) return list;
    const out = list.slice();
    out[i - 1] = msg;
    return out;
  }
  const out = list.slice();
  out.splice(i, 0, msg);
  return out;
}

function insertAhead(list: readonly StreamEntry[], entry: StreamEntry): readonly StreamEntry[] {
  const seq = entrySeq(entry);
  let i = list.length;
  while (i > 0 && entrySeq(list[i - 1]!) > seq) i--;
  if (i > 0 && entrySeq(list[i - 1]!) === seq) return list;
  const out = list.slice();
  out.splice(i, 0, entry);
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

/** Fold one room event into the messages it touches (its target, and replies quoting it). */
export function applyEvent(messages: readonly Message[], ev: RoomEvent): readonly Message[] {
  let changed = false;
  const out = messages.map((m) => {
    const next = applyEventToReplies(applyEventToMessage(m, ev), ev);
    if (next !== m) changed = true;
    return next;
  });
  return changed ? out : messages;
}

/**
 * Merge stream entries (live events, acks, replays, gap pages) into the
 * timeline. Order of arrival does not matter: each is applied once, in seq order.
 */
export function insertEntries(tl: Timeline, entries: readonly StreamEntry[], myId: string | null): Timeline {
  if (entries.length === 0) return tl;
  const arrived = entries.flatMap((e) => ('message' in e ? [e.message] : []));
  const pending = dropConfirmedPending(tl.pending, arrived, myId);
  let { messages, hi, ahead } = tl;
  let changed = pending !== tl.pending;
  for (const e of entries) {
    const seq = entrySeq(e);
    if (!Number.isInteger(seq) || seq < 1) continue;
    if (tl.loaded && seq <= hi) continue; // already applied
    const next = insertAhead(ahead, e);
    if (next !== ahead) {
      ahead = next;
      changed = true;
    }
  }
  if (tl.loaded && ahead.length > 0 && entrySeq(ahead[0]!) <= hi + 1) {
    let k = 0;
    while (k < ahead.length && entrySeq(ahead[k]!) <= hi + 1) {
      const e = ahead[k]!;
      if (entrySeq(e) === hi + 1) {
        messages = 'message' in e ? upsertSorted(messages, e.message, false) : applyEvent(messages, e.event);
        hi += 1;
      }
      k++;
    }
    ahead = ahead.slice(k);
    changed = true;
  }
  if (!changed) return tl;
  return { ...tl, messages, hi, ahead, pending };
}

/** Confirmed messages (live, acked, replayed): entries of the stream like any other. */
export function insertMessages(tl: Timeline, msgs: readonly Message[], myId: string | null): Timeline {
  return insertEntries(
    tl,
    msgs.map((message) => ({ message })),
    myId,
  );
}

/** History holds messages in their current state: they replace the copies held. */
function replaceHeld(tl: Timeline, msgs: readonly Message[]): readonly Message[] {
  let messages = tl.messages;
  const lo = lowSeq(tl);
  for (const m of msgs) if (m.seq >= lo && m.seq <= tl.hi) messages = upsertSorted(messages, m, true);
  return messages;
}

/**
 * The newest page (no cursor). The first load defines the window; later ones
 * (a refresh) merge like any other messages.
 */
export function applyLatestPage(tl: Timeline, page: MessagePage, myId: string | null): Timeline {
  if (tl.loaded) {
    const refreshed = { ...tl, messages: replaceHeld(tl, page.messages) };
    return insertMessages(refreshed, page.messages, myId);
  }
  const window = [...page.messages].sort((a, b) => a.seq - b.seq);
  const hi = window.length > 0 ? window[window.length - 1]!.seq : 0;
  const lo = window.length > 0 ? window[0]!.seq : 1;
  return windowAt(tl, window, hi, page.has_more || lo > 1, myId);
}

/** A window of current-state messages up to `hi`, then whatever was buffered beyond it. */
function windowAt(tl: Timeline, window: readonly Message[], hi: number, hasOlder: boolean, myId: string | null): Timeline {
  const base: Timeline = {
    ...tl,
    loaded: true,
    messages: window,
    hi,
    hasOlder,
    pending: dropConfirmedPending(tl.pending, window, myId),
    ahead: tl.ahead.filter((e) => entrySeq(e) > hi),
  };
  if (base.ahead.length === 0) return base;
  const buffered = base.ahead;
  return insertEntries({ ...base, ahead: [] }, buffered, myId);
}

/**
 * A page `around` a message far from what is held: it becomes the window, and
 * the stream after it is filled in from `hi` like any gap.
 */
export function applyAroundPage(tl: Timeline, page: MessagePage, myId: string | null): Timeline {
  const window = [...page.messages].sort((a, b) => a.seq - b.seq);
  if (window.length === 0) return tl;
  const hi = window[window.length - 1]!.seq;
  // For an around page, has_more says whether older messages exist.
  return windowAt({ ...tl, ahead: [] }, window, hi, page.has_more, myId);
}

/** A `before=lo` page: prepend the older messages (events leave holes, so none are expected contiguous). */
export function applyOlderPage(tl: Timeline, page: MessagePage, myId: string | null): Timeline {
  if (!tl.loaded) return tl;
  const lo = lowSeq(tl);
  const prefix = [...page.messages].filter((m) => m.seq < lo).sort((a, b) => a.seq - b.seq);
  const unique = prefix.filter((m, i) => i === 0 || prefix[i - 1]!.seq !== m.seq);
  return {
    ...tl,
    messages: unique.length > 0 ? unique.concat(tl.messages) : tl.messages,
    hasOlder: unique.length > 0 && page.has_more && unique[0]!.seq > 1,
    pending: dropConfirmedPending(tl.pending, unique, myId),
  };
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
