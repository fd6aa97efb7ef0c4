import { describe, expect, it, vi } from 'vitest';
import { ana, ben, msg, range, room } from '../testutil';
import { setup, withFakeClock } from './testkit';

withFakeClock();

describe('reads', () => {
  it('sends read markers forward only, throttled, and clears the badge at once', async () => {
    const t = await setup({
      rooms: [room('r1', { last_seq: 8, unread: 3, last_message: msg(8) })],
      history: { r1: range(1, 8).map((s) => msg(s)) },
    });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    expect(t.s().roomUi.r1?.unreadFrom).toBe(6);
    t.chat.reads.mark('r1', 6);
    t.chat.reads.mark('r1', 7);
    t.chat.reads.mark('r1', 5); // backwards: ignored
    expect(t.s().rooms.r1!.unread).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.conn.sends('read')).toEqual([{ type: 'read', room: 'r1', seq: 7 }]);
    t.chat.reads.mark('r1', 8);
    expect(t.s().rooms.r1!.unread).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.conn.sends('read')).toHaveLength(1); // throttled
    await vi.advanceTimersByTimeAsync(500);
    expect(t.conn.sends('read')).toEqual([
      { type: 'read', room: 'r1', seq: 7 },
      { type: 'read', room: 'r1', seq: 8 },
    ]);
    t.chat.reads.mark('r1', 8);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.conn.sends('read')).toHaveLength(2);
  });

  it('applies my read marker from another tab', async () => {
    const t = await setup({ rooms: [room('r1', { last_seq: 8, unread: 3 })] });
    t.conn.serverSends({ type: 'read', room: 'r1', user: ana, seq: 8 });
    expect(t.s().rooms.r1!.unread).toBe(0);
    t.conn.serverSends({ type: 'read', room: 'r1', user: ben, seq: 8 });
    expect(t.s().rooms.r1!.unread).toBe(0);
  });

  it('flushes a throttled read marker at once', async () => {
    const t = await setup({
      rooms: [room('r1', { last_seq: 8, unread: 3, last_message: msg(8) })],
      history: { r1: range(1, 8).map((s) => msg(s)) },
    });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.chat.reads.mark('r1', 6);
    await vi.advanceTimersByTimeAsync(0);
    t.chat.reads.mark('r1', 8); // throttled
    expect(t.conn.sends('read')).toHaveLength(1);
    t.chat.reads.flushPending();
    expect(t.conn.sends('read')).toEqual([
      { type: 'read', room: 'r1', seq: 6 },
      { type: 'read', room: 'r1', seq: 8 },
    ]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(t.conn.sends('read')).toHaveLength(2);
  });
});
