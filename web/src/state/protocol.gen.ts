// Generated from src/parley/protocol/schema/protocol.json by `npm run gen:protocol`. Do not edit by hand.

/**
 * The one description of Parley's wire shapes: the objects, the WebSocket frames in both directions, and the error and close codes. The web client's types are generated from this file; tests check the server's parser, encoder and docs/protocol.md against it.
 */
export type ParleyProtocol = ClientFrame | ServerEvent | ErrorBody | CloseCode;
/**
 * A frame from the client to the server.
 */
export type ClientFrame = AuthFrame | SendFrame | ResumeFrame | TypingFrame | ReadFrame | PingFrame;
/**
 * A position in a room's sequence; 0 means before the first message.
 */
export type Seq = number;
/**
 * Ids of users, rooms and messages: decimal strings, so clients never meet JavaScript's 2**53 limit.
 */
export type Id = string;
/**
 * The sender's idempotency key for a message.
 */
export type ClientId = string;
/**
 * A frame from the server to the client.
 */
export type ServerEvent =
  | ReadyEvent
  | MessageEvent
  | AckEvent
  | ResumedEvent
  | ReauthedEvent
  | TypingEvent
  | ReadEvent
  | PresenceEvent
  | RoomEvent
  | LeftEvent
  | ErrorEvent
  | PongEvent;
/**
 * RFC 3339 UTC with milliseconds.
 */
export type Timestamp = string;
export type RoomKind = 'group' | 'direct';
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
  | 'last_sign_in_method';
/**
 * WebSocket close codes the server uses: 1009 frame too big, 1012 restarting, 1013 could not keep up, 4401 not (or no longer) authenticated: reason 'unauthorized', 'token expired' or 'session revoked'.
 */
export type CloseCode = 1009 | 1012 | 1013 | 4401;

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
   * 1 to 4000 characters once surrounding whitespace is trimmed; no control characters but newline and tab.
   */
  body: string;
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
export interface PingFrame {
  type: 'ping';
}
/**
 * The answer to auth; online lists the users sharing a room with you who are online now.
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
export interface Message {
  id: Id;
  room: Id;
  seq: number;
  sender: User;
  body: string;
  created_at: Timestamp;
  /**
   * The sender's idempotency key, or null for an HTTP send without one.
   */
  client_id: ClientId | null;
}
/**
 * The message of client_id is durable.
 */
export interface AckEvent {
  type: 'ack';
  client_id: ClientId;
  message: Message;
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
export interface TypingEvent {
  type: 'typing';
  room: Id;
  user: User;
}
export interface ReadEvent {
  type: 'read';
  room: Id;
  user: User;
  seq: Seq;
}
export interface PresenceEvent {
  type: 'presence';
  user: User;
  status: 'online' | 'offline';
}
/**
 * A room you were added to, or a membership change of one you are in; online lists its members online now.
 */
export interface RoomEvent {
  type: 'room';
  room: Room;
  online: Id[];
}
export interface Room {
  id: Id;
  kind: RoomKind;
  name: string | null;
  members: User[];
  last_seq: Seq;
  /**
   * Messages after the reader's read marker.
   */
  unread: number;
  last_message: Message | null;
}
/**
 * You left the room on another connection; its events stop.
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
 * Every HTTP error response body.
 */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
  };
}
