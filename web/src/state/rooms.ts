import { applyEventToMessage } from './stream';
import type { Message, Room, RoomEvent, User } from './types';
import { lowSeq, type Timeline } from './timeline';

/**
 * Sidebar bookkeeping for one room: the server's Room plus what the client
 * learnt since (live messages, read markers), merged so that refreshing the
 * list after a reconnect neither loses nor double-counts anything.
 */
export interface RoomState extends Room {
  /** Highest read marker of mine that is known (0 = unknown). */
  readSeq: number;
  /** Seqs of other people's messages received live (newest last, capped). */
  liveOthers: readonly number[];
  /** Sort key: time of the newest activity, ms since epoch. */
  activity: number;
  /** Created locally from an event, details not fetched yet. */
  placeholder: boolean;
  /** A direct conversation I hid: out of the list until its next message. */
  hidden?: boolean;
}

const LIVE_CAP = 1000;

function activityOf(room: Room, fallback: number): number {
  if (room.last_message) {
    const t = Date.parse(room.last_message.created_at);
    if (!Number.isNaN(t)) return t;
  }
  return fallback;
}

/** Merge a Room fetched from the server (list, GET, or `room` event). */
export function mergeServerRoom(
  local: RoomState | undefined,
  server: Room,
  now: number,
): RoomState {
  const inferredRead = server.unread === 0 ? server.last_seq : 0;
  if (!local) {
    return {
      ...server,
      readSeq: inferredRead,
      liveOthers: [],
      activity: activityOf(server, now),
      placeholder: false,
    };
  }
  const readSeq = Math.max(local.readSeq, inferredRead);
  if (server.last_seq >= local.last_seq) {
    const unread = readSeq >= server.last_seq ? 0 : server.unread;
    return {
      ...server,
      unread,
      readSeq,
      liveOthers: local.liveOthers.filter((s) => s > server.last_seq),
      activity: activityOf(server, local.activity),
      placeholder: false,
    };
  }
  // The client already saw newer messages than this snapshot holds.
  const extra = local.liveOthers.filter((s) => s > server.last_seq && s > readSeq).length;
  const unread = readSeq >= local.last_seq ? 0 : server.unread + extra;
  return {
    ...server,
    last_seq: local.last_seq,
    last_message: local.last_message,
    unread,
    readSeq,
    liveOthers: local.liveOthers,
    activity: local.activity,
    placeholder: false,
  };
}

/** A room heard of only through an event, until its details arrive. */
export function placeholderRoom(id: string, now: number): RoomState {
  return {
    id,
    kind: 'group',
    name: null,
    members: [],
    roles: {},
    topic: null,
    public: false,
    last_seq: 0,
    mentions: 0,
    unread: 0,
    last_message: null,
    readSeq: 0,
    liveOthers: [],
    activity: now,
    placeholder: true,
  };
}

/**
 * A live (or replayed) message. Counts it once: anything at or below the
 * known last_seq is already reflected in the summary.
 */
export function applyMessageToRoom(
  room: RoomState,
  msg: Message,
  myId: string | null,
): RoomState {
  if (msg.seq <= room.last_seq) return room;
  const mine = msg.sender.id === myId;
  const counts = !mine && msg.seq > room.readSeq;
  let liveOthers = room.liveOthers;
  if (!mine) {
    liveOthers = liveOthers.concat([msg.seq]);
    if (liveOthers.length > LIVE_CAP) liveOthers = liveOthers.slice(-LIVE_CAP);
  }
  const t = Date.parse(msg.created_at);
  return {
    ...room,
    hidden: false,
    last_seq: msg.seq,
    last_message: msg,
    unread: counts ? room.unread + 1 : room.unread,
    mentions: counts && myId !== null && msg.mentions.includes(myId) ? room.mentions + 1 : room.mentions,
    liveOthers,
    activity: Number.isNaN(t) ? room.activity : Math.max(room.activity, t),
  };
}

/** A room event moved the stream on; the sidebar preview follows an edit or delete of the last message. */
export function applyEventToRoom(room: RoomState, ev: RoomEvent): RoomState {
  const last = room.last_message;
  const preview = last && last.seq === ev.target ? applyEventToMessage(last, ev) : last;
  if (ev.seq <= room.last_seq && preview === last) return room;
  return { ...room, last_seq: Math.max(room.last_seq, ev.seq), last_message: preview };
}

/**
 * My read marker moved (own `read` event, possibly from another tab).
 * Returns the new state and whether the unread count could not be derived
 * locally (then the room should be re-fetched).
 */
export function applyReadToRoom(
  room: RoomState,
  seq: number,
  timeline: Timeline | undefined,
  myId: string | null,
): { room: RoomState; needsRefresh: boolean } {
  if (seq <= room.readSeq) return { room, needsRefresh: false };
  const readSeq = seq;
  if (readSeq >= room.last_seq) {
    return { room: { ...room, readSeq, unread: 0, mentions: 0 }, needsRefresh: false };
  }
  if (timeline && timeline.loaded && lowSeq(timeline) <= readSeq + 1 && timeline.hi >= room.last_seq) {
    const after = timeline.messages.filter((m) => m.seq > readSeq && m.sender.id !== myId && !m.deleted);
    const mentions = after.filter((m) => myId !== null && m.mentions.includes(myId)).length;
    return { room: { ...room, readSeq, unread: after.length, mentions }, needsRefresh: false };
  }
  // Fall back to what was seen live since the last snapshot, and ask for one.
  return { room: { ...room, readSeq }, needsRefresh: true };
}

/** Newest activity first; ties keep a stable order by id. */
export function sortRooms(rooms: Iterable<RoomState>): RoomState[] {
  return [...rooms].sort((a, b) => b.activity - a.activity || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** What the sidebar shows as the room's title. */
export function roomTitle(room: Pick<Room, 'kind' | 'name' | 'members'>, myId: string | null): string {
  if (room.kind === 'direct') {
    const other = room.members.find((m) => m.id !== myId) ?? room.members[0];
    return other ? other.display_name || other.username : room.name || 'Direct message';
  }
  if (room.name) return room.name;
  const names = room.members.filter((m) => m.id !== myId).map((m) => m.display_name || m.username);
  return names.length > 0 ? names.join(', ') : 'Untitled group';
}

/** The other person of a direct room. */
export function directPeer(room: Pick<Room, 'kind' | 'members'>, myId: string | null): User | null {
  if (room.kind !== 'direct') return null;
  return room.members.find((m) => m.id !== myId) ?? null;
}
