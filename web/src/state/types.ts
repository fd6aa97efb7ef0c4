// The wire types of the Parley HTTP API and WebSocket protocol. The shapes are
// generated from the server's JSON Schema into protocol.gen.ts (npm run
// gen:protocol); only the HTTP bodies the schema does not describe are written here.
import type { Message, RoomEvent, ServerEvent, User } from './protocol.gen';

export type {
  Attachment,
  ClientFrame,
  CloseCode,
  DirectoryPage,
  DirectoryRoom,
  DeleteFrame,
  EditFrame,
  ErrorBody,
  ErrorCode,
  HourCycle,
  Message,
  Profile,
  Notification,
  NotificationLevel,
  NotificationPage,
  NotificationSettings,
  ReactFrame,
  Reaction,
  ReadMarkers,
  ReplyPreview,
  Room,
  RoomEvent,
  RoomKind,
  RoomRole,
  RoomUpdatedEvent,
  SearchPage,
  SearchResult,
  ServerEvent,
  Settings,
  SnippetPart,
  Theme,
  UnreactFrame,
  User,
} from './protocol.gen';

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

/** `GET /api/rooms/{id}/events?after=`: the stream's entries in seq order. */
export interface EntriesPage {
  entries: ({ message: Message } | { event: RoomEvent })[];
  last_seq: number;
}

/** Every server event type; the compiler checks it against ServerEvent both ways. */
const SERVER_TYPES: Record<ServerEvent['type'], true> = {
  ready: true,
  message: true,
  event: true,
  ack: true,
  resumed: true,
  reauthed: true,
  room: true,
  room_updated: true,
  left: true,
  notification: true,
  typing: true,
  read: true,
  presence: true,
  presence_subscribed: true,
  user_updated: true,
  pong: true,
  error: true,
};

/** Parse one text frame; returns null for anything that is not a known event. */
export function parseServerEvent(data: unknown): ServerEvent | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(SERVER_TYPES, type)) return null;
  return value as ServerEvent;
}
