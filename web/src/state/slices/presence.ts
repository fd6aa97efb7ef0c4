import type { User } from '../types';
import type { UserSession } from './session';

/** Who is online among the people I share a room with. */

export type PresenceStatus = 'online' | 'offline';

export interface PresenceState {
  presence: Readonly<Record<string, PresenceStatus>>;
}

export function initialPresence(): PresenceState {
  return { presence: {} };
}

export class PresenceSlice {
  constructor(private readonly chat: UserSession) {}

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
