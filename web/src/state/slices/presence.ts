import type { User } from '../types';
import type { UserSession } from './session';

/**
 * Who is online among the people I share a room with. The server pushes the
 * presence of direct partners and members of groups up to
 * PRESENCE_PUSH_MAX_MEMBERS; for a bigger room the client subscribes to the
 * members it shows (`presence_subscribe`), one set per socket.
 */

export const PRESENCE_PUSH_MAX_MEMBERS = 100;
/** The most users one `presence_subscribe` may name. */
export const PRESENCE_SUBSCRIBE_MAX = 500;

export type PresenceStatus = 'online' | 'offline';

export interface PresenceState {
  presence: Readonly<Record<string, PresenceStatus>>;
}

export function initialPresence(): PresenceState {
  return { presence: {} };
}

export class PresenceSlice {
  /** The users whose presence this session asked to follow (sent again on each new socket). */
  private watched: readonly string[] = [];

  constructor(private readonly chat: UserSession) {}

  /** Follow these users' presence instead of the last set (an empty list stops). */
  watch(ids: readonly string[]): void {
    const next = ids.slice(0, PRESENCE_SUBSCRIBE_MAX);
    if (next.length === this.watched.length && next.every((id, i) => id === this.watched[i])) return;
    this.watched = next;
    this.send();
  }

  /** A new socket: the server forgot the last one's subscription. */
  resubscribe(): void {
    if (this.watched.length > 0) this.send();
  }

  /** The answer to a subscription: the current state of everyone it covers. */
  onSubscribed(users: readonly string[], online: readonly string[]): void {
    if (users.length === 0) return;
    const up = new Set(online);
    this.chat.set((s) => {
      const presence = { ...s.presence };
      for (const id of users) presence[id] = up.has(id) ? 'online' : 'offline';
      return { presence };
    });
  }

  private send(): void {
    if (this.chat.alive) this.chat.conn.send({ type: 'presence_subscribe', users: [...this.watched] });
  }

  onPresence(user: User, status: PresenceStatus): void {
    this.chat.set((s) => ({ presence: { ...s.presence, [user.id]: status } }));
  }

  /** The snapshot that comes with `ready`: everyone else known is offline. */
  snapshot(online: readonly string[]): void {
    const presence: Record<string, PresenceStatus> = {};
    for (const id of Object.keys(this.chat.state.presence)) presence[id] = 'offline';
    for (const id of online) presence[id] = 'online';
    this.chat.set({ presence });
  }

  /** Presence hints that come with other events (who is online among new co-members). */
  markOnline(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.chat.set((s) => {
      const presence = { ...s.presence };
      for (const id of ids) presence[id] = 'online';
      return { presence };
    });
  }
}
