// Wire types of the Parley HTTP API and WebSocket protocol (issue 2).

export interface User {
  id: string;
  username: string;
  display_name: string;
  /** Optional presence hint; the protocol may add it to User objects. */
  online?: boolean;
}

export interface Message {
  id: string;
  room: string;
  seq: number;
  sender: User;
  body: string;
  created_at: string;
  client_id: string | null;
}

export type RoomKind = 'group' | 'direct';

export interface Room {
  id: string;
  kind: RoomKind;
  name: string | null;
  members: User[];
  last_seq: number;
  unread: number;
  last_message: Message | null;
}

export interface AuthResponse {
  user?: User;
  access_token: string;
  /** Only for clients without the cookie session (bots); the web client never sees it. */
  refresh_token?: string;
  expires_in?: number;
}

export interface MessagePage {
  messages: Message[];
  has_more: boolean;
}

export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'rate_limited'
  | 'unavailable'
  | 'unauthorized'
  | (string & {});

// ---- Server → client frames ----
export type ServerFrame =
  | { type: 'ready'; user: User; online?: string[] }
  | { type: 'message'; message: Message }
  | { type: 'ack'; client_id: string; message: Message }
  | { type: 'resumed'; incomplete: string[] }
  | { type: 'room'; room: Room; online?: string[] }
  | { type: 'left'; room: string }
  | { type: 'typing'; room: string; user: User }
  | { type: 'read'; room: string; user: User | string; seq: number }
  | { type: 'presence'; user: User; status: 'online' | 'offline' }
  | { type: 'pong' }
  | { type: 'error'; code: ErrorCode; message?: string; client_id?: string };

// ---- Client → server frames ----
export type ClientFrame =
  | { type: 'auth'; token: string; resume?: Record<string, number> }
  | { type: 'resume'; rooms: Record<string, number> }
  | { type: 'send'; room: string; body: string; client_id: string }
  | { type: 'typing'; room: string }
  | { type: 'read'; room: string; seq: number }
  | { type: 'ping' };

const SERVER_TYPES = new Set([
  'ready',
  'message',
  'ack',
  'resumed',
  'room',
  'left',
  'typing',
  'read',
  'presence',
  'pong',
  'error',
]);

/** Parse one text frame; returns null for anything that is not a known frame. */
export function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !SERVER_TYPES.has(type)) return null;
  return value as ServerFrame;
}

export function userIdOf(user: User | string): string {
  return typeof user === 'string' ? user : user.id;
}
