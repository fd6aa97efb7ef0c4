import { Backoff } from '../backoff';
import {
  addPending,
  emptyTimeline,
  insertMessages,
  removePending,
  updatePending,
  type PendingMessage,
  type Timeline,
} from '../timeline';
import type { Attachment, ErrorCode, Message } from '../types';
import { applyMessageToRoom } from '../rooms';
import type { UserSession } from './session';

/**
 * Messages on their way: shown at once as pending, sent one per room at a
 * time, retried with the same client_id, confirmed by their ack or echo. The
 * pending messages themselves live in the room's timeline.
 */
export class OutboxSlice {
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly retryBackoff = new Map<string, Backoff>();
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per room: the client_id of the send awaiting its ack. */
  private readonly inflight = new Map<string, string>();

  constructor(private readonly chat: UserSession) {}

  dispose(): void {
    for (const timers of [this.ackTimers, this.retryTimers]) {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    }
    this.retryBackoff.clear();
    this.inflight.clear();
  }

  /**
   * Send a message optimistically (an answer to `replyTo` when given, carrying
   * `attachments` when given). Returns its client_id, or null if empty.
   */
  send(roomId: string, body: string, replyTo?: number, attachments: Attachment[] = []): string | null {
    const chat = this.chat;
    const text = body.replace(/^\s+|\s+$/g, '');
    if (text.length === 0 && attachments.length === 0) return null;
    const clientId = chat.deps.newId();
    const p: PendingMessage = {
      client_id: clientId,
      room: roomId,
      body: text,
      ...(replyTo !== undefined && { reply_to: replyTo }),
      ...(attachments.length > 0 && { attachments }),
      created_at: new Date(chat.now()).toISOString(),
      status: 'sending',
      final: false,
      error: null,
      attempts: 0,
    };
    const tl = chat.state.timelines[roomId] ?? emptyTimeline(roomId);
    chat.timeline.set(addPending(tl, p));
    chat.typing.sent(roomId);
    this.pump(roomId);
    return clientId;
  }

  /** The Retry button: the same client_id again, so the server dedups. */
  retry(clientId: string): void {
    const found = this.findPending(clientId);
    if (!found) return;
    this.clearSendTimers(clientId);
    this.chat.timeline.set(updatePending(found.tl, clientId, { status: 'sending', final: false, error: null }));
    if (this.inflight.get(found.tl.room) === clientId) this.inflight.delete(found.tl.room);
    this.pump(found.tl.room);
  }

  /** Give up on a failed message. */
  discard(clientId: string): void {
    const found = this.findPending(clientId);
    if (!found) return;
    this.clearSendTimers(clientId);
    this.chat.timeline.set(removePending(found.tl, clientId));
    this.settle(found.tl.room);
  }

  onAck(clientId: string, msg: Message): void {
    const chat = this.chat;
    this.clearSendTimers(clientId);
    const myId = chat.myId;
    const room = chat.rooms.ensure(msg.room);
    const next = applyMessageToRoom(room, msg, myId);
    if (next !== room || !chat.state.rooms[room.id]) chat.rooms.set(next);
    let tl = chat.state.timelines[msg.room];
    if (tl) {
      tl = insertMessages(tl, [msg], myId);
      // The ack is authoritative for this client_id even if the echoed
      // message carried none.
      tl = removePending(tl, clientId);
      chat.timeline.set(tl);
      chat.gaps.check(msg.room);
      this.settle(msg.room);
    }
  }

  onSendError(clientId: string, code: ErrorCode, text: string, retryable: boolean): void {
    const chat = this.chat;
    this.clearAckTimer(clientId);
    const found = this.findPending(clientId);
    if (!found) return;
    const { tl } = found;
    const room = tl.room;
    if (this.inflight.get(room) === clientId) this.inflight.delete(room);
    if (retryable) {
      let b = this.retryBackoff.get(clientId);
      if (!b) {
        b = new Backoff({ baseMs: 1000, maxMs: 10_000 });
        this.retryBackoff.set(clientId, b);
      }
      if (b.attempts >= chat.timing.maxSendRetries) {
        this.retryBackoff.delete(clientId);
        const error = 'Not sent — server busy';
        chat.timeline.set(updatePending(tl, clientId, { status: 'failed', final: false, error }));
        this.pump(room);
        return;
      }
      // The room's queue waits behind this message, so the order is kept.
      const delay = b.next();
      const old = this.retryTimers.get(clientId);
      if (old) clearTimeout(old);
      this.retryTimers.set(
        clientId,
        setTimeout(() => {
          this.retryTimers.delete(clientId);
          this.pump(room);
        }, delay),
      );
      return;
    }
    this.retryBackoff.delete(clientId);
    const reason =
      code === 'not_found'
        ? 'Not sent — you are no longer in this conversation'
        : code === 'invalid_input'
          ? `Not sent — ${text || 'invalid message'}`
          : `Not sent — ${text || code}`;
    chat.timeline.set(updatePending(tl, clientId, { status: 'failed', final: true, error: reason }));
    this.pump(room);
  }

  /** The socket went away: nothing is in flight any more. */
  onDisconnect(): void {
    this.inflight.clear();
    for (const t of this.ackTimers.values()) clearTimeout(t);
    this.ackTimers.clear();
  }

  /** The in-flight message of a room left the outbox (acked or echoed): send the next. */
  settle(roomId: string): void {
    const clientId = this.inflight.get(roomId);
    if (clientId === undefined) return;
    const tl = this.chat.state.timelines[roomId];
    if (tl && tl.pending.some((p) => p.client_id === clientId)) return;
    this.clearSendTimers(clientId);
    this.inflight.delete(roomId);
    this.pump(roomId);
  }

  /** Re-send everything not finally rejected, with the same client_ids, in order. */
  flush(): void {
    this.inflight.clear();
    for (const tl of Object.values(this.chat.state.timelines)) {
      let cur = tl;
      for (const p of tl.pending) {
        if (!p.final && p.status !== 'sending') {
          cur = updatePending(cur, p.client_id, { status: 'sending', error: null });
        }
      }
      if (cur !== tl) this.chat.timeline.set(cur);
      this.pump(tl.room);
    }
  }

  private findPending(clientId: string): { tl: Timeline; p: PendingMessage } | null {
    for (const tl of Object.values(this.chat.state.timelines)) {
      const p = tl.pending.find((x) => x.client_id === clientId);
      if (p) return { tl, p };
    }
    return null;
  }

  private clearAckTimer(clientId: string): void {
    const t = this.ackTimers.get(clientId);
    if (t) clearTimeout(t);
    this.ackTimers.delete(clientId);
  }

  private clearSendTimers(clientId: string): void {
    this.clearAckTimer(clientId);
    const r = this.retryTimers.get(clientId);
    if (r) clearTimeout(r);
    this.retryTimers.delete(clientId);
    this.retryBackoff.delete(clientId);
  }

  /**
   * Send the room's next queued message. One send per room is in flight at a
   * time and a refused one is retried before anything after it, so messages
   * are stored in the order they were written even when some are refused
   * (rate_limited, unavailable) and retried.
   */
  private pump(roomId: string): void {
    const chat = this.chat;
    if (!chat.alive || this.inflight.has(roomId)) return;
    const conn = chat.conn;
    const tl = chat.state.timelines[roomId];
    if (!conn.isReady || !tl) return;
    const next = tl.pending.find((p) => p.status === 'sending');
    if (!next) return;
    if (this.retryTimers.has(next.client_id)) return; // waiting to retry: hold the queue
    const frame = {
      type: 'send',
      room: roomId,
      body: next.body,
      client_id: next.client_id,
      ...(next.reply_to !== undefined && { reply_to: next.reply_to }),
      ...(next.attachments && { attachments: next.attachments.map((a) => a.id) }),
    } as const;
    if (!conn.send(frame)) return; // flushed again on the next `ready`
    this.inflight.set(roomId, next.client_id);
    chat.timeline.set(updatePending(tl, next.client_id, { attempts: next.attempts + 1 }));
    const clientId = next.client_id;
    this.clearAckTimer(clientId);
    this.ackTimers.set(
      clientId,
      setTimeout(() => {
        this.ackTimers.delete(clientId);
        if (this.inflight.get(roomId) === clientId) this.inflight.delete(roomId);
        const again = this.findPending(clientId);
        if (again && again.p.status === 'sending') {
          const error = 'Not confirmed yet';
          chat.timeline.set(updatePending(again.tl, clientId, { status: 'failed', final: false, error }));
        }
        this.pump(roomId);
      }, chat.timing.ackTimeoutMs),
    );
  }
}
