import { roomTitle, type RoomState } from '../rooms';
import type { Message, Notification, NotificationLevel, NotificationPage, NotificationSettings } from '../types';
import type { UserSession } from './session';

/**
 * The in-app inbox (the bell), the user's notification preferences (e-mail, and each
 * room's level: the settings page and a room's mute button share them), and telling the
 * server which room this tab shows (the `focus` frame), so nobody is notified of what
 * they read.
 */

/** The e-mail part of `GET /api/me/notification-settings`. */
export type EmailSettings = Omit<NotificationSettings, 'rooms'>;

export interface NotificationsState {
  notifications: readonly Notification[];
  notificationsUnread: number;
  notificationsCursor: string | null;
  /** Room id -> level, for rooms whose level is not 'all'. */
  roomLevels: Readonly<Record<string, NotificationLevel>>;
  /** Null until the server has answered once. */
  notificationEmail: EmailSettings | null;
}

export function initialNotifications(): NotificationsState {
  return {
    notifications: [],
    notificationsUnread: 0,
    notificationsCursor: null,
    roomLevels: {},
    notificationEmail: null,
  };
}

/** One row of the settings page's list of rooms: every room the user is in, by title. */
export interface RoomLevelRow {
  id: string;
  title: string;
  direct: boolean;
  level: NotificationLevel;
}

export function roomLevelRows(
  rooms: Readonly<Record<string, RoomState>>,
  levels: Readonly<Record<string, NotificationLevel>>,
  myId: string | null,
): RoomLevelRow[] {
  return Object.values(rooms)
    .map((room) => ({
      id: room.id,
      title: roomTitle(room, myId),
      direct: room.kind === 'direct',
      level: levels[room.id] ?? 'all',
    }))
    .sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id));
}

function emailOf({ email, email_mode, digest_minutes }: NotificationSettings): EmailSettings {
  return { email, email_mode, digest_minutes };
}

/** The server forgets a connection's focus after three minutes; refreshed well before. */
export const FOCUS_REFRESH_MS = 60_000;

export class NotificationsSlice {
  private focused: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Live notifications received while a refresh is in flight. */
  private arrived: Notification[] | null = null;

  constructor(private readonly chat: UserSession) {}

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The first page of the inbox and the room levels (after each `ready`). A notification
   * that arrives live while the page is on its way may be newer than the page: it is kept. */
  async refresh(): Promise<void> {
    const api = this.chat.deps.api;
    const arrived: Notification[] = [];
    this.arrived = arrived;
    try {
      const [page, settings] = await Promise.all([
        api.request<NotificationPage>('GET', '/api/notifications'),
        api.request<NotificationSettings>('GET', '/api/me/notification-settings'),
      ]);
      const missed = arrived.filter((n) => !page.notifications.some((x) => x.id === n.id));
      this.chat.set({
        notifications: [...missed, ...page.notifications],
        notificationsUnread: page.unread + missed.length,
        notificationsCursor: page.next_cursor ?? null,
        roomLevels: settings.rooms,
        notificationEmail: emailOf(settings),
      });
    } catch {
      /* the bell shows what it had; the next ready refreshes */
    } finally {
      if (this.arrived === arrived) this.arrived = null;
    }
  }

  async more(): Promise<void> {
    const cursor = this.chat.state.notificationsCursor;
    if (!cursor) return;
    const page = await this.chat.deps.api.request<NotificationPage>('GET', `/api/notifications?cursor=${cursor}`);
    this.chat.set((s) => ({
      notifications: [...s.notifications, ...page.notifications],
      notificationsUnread: page.unread,
      notificationsCursor: page.next_cursor ?? null,
    }));
  }

  onNotification(n: Notification): void {
    this.arrived?.push(n);
    this.chat.set((s) =>
      s.notifications.some((x) => x.id === n.id)
        ? {}
        : {
            notifications: [n, ...s.notifications],
            notificationsUnread: s.notificationsUnread + 1,
          },
    );
  }

  async markRead(id: string): Promise<void> {
    const r = await this.chat.deps.api.request<{ unread: number }>('POST', `/api/notifications/${id}/read`);
    this.chat.set((s) => ({
      notifications: s.notifications.map((n) => (n.id === id ? { ...n, read: true } : n)),
      notificationsUnread: r.unread,
    }));
  }

  async markAllRead(): Promise<void> {
    const r = await this.chat.deps.api.request<{ unread: number }>('POST', '/api/notifications/read-all');
    this.chat.set((s) => ({
      notifications: s.notifications.map((n) => ({ ...n, read: true })),
      notificationsUnread: r.unread,
    }));
  }

  /** The preferences as the server holds them now (the settings page, on opening). */
  async loadSettings(): Promise<void> {
    this.keep(await this.chat.deps.api.request<NotificationSettings>('GET', '/api/me/notification-settings'));
  }

  /** Change the e-mail address, mode or digest interval; the server's answer is kept. */
  async saveEmail(change: Partial<EmailSettings>): Promise<void> {
    this.keep(await this.chat.deps.api.request<NotificationSettings>('PUT', '/api/me/notification-settings', change));
  }

  private keep(settings: NotificationSettings): void {
    this.chat.set({ roomLevels: settings.rooms, notificationEmail: emailOf(settings) });
  }

  /** Whether a live message from someone else may pop a desktop notification: not from a
   * muted room, and only a mention from a room set to mentions. */
  wants(msg: Message): boolean {
    const level = this.chat.state.roomLevels[msg.room] ?? 'all';
    if (level === 'nothing') return false;
    return level === 'all' || (this.chat.myId !== null && msg.mentions.includes(this.chat.myId));
  }

  async setLevel(roomId: string, level: NotificationLevel): Promise<void> {
    await this.chat.deps.api.request('PUT', `/api/rooms/${roomId}/notification-settings`, { level });
    this.chat.set((s) => {
      const roomLevels = { ...s.roomLevels };
      if (level === 'all') delete roomLevels[roomId];
      else roomLevels[roomId] = level;
      return { roomLevels };
    });
  }

  /** This tab shows `roomId` (null: none, or the tab is hidden). */
  focus(roomId: string | null): void {
    if (roomId === this.focused) return;
    this.focused = roomId;
    this.send();
    if (!this.timer) this.timer = setInterval(() => this.sendFocus(), FOCUS_REFRESH_MS);
  }

  /** After `ready` and every minute: a new connection shows nothing until told, and the
   * server forgets a focus it is not reminded of. */
  sendFocus(): void {
    if (this.focused !== null) this.send();
  }

  private send(): void {
    if (this.chat.alive && this.chat.conn.isReady) this.chat.conn.send({ type: 'focus', room: this.focused });
  }
}
