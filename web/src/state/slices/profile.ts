import { applySettings, DEFAULT_SETTINGS, loadLocalSettings } from '../preferences';
import type { Message, Settings, User } from '../types';
import type { UserSession } from './session';

/**
 * The user's settings (theme, hour cycle), display names as people change them, and when
 * people who are offline were last seen.
 */

export interface ProfileState {
  settings: Settings;
  /** Per user id: when their last connection closed (RFC 3339), null when unknown. */
  lastSeen: Readonly<Record<string, string | null>>;
}

export function initialProfile(): ProfileState {
  return { settings: typeof localStorage === 'undefined' ? DEFAULT_SETTINGS : loadLocalSettings(), lastSeen: {} };
}

function renamed<T extends { sender: User }>(item: T, user: User): T {
  return item.sender.id === user.id ? { ...item, sender: { ...item.sender, display_name: user.display_name } } : item;
}

export class ProfileSlice {
  private readonly asked = new Set<string>();

  constructor(private readonly chat: UserSession) {}

  /** The server's copy wins over this device's: the user may have changed it elsewhere. */
  async loadSettings(): Promise<void> {
    try {
      const settings = await this.chat.deps.api.settings();
      if (!this.chat.alive) return;
      applySettings(settings);
      this.chat.set({ settings });
    } catch {
      /* the local copy stays applied */
    }
  }

  /** Applied at once; saved for every device (the local copy already holds it). */
  async saveSettings(settings: Settings): Promise<void> {
    applySettings(settings);
    this.chat.set({ settings });
    await this.chat.deps.api.saveSettings(settings);
  }

  async rename(displayName: string): Promise<void> {
    const me = await this.chat.deps.api.updateMe(displayName);
    this.onUserUpdated(me);
  }

  /** A new display name: wherever it shows (me, rooms' members, messages already loaded). */
  onUserUpdated(user: User): void {
    this.chat.set((s) => {
      const rooms = Object.fromEntries(
        Object.entries(s.rooms).map(([id, room]) => [
          id,
          room.members.some((m) => m.id === user.id)
            ? {
                ...room,
                members: room.members.map((m) => (m.id === user.id ? { ...m, display_name: user.display_name } : m)),
                last_message: room.last_message ? renamed<Message>(room.last_message, user) : room.last_message,
              }
            : room,
        ]),
      );
      const timelines = Object.fromEntries(
        Object.entries(s.timelines).map(([id, t]) => [id, { ...t, messages: t.messages.map((m) => renamed(m, user)) }]),
      );
      const me = s.me?.id === user.id ? { ...s.me, display_name: user.display_name } : s.me;
      return { rooms, timelines, me };
    });
  }

  onOffline(userId: string, lastSeen: string | undefined): void {
    if (lastSeen) this.chat.set((s) => ({ lastSeen: { ...s.lastSeen, [userId]: lastSeen } }));
  }

  /** When someone offline was last seen, asked once per session (presence events keep it fresh). */
  async fetchLastSeen(userId: string): Promise<void> {
    if (this.asked.has(userId)) return;
    this.asked.add(userId);
    try {
      const profile = await this.chat.deps.api.profile(userId);
      if (this.chat.alive && profile.last_seen) this.onOffline(userId, profile.last_seen);
    } catch {
      this.asked.delete(userId);
    }
  }
}
