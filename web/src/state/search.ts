// Full-text search (GET /api/search) and the quick switcher's room matching and
// keyboard stepping: pure functions, so the UI only wires them to keys and fields.
import { roomTitle, type RoomState } from './rooms';

export interface SearchQuery {
  q: string;
  room?: string;
  sender?: string;
  /** RFC 3339 date or date-time, inclusive. */
  after?: string;
  /** RFC 3339 date or date-time, exclusive. */
  before?: string;
  cursor?: string;
  limit?: number;
}

/** The request path of a search; empty fields are left out (the server refuses blank ones). */
export function searchPath(query: SearchQuery): string {
  const params = new URLSearchParams({ q: query.q });
  for (const key of ['room', 'sender', 'after', 'before', 'cursor'] as const) {
    const value = query[key]?.trim();
    if (value) params.set(key, value);
  }
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  return `/api/search?${params.toString()}`;
}

/** Rooms whose title contains the text (any case), those starting with it first, then as given. */
export function matchRooms(rooms: readonly RoomState[], text: string, myId: string | null): RoomState[] {
  const wanted = text.trim().toLowerCase();
  const scored = rooms
    .map((room, n) => ({
      room,
      n,
      at: roomTitle(room, myId).toLowerCase().indexOf(wanted),
    }))
    .filter((r) => r.at >= 0);
  return scored.sort((a, b) => Number(a.at !== 0) - Number(b.at !== 0) || a.n - b.n).map((r) => r.room);
}

/**
 * The room before or after `current` in the sidebar order (`dir` -1 or 1), wrapping
 * around; with `unreadOnly`, the nearest one with unread messages. Null when there is
 * none to move to.
 */
export function stepRoom(
  order: readonly string[],
  rooms: Readonly<Record<string, RoomState>>,
  current: string | null,
  dir: 1 | -1,
  unreadOnly: boolean,
): string | null {
  const n = order.length;
  if (n === 0) return null;
  const from = current === null ? -1 : order.indexOf(current);
  const start = from < 0 ? (dir === 1 ? -1 : n) : from;
  for (let i = 1; i <= n; i++) {
    const id = order[(((start + dir * i) % n) + n) % n];
    if (id === undefined || id === current) continue;
    if (!unreadOnly || (rooms[id]?.unread ?? 0) > 0) return id;
  }
  return null;
}
