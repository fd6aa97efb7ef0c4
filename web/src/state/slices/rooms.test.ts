import { describe, expect, it, vi } from 'vitest';
import { ana, ben, msg, room } from '../testutil';
import { r1, setup, withFakeClock } from './testkit';

withFakeClock();

describe('rooms', () => {
  it('adds a room announced by a room event and sorts it first', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'room', room: room('r9', { name: 'New', last_seq: 0 }), online: [] });
    expect(t.s().order[0]).toBe('r9');
    expect(t.s().rooms.r9?.name).toBe('New');
  });

  it('learns about an unknown room from a message and fetches it', async () => {
    const t = await setup({ rooms: [r1] });
    t.api.rooms.set('r7', room('r7', { name: 'Surprise', last_seq: 1, unread: 1 }));
    t.conn.serverSends({ type: 'message', message: { ...msg(1), room: 'r7' } });
    expect(t.s().rooms.r7?.placeholder).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.s().rooms.r7).toMatchObject({ placeholder: false, name: 'Surprise', unread: 1 });
  });

  it('leaving a room removes it', async () => {
    const t = await setup({ rooms: [r1] });
    t.chat.timeline.open('r1');
    await t.chat.rooms.leave('r1');
    expect(t.s().rooms.r1).toBeUndefined();
    expect(t.s().activeRoom).toBeNull();
  });

  it('a membership broadcast updates members but keeps my counters', async () => {
    const t = await setup({ rooms: [room('r1', { last_seq: 5, unread: 2 })] });
    t.conn.serverSends({
      type: 'room',
      room: room('r1', { last_seq: 5, unread: 0, members: [ana, ben, { ...ben, id: 'u3', username: 'cy' }] }),
      online: [],
    });
    expect(t.s().rooms.r1!.members).toHaveLength(3);
    expect(t.s().rooms.r1!.unread).toBe(2);
  });

  it('forgets a room on a left event', async () => {
    const t = await setup({ rooms: [r1] });
    t.chat.timeline.open('r1');
    t.conn.serverSends({ type: 'left', room: 'r1' });
    expect(t.s().rooms.r1).toBeUndefined();
    expect(t.s().order).toEqual([]);
    expect(t.s().activeRoom).toBeNull();
  });

  it('takes a room_updated event: name, topic, visibility and roles, keeping my counters', async () => {
    const t = await setup({ rooms: [room('r1', { last_seq: 5, unread: 2 })] });
    t.conn.serverSends({
      type: 'room_updated',
      room: 'r1',
      name: 'Core',
      topic: 'Ship it',
      public: true,
      roles: { [ben.id]: 'owner', [ana.id]: 'admin' },
      by: ben,
    });
    expect(t.s().rooms.r1).toMatchObject({ name: 'Core', topic: 'Ship it', public: true, unread: 2 });
    expect(t.s().rooms.r1!.roles).toEqual({ [ben.id]: 'owner', [ana.id]: 'admin' });
    t.conn.serverSends({ type: 'room_updated', room: 'r404', name: 'x', topic: null, public: false, roles: {}, by: ben });
    expect(t.s().rooms.r404).toBeUndefined();
  });

  it('saving the settings takes the room the server answers', async () => {
    const t = await setup({ rooms: [r1] });
    await t.chat.rooms.update('r1', { name: 'Renamed', topic: 'New topic' });
    expect(t.s().rooms.r1).toMatchObject({ name: 'Renamed', topic: 'New topic' });
  });

  it('a hidden conversation comes back with its next message', async () => {
    const t = await setup({ rooms: [room('r1', { kind: 'direct', last_seq: 1 })] });
    t.chat.timeline.open('r1');
    await t.chat.rooms.hide('r1');
    expect(t.s().rooms.r1!.hidden).toBe(true);
    expect(t.s().activeRoom).toBeNull();
    t.conn.serverSends({ type: 'message', message: { ...msg(2), room: 'r1' } });
    expect(t.s().rooms.r1!.hidden).toBe(false);
  });
});
