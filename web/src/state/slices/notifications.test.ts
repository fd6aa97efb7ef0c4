import { describe, expect, it } from 'vitest';
import type { Notification } from '../types';
import { ben } from '../testutil';
import { setup, withFakeClock } from './testkit';

withFakeClock();

const note = (id: string): Notification => ({
  id,
  room: 'r1',
  seq: 3,
  reason: 'mention',
  sender: ben,
  room_name: 'Garden',
  excerpt: 'hi',
  created_at: '2026-12-02T10:00:00.000Z',
  read: false,
});

describe('notifications', () => {
  it('keeps a notification that arrives live while the inbox page is on its way', async () => {
    const t = await setup();
    let answer: (page: unknown) => void = () => {};
    Object.assign(t.api, {
      request: (_method: string, path: string) =>
        path === '/api/notifications' ? new Promise((r) => (answer = r)) : Promise.resolve({ rooms: {} }),
    });
    const refreshing = t.chat.notifications.refresh();
    t.conn.serverSends({ type: 'notification', notification: note('7') });
    answer({ notifications: [], unread: 0, next_cursor: null });
    await refreshing;
    expect(t.s().notificationsUnread).toBe(1);
    expect(t.s().notifications.map((n) => n.id)).toEqual(['7']);
  });

  it('counts a notification once when the page already holds it', async () => {
    const t = await setup();
    let answer: (page: unknown) => void = () => {};
    Object.assign(t.api, {
      request: (_method: string, path: string) =>
        path === '/api/notifications' ? new Promise((r) => (answer = r)) : Promise.resolve({ rooms: {} }),
    });
    const refreshing = t.chat.notifications.refresh();
    t.conn.serverSends({ type: 'notification', notification: note('7') });
    answer({ notifications: [note('7')], unread: 1, next_cursor: null });
    await refreshing;
    expect(t.s().notificationsUnread).toBe(1);
    expect(t.s().notifications.map((n) => n.id)).toEqual(['7']);
  });
});
