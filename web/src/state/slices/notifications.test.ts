import { describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { mergeServerRoom } from '../rooms';
import type { Notification, NotificationSettings } from '../types';
import { ana, ben, msg, room } from '../testutil';
import { roomLevelRows } from './notifications';
import { r1, setup, withFakeClock, type Harness } from './testkit';

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

/** A server that keeps notification settings as the API does: PUT changes the fields it
 * is sent and answers with the whole settings. */
function settingsServer(t: Harness, start: NotificationSettings) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  let held = structuredClone(start);
  Object.assign(t.api, {
    request: async (method: string, path: string, body?: Partial<NotificationSettings>) => {
      calls.push({ method, path, body });
      if (path === '/api/me/notification-settings') {
        if (method === 'PUT') {
          if (body?.email_mode !== 'off' && !(body?.email ?? held.email)) {
            throw new ApiError(422, 'invalid_input', 'set an email address before turning e-mail on');
          }
          held = { ...held, ...body };
        }
        return structuredClone(held);
      }
      const level = path.match(/^\/api\/rooms\/(\w+)\/notification-settings$/);
      if (method === 'PUT' && level) {
        const { level: value } = body as unknown as { level: NotificationSettings['rooms'][string] };
        held.rooms[level[1]!] = value;
        return { room: level[1], level: value };
      }
      throw new ApiError(404, 'not_found', 'no such route');
    },
  });
  return calls;
}

const OFF: NotificationSettings = { email: null, email_mode: 'off', digest_minutes: 60, rooms: { r2: 'mentions' } };

describe('notification preferences', () => {
  it('loads the e-mail settings and room levels, and saves the e-mail part', async () => {
    const t = await setup();
    const calls = settingsServer(t, OFF);
    expect(t.s().notificationEmail).toBeNull();
    await t.chat.notifications.loadSettings();
    expect(t.s().notificationEmail).toEqual({ email: null, email_mode: 'off', digest_minutes: 60 });
    expect(t.s().roomLevels).toEqual({ r2: 'mentions' });

    await t.chat.notifications.saveEmail({ email: 'ana@example.org', email_mode: 'digest', digest_minutes: 30 });
    expect(calls.at(-1)).toEqual({
      method: 'PUT',
      path: '/api/me/notification-settings',
      body: { email: 'ana@example.org', email_mode: 'digest', digest_minutes: 30 },
    });
    expect(t.s().notificationEmail).toEqual({ email: 'ana@example.org', email_mode: 'digest', digest_minutes: 30 });
  });

  it('keeps what it had when the server refuses a change', async () => {
    const t = await setup();
    settingsServer(t, OFF);
    await t.chat.notifications.loadSettings();
    await expect(t.chat.notifications.saveEmail({ email_mode: 'immediately' })).rejects.toThrow('email address');
    expect(t.s().notificationEmail?.email_mode).toBe('off');
  });

  it('sets a level; all is the default and is not kept', async () => {
    const t = await setup();
    settingsServer(t, OFF);
    await t.chat.notifications.setLevel('r1', 'nothing');
    expect(t.s().roomLevels).toEqual({ r1: 'nothing' });
    await t.chat.notifications.setLevel('r1', 'all');
    expect(t.s().roomLevels).toEqual({});
  });

  it('lists every room by title with its level', () => {
    const rooms = {
      r1: mergeServerRoom(undefined, room('r1', { name: 'Zebra' }), 0),
      r2: mergeServerRoom(undefined, room('r2', { name: 'Apple' }), 0),
      d1: mergeServerRoom(undefined, room('d1', { kind: 'direct', name: null, members: [ana, ben] }), 0),
    };
    expect(roomLevelRows(rooms, { r1: 'nothing' }, ana.id)).toEqual([
      { id: 'r2', title: 'Apple', direct: false, level: 'all' },
      { id: 'd1', title: 'Ben Okafor', direct: true, level: 'all' },
      { id: 'r1', title: 'Zebra', direct: false, level: 'nothing' },
    ]);
  });
});

describe('desktop notifications follow the room levels', () => {
  it('none from a muted room, only mentions from a room set to mentions', async () => {
    const r2 = room('r2', { last_seq: 0 });
    const t = await setup({ rooms: [r1, r2] });
    t.conn.serverSends({ type: 'resumed', incomplete: [] });
    t.chat.set({ roomLevels: { r1: 'nothing', r2: 'mentions' } });
    t.conn.serverSends({ type: 'message', message: msg(6) });
    t.conn.serverSends({ type: 'message', message: msg(1, ben, { room: 'r2', id: 'x1' }) });
    t.conn.serverSends({ type: 'message', message: msg(2, ben, { room: 'r2', id: 'x2', mentions: [ana.id] }) });
    expect(t.s().rooms.r1?.last_seq).toBe(6); // still shown, only not popped up
    expect(t.notified.map((m) => [m.room, m.seq])).toEqual([['r2', 2]]);
  });
});
