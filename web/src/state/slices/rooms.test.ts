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
});
