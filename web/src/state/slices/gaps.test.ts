import { describe, expect, it, vi } from 'vitest';
import { ana, msg, range, room, seqs } from '../testutil';
import { r1, setup, withFakeClock } from './testkit';

withFakeClock();

describe('gaps and resume', () => {
  it('resumes loaded rooms from their contiguous end and others from the summary', async () => {
    const t = await setup({
      rooms: [r1, room('r2', { last_seq: 40 })],
      history: { r1: range(1, 5).map((s) => msg(s)) },
    });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.conn.serverSends({ type: 'message', message: msg(9) }); // gap 6..8
    expect(t.conn.opts.resumeMap()).toEqual({ r1: 5, r2: 40 });
  });

  it('fills a gap in live messages from history with after=', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.api.put('r1', range(1, 9).map((s) => msg(s)));
    t.conn.serverSends({ type: 'message', message: msg(9) });
    expect(t.s().timelines.r1!.hi).toBe(5);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.api.historyCalls.at(-1)).toEqual({ room: 'r1', q: { after: 5, limit: 100 } });
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 9));
  });

  it('does not fetch when the gap closes by itself within the grace period', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    const before = t.api.historyCalls.length;
    t.conn.serverSends({ type: 'ack', client_id: 'zz', message: msg(7, ana, { client_id: 'zz' }) });
    t.conn.serverSends({ type: 'message', message: msg(6) });
    t.conn.serverSends({ type: 'message', message: msg(7, ana, { client_id: 'zz' }) });
    await vi.advanceTimersByTimeAsync(500);
    expect(t.api.historyCalls.length).toBe(before);
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 7));
  });

  it('pages an incomplete resume with after= until has_more is false', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.conn.drop();
    t.api.put('r1', range(1, 1000).map((s) => msg(s)));
    t.conn.connectReady();
    for (const s of range(6, 505)) t.conn.serverSends({ type: 'message', message: msg(s) });
    t.conn.serverSends({ type: 'resumed', incomplete: ['r1'] });
    await vi.advanceTimersByTimeAsync(0);
    const after = t.api.historyCalls.filter((c) => c.q.after !== undefined).map((c) => c.q.after);
    expect(after).toEqual([505, 605, 705, 805, 905]);
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 1000));
    expect(t.s().rooms.r1!.last_seq).toBe(1000);
  });

  it('counts replayed messages once in the sidebar and notifies only live ones', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.drop();
    t.conn.connectReady();
    t.conn.serverSends({ type: 'message', message: msg(6) });
    t.conn.serverSends({ type: 'message', message: msg(6) });
    t.conn.serverSends({ type: 'resumed', incomplete: [] });
    t.conn.serverSends({ type: 'message', message: msg(7) });
    expect(t.s().rooms.r1).toMatchObject({ last_seq: 7, unread: 2 });
    expect(t.notified.map((m) => m.seq)).toEqual([7]);
  });
});
