import { Backoff } from '../backoff';
import type { DeleteFrame, EditFrame, ErrorCode, ReactFrame, RoomEvent, UnreactFrame } from '../types';
import type { UserSession } from './session';

/**
 * Changes to existing messages (edit, delete, react, unreact) on their way.
 * Each gets a client_id once and keeps it: a frame lost in a disconnect is
 * sent again with the same one when the socket is back, and the server
 * answers a repeat with the original entry, so a change is applied once. The
 * change shows when its ack (or its live copy) arrives as a room event.
 */

export type ActionFrame = EditFrame | DeleteFrame | ReactFrame | UnreactFrame;

export interface PendingAction {
  frame: ActionFrame;
  /** Waiting to be re-sent after a refusal that may pass (rate_limited, unavailable). */
  retrying: boolean;
}

export interface ActionsState {
  /** By client_id, in the order they were made. */
  actions: Readonly<Record<string, PendingAction>>;
}

export function initialActions(): ActionsState {
  return { actions: {} };
}

type Change = Omit<EditFrame, 'client_id'> | Omit<DeleteFrame, 'client_id'> | Omit<ReactFrame, 'client_id'> | Omit<UnreactFrame, 'client_id'>;

export class ActionsSlice {
  private readonly backoff = new Map<string, Backoff>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly chat: UserSession) {}

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.backoff.clear();
  }

  edit(room: string, seq: number, body: string): string | null {
    const text = body.trim();
    return text ? this.start({ type: 'edit', room, seq, body: text }) : null;
  }

  remove(room: string, seq: number): string {
    return this.start({ type: 'delete', room, seq });
  }

  /** Add my reaction, or take it back when it is there already. */
  toggleReaction(room: string, seq: number, emoji: string): string {
    const msg = this.chat.state.timelines[room]?.messages.find((m) => m.seq === seq);
    const mine = msg?.reactions.some((r) => r.emoji === emoji && r.users.includes(this.chat.myId ?? ''));
    return this.start({ type: mine ? 'unreact' : 'react', room, seq, emoji });
  }

  owns(clientId: string): boolean {
    return Object.hasOwn(this.chat.state.actions, clientId);
  }

  onAck(clientId: string, ev: RoomEvent | null): void {
    if (!this.owns(clientId)) return;
    this.finish(clientId);
    if (ev) this.chat.timeline.onEvent(ev);
  }

  onError(clientId: string, code: ErrorCode, text: string, retryable: boolean): void {
    const pending = this.chat.state.actions[clientId];
    if (!pending) return;
    if (retryable) {
      let b = this.backoff.get(clientId);
      if (!b) this.backoff.set(clientId, (b = new Backoff({ baseMs: 1000, maxMs: 10_000 })));
      if (b.attempts < this.chat.timing.maxSendRetries) {
        this.put(clientId, { ...pending, retrying: true });
        this.timers.set(
          clientId,
          setTimeout(() => {
            this.timers.delete(clientId);
            const again = this.chat.state.actions[clientId];
            if (again) this.put(clientId, { ...again, retrying: false });
            this.send(clientId);
          }, b.next()),
        );
        return;
      }
    }
    this.finish(clientId);
    const what = { edit: 'edit', delete: 'delete', react: 'react', unreact: 'remove the reaction' }[pending.frame.type];
    this.chat.toast(code === 'forbidden' ? `You cannot ${what} that message.` : `Could not ${what}: ${text || code}`);
  }

  /** The socket is ready again: re-send every change not yet acked, with its client_id. */
  flush(): void {
    for (const [clientId, p] of Object.entries(this.chat.state.actions)) if (!p.retrying) this.send(clientId);
  }

  private start(change: Change): string {
    const clientId = this.chat.deps.newId();
    this.put(clientId, { frame: { ...change, client_id: clientId }, retrying: false });
    this.send(clientId);
    return clientId;
  }

  /** Hand the frame to the socket; when it is down, `flush` sends it on the next `ready`. */
  private send(clientId: string): void {
    const p = this.chat.state.actions[clientId];
    if (p && this.chat.alive && this.chat.conn.isReady) this.chat.conn.send(p.frame);
  }

  private put(clientId: string, p: PendingAction): void {
    this.chat.set((s) => ({ actions: { ...s.actions, [clientId]: p } }));
  }

  private finish(clientId: string): void {
    const t = this.timers.get(clientId);
    if (t) clearTimeout(t);
    this.timers.delete(clientId);
    this.backoff.delete(clientId);
    this.chat.set((s) => {
      const rest = { ...s.actions };
      delete rest[clientId];
      return { actions: rest };
    });
  }
}
