// Generated from src/parley/protocol/schema/protocol.json by `npm run gen:protocol`. Do not edit by hand.

/**
 * The one description of Parley's wire shapes: the objects, the WebSocket frames in both directions, and the error and close codes. The web client's types are generated from this file; tests check the server's parser, encoder and docs/protocol.md against it.
 */
export type ParleyProtocol =
  | ClientFrame
  | ServerEvent
  | ErrorBody
  | CloseCode
  | SearchPage
  | DirectoryPage
  | ReadMarkers
  | Profile
  | Settings
  | NotificationPage
  | NotificationSettings;
/**
 * A frame from the client to the server.
 */
export type ClientFrame =
  | AuthFrame
  | SendFrame
  | EditFrame
  | DeleteFrame
  | ReactFrame
  | UnreactFrame
  | ResumeFrame
  | TypingFrame
  | ReadFrame
  | PresenceSubscribeFrame
  | PingFrame
  | FocusFrame;
/**
 * A position in a room's stream of entries (messages and room events); 0 means before the first.
 */
export type Seq = number;
/**
 * Ids of users, rooms and messages: decimal strings, so clients never meet JavaScript's 2**53 limit.
 */
export type Id = string;
/**
 * The sender's idempotency key for a stream entry (message or room event), unique per room and sender.
 */
export type ClientId = string;
/**
 * One emoji (a sequence such as a flag or a skin tone counts as one).
 */
export type Emoji = string;
/**
 * A frame from the server to the client.
 */
export type ServerEvent =
  | ReadyEvent
  | MessageEvent
  | StreamEvent
  | AckEvent
  | ResumedEvent
  | ReauthedEvent
  | TypingEvent
  | ReadEvent
  | PresenceEvent
  | PresenceSubscribedEvent
  | UserUpdatedEvent
  | RoomUpdateEvent
  | RoomUpdatedEvent
  | LeftEvent
  | ErrorEvent
  | PongEvent
  | NotificationEvent;
/**
 * RFC 3339 UTC with milliseconds.
 */
export type Timestamp = string;
/**
 * An entry of a room's stream that changes an earlier message (target): it takes a seq like a message, is delivered, replayed and acked like one.
 */
export type RoomEvent = {
  id: Id;
  room: Id;
  seq: number;
  kind: RoomEventKind;
  sender: User;
  /**
   * The seq of the message it changes.
   */
  target: number;
  created_at: Timestamp;
  client_id: ClientId | null;
  /**
   * edit only: the new text.
   */
  body?: string;
  /**
   * edit only: who the new text mentions.
   */
  mentions?: Id[];
  /**
   * One emoji (a sequence such as a flag or a skin tone counts as one).
   */
  emoji?: string;
};
export type RoomEventKind = 'edit' | 'delete' | 'react' | 'unreact';
/**
 * The entry of client_id is durable: a message's ack carries the message; a room event's carries the event, or null when a react or unreact changed nothing (no seq taken).
 */
export type AckEvent = {
  type: 'ack';
  client_id: ClientId;
  message?: Message;
  event?: RoomEvent | null;
} & AckEvent1;
export type AckEvent1 = {
  [k: string]: unknown;
};
export type RoomKind = 'group' | 'direct';
/**
 * A member's role in a group; plain members are not listed in Room.roles.
 */
export type RoomRole = 'owner' | 'admin';
/**
 * The machine-readable codes of the HTTP API's error bodies and of the WebSocket's error events.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'rate_limited'
  | 'unavailable'
  | 'unauthorized'
  | 'username_taken'
  | 'invalid_credentials'
  | 'forbidden'
  | 'last_sign_in_method'
  | 'too_large';
export type NotificationReason = 'direct' | 'mention';
/**
 * WebSocket close codes the server uses: 1009 frame too big, 1012 restarting, 1013 could not keep up, 4401 not (or no longer) authenticated: reason 'unauthorized', 'token expired' or 'session revoked'.
 */
export type CloseCode = 1009 | 1012 | 1013 | 4401;
export type Theme = 'light' | 'dark' | 'system';
export type HourCycle = 'auto' | '12h' | '24h';
export type NotificationLevel = 'all' | 'mentions' | 'nothing';

/**
 * The first frame on a socket; resume replays what was missed before live traffic. Sent again (without resume) on an open socket with a fresh token, it extends the socket's life to that token's expiry (answered by reauthed).
 */
export interface AuthFrame {
  type: 'auth';
  token: string;
  resume?: ResumeMap;
}
/**
 * Per room id, the highest seq the client has seen.
 */
export interface ResumeMap {
  [k: string]: Seq;
}
export interface SendFrame {
  type: 'send';
  room: Id;
  /**
   * 1 to 4000 characters once surrounding whitespace is trimmed; no control characters but newline and tab. May be empty when the message carries attachments.
   */
  body: string;
  client_id: ClientId;
  /**
   * The seq of a message of the same room this one answers (null: none).
   */
  reply_to?: number | null;
  /**
   * Ids of your own uploads in this room not yet sent with a message (at most 10, no repeats). With attachments the body may be empty.
   */
  attachments?: Id[];
}
/**
 * Change the text of your own message.
 */
export interface EditFrame {
  type: 'edit';
  room: Id;
  /**
   * The seq of a message of the room.
   */
  seq: number;
  /**
   * 1 to 4000 characters once surrounding whitespace is trimmed; no control characters but newline and tab.
   */
  body: string;
  client_id: ClientId;
}
/**
 * Delete your own message, or any message of a room you own.
 */
export interface DeleteFrame {
  type: 'delete';
  room: Id;
  /**
   * The seq of a message of the room.
   */
  seq: number;
  client_id: ClientId;
}
/**
 * Add your reaction to a message.
 */
export interface ReactFrame {
  type: 'react';
  room: Id;
  /**
   * The seq of a message of the room.
   */
  seq: number;
  emoji: Emoji;
  client_id: ClientId;
}
/**
 * Remove your reaction from a message.
 */
export interface UnreactFrame {
  type: 'unreact';
  room: Id;
  /**
   * The seq of a message of the room.
   */
  seq: number;
  emoji: Emoji;
  client_id: ClientId;
}
export interface ResumeFrame {
  type: 'resume';
  rooms: ResumeMap;
}
export interface TypingFrame {
  type: 'typing';
  room: Id;
}
export interface ReadFrame {
  type: 'read';
  room: Id;
  seq: Seq;
}
/**
 * Follow the presence of these users (at most 500; those sharing no room with you are left out), replacing the previous set; an empty list stops. For the members a client shows of a room too big for pushed presence.
 */
export interface PresenceSubscribeFrame {
  type: 'presence_subscribe';
  /**
   * @maxItems 500
   */
  users: Id[];
}
export interface PingFrame {
  type: 'ping';
}
/**
 * The room this connection shows (null: none, or the tab is hidden); repeated every minute while it does. Its user is not notified of messages in the room they are reading.
 */
export interface FocusFrame {
  type: 'focus';
  room: Id | null;
}
/**
 * The answer to auth; online lists the users online now among those whose presence is pushed to you: the members of your direct rooms and of groups up to PARLEY_PRESENCE_PUSH_MAX_MEMBERS (100).
 */
export interface ReadyEvent {
  type: 'ready';
  user: User;
  online: Id[];
}
export interface User {
  id: Id;
  username: string;
  display_name: string;
}
export interface MessageEvent {
  type: 'message';
  message: Message;
}
/**
 * A message in its current state: the room events that changed it are folded in. A deleted message keeps id, seq, sender and created_at; its body is empty, and mentions, reactions, attachments and reply_to are empty.
 */
export interface Message {
  id: Id;
  room: Id;
  seq: number;
  sender: User;
  /**
   * Empty only when deleted.
   */
  body: string;
  created_at: Timestamp;
  /**
   * The sender's idempotency key, or null for an HTTP send without one.
   */
  client_id: ClientId | null;
  reply_to: ReplyPreview | null;
  /**
   * Ids of the room members the body names as @username.
   */
  mentions: Id[];
  edited_at: Timestamp | null;
  deleted: boolean;
  /**
   * Ordered by first reaction time.
   */
  reactions: Reaction[];
  /**
   * The files the message carries, in upload order.
   */
  attachments: Attachment[];
}
/**
 * The message a reply answers, as it is now (body cut to 200 characters, empty once deleted).
 */
export interface ReplyPreview {
  seq: number;
  sender: User;
  body: string;
  deleted: boolean;
}
export interface Reaction {
  emoji: Emoji;
  count: number;
  /**
   * Who reacted, earliest first; at most 100 listed, count stays exact.
   *
   * @maxItems 100
   */
  users: Id[];
}
/**
 * An uploaded file (POST /api/rooms/{room}/files). An image (PNG, JPEG, GIF, WebP) has its size in pixels and a thumbnail and is shown inline; any other file is offered as a download. Both URLs need the bearer token and answer only members of the room.
 */
export interface Attachment {
  id: Id;
  name: string;
  /**
   * Sniffed from the bytes, never taken from the client.
   */
  content_type: string;
  /**
   * Bytes.
   */
  size: number;
  width: number | null;
  height: number | null;
  url: string;
  thumbnail: string | null;
}
/**
 * A room event (edit, delete, react, unreact), delivered in seq order with the room's messages.
 */
export interface StreamEvent {
  type: 'event';
  event: RoomEvent;
}
/**
 * The replay is over; incomplete lists the rooms that missed more than the resume cap.
 */
export interface ResumedEvent {
  type: 'resumed';
  incomplete: Id[];
}
/**
 * A later auth frame was accepted: the socket now stays open for expires_in seconds, unless it sends a fresher token.
 */
export interface ReauthedEvent {
  type: 'reauthed';
  expires_in: number;
}
/**
 * Someone else is typing in a room of at most PARLEY_TYPING_MAX_MEMBERS (100) members; dropped first when your connection is behind.
 */
export interface TypingEvent {
  type: 'typing';
  room: Id;
  user: User;
}
/**
 * A read marker moved: yours (from any of your sessions), or the other member's in a direct room. Group members' markers are fetched with GET /api/rooms/{room}/reads.
 */
export interface ReadEvent {
  type: 'read';
  room: Id;
  user: User;
  seq: Seq;
}
/**
 * A user came online or went offline everywhere; last_seen (offline only) is when their last connection closed.
 */
export interface PresenceEvent {
  type: 'presence';
  user: User;
  status: 'online' | 'offline';
  last_seen?: Timestamp;
}
/**
 * The answer to presence_subscribe: the users followed now and which of them are online; presence events carry their changes from then on.
 */
export interface PresenceSubscribedEvent {
  type: 'presence_subscribed';
  users: Id[];
  online: Id[];
}
/**
 * A user who shares a room with you (or you, on another connection) changed their profile.
 */
export interface UserUpdatedEvent {
  type: 'user_updated';
  user: User;
}
/**
 * A room you were added to, or a membership change of one you are in; online lists its members online now (empty for a room past PARLEY_PRESENCE_PUSH_MAX_MEMBERS: subscribe to the members you show).
 */
export interface RoomUpdateEvent {
  type: 'room';
  room: Room;
  online: Id[];
}
export interface Room {
  id: Id;
  kind: RoomKind;
  name: string | null;
  members: User[];
  /**
   * Members whose role is more than member, by user id: a group has exactly one owner (its creator until handed over) and any number of admins; owners and admins rename the group, set its topic and visibility, add and remove members and delete any message. Direct rooms have none.
   */
  roles: {
    [k: string]: RoomRole;
  };
  /**
   * A position in a room's stream of entries (messages and room events); 0 means before the first.
   */
  last_seq: number;
  /**
   * Others' messages after the reader's read marker, not counting room events or deleted messages.
   */
  unread: number;
  /**
   * Of the unread messages, those that mention the reader.
   */
  mentions: number;
  /**
   * The newest message, in its current state.
   */
  last_message: Message | null;
  /**
   * A group's topic, one line; null when unset (always null for a direct room).
   */
  topic: string | null;
  /**
   * A public group is listed in the directory (GET /api/rooms/directory) and anyone may join it; otherwise it is invite-only.
   */
  public: boolean;
}
/**
 * A group's settings or roles changed (by an owner or admin): its name, topic, visibility and roles as they are now, the same for every member. Live only: a client that reconnects gets them in the rooms it refetches.
 */
export interface RoomUpdatedEvent {
  type: 'room_updated';
  room: Id;
  name: string | null;
  /**
   * A group's topic, one line; null when unset (always null for a direct room).
   */
  topic: string | null;
  public: boolean;
  roles: {
    [k: string]: RoomRole;
  };
  by: User;
}
/**
 * You left the room on another connection, or an owner or admin removed you; its events stop.
 */
export interface LeftEvent {
  type: 'left';
  room: Id;
}
/**
 * A refused frame; errors about a send echo its client_id. The connection stays open.
 */
export interface ErrorEvent {
  type: 'error';
  code: ErrorCode;
  message: string;
  client_id?: ClientId;
  /**
   * rate_limited: seconds until the same request could pass.
   */
  retry_after?: number;
}
export interface PongEvent {
  type: 'pong';
}
/**
 * A new entry of your inbox, to each of your open sessions.
 */
export interface NotificationEvent {
  type: 'notification';
  notification: Notification;
}
/**
 * One entry of a user's in-app inbox: a direct message or a mention. room_name is null for a direct room; the message is /rooms/{room}/messages/{seq}.
 */
export interface Notification {
  id: Id;
  room: Id;
  seq: Seq;
  reason: NotificationReason;
  sender: User;
  room_name: string | null;
  excerpt: string;
  created_at: Timestamp;
  read: boolean;
}
/**
 * Every HTTP error response body.
 */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
  };
}
/**
 * The answer of GET /api/search: results newest first; next_cursor, null on the last page, is the cursor of the next page.
 */
export interface SearchPage {
  /**
   * @maxItems 50
   */
  results: SearchResult[];
  next_cursor: Id | null;
}
/**
 * A live message matching a full-text search (GET /api/search), with a snippet around the matched words.
 */
export interface SearchResult {
  message: Message;
  snippet: SnippetPart[];
}
/**
 * A piece of a search snippet: text to show as text (no markup travels), and whether it is a matched word.
 */
export interface SnippetPart {
  text: string;
  hit: boolean;
}
/**
 * The answer of GET /api/rooms/directory: public groups by id; next_cursor, null on the last page, is the cursor of the next page.
 */
export interface DirectoryPage {
  /**
   * @maxItems 50
   */
  rooms: DirectoryRoom[];
  next_cursor: Id | null;
}
/**
 * A public group as the directory lists it.
 */
export interface DirectoryRoom {
  id: Id;
  name: string;
  /**
   * A group's topic, one line; null when unset (always null for a direct room).
   */
  topic: string | null;
  /**
   * How many members it has.
   */
  members: number;
}
/**
 * The answer of GET /api/rooms/{room}/reads: the members whose read marker is at seq or beyond (every member without seq), highest marker first, the caller included.
 */
export interface ReadMarkers {
  room: Id;
  reads: {
    user: User;
    seq: Seq;
  }[];
}
/**
 * The answer of GET /api/users/{id}: last_seen is when an offline user's last connection closed (null while online, or never recorded).
 */
export interface Profile {
  user: User;
  online: boolean;
  last_seen: Timestamp | null;
}
/**
 * GET and PUT /api/me/settings: the web client's settings, the same on every device; hour_cycle auto follows the browser's locale.
 */
export interface Settings {
  theme: Theme;
  hour_cycle: HourCycle;
}
/**
 * The answer of GET /api/notifications: newest first, the unread count, and next_cursor (null on the last page).
 */
export interface NotificationPage {
  /**
   * @maxItems 30
   */
  notifications: Notification[];
  unread: number;
  next_cursor: Id | null;
}
/**
 * GET/PUT /api/me/notification-settings: the e-mail address and mode, the digest interval in minutes, and the levels of the rooms the user is in now (rooms absent are all).
 */
export interface NotificationSettings {
  email: string | null;
  email_mode: 'off' | 'immediately' | 'digest';
  digest_minutes: number;
  rooms: {
    [k: string]: NotificationLevel;
  };
}
