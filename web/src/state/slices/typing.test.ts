import { describe, expect, it, vi } from 'vitest';
import { ana, ben, msg, range } from '../testutil';
import { r1, setup, withFakeClock } from './testkit';

withFakeClock();

describe('typing', () => {
  it('shows typing for ~5 s, and stops when that person’s message arrives', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'typing', room: 'r1', user: ben });
    t.conn.serverSends({ type: 'typing', room: 'r1', user: ana }); // myself: ignored
    expect(t.s().typing.r1?.map((e) => e.user.id)).toEqual(['u2']);
    await vi.advanceTimersByTimeAsync(5100);
    expect(t.s().typing.r1 ?? []).toEqual([]);
    t.conn.serverSends({ type: 'typing', room: 'r1', user: ben });
    t.conn.serverSends({ type: 'message', message: msg(6) });
    expect(t.s().typing.r1).toEqual([]);
  });

  it('throttles my typing frames', async () => {
    const t = await setup({ rooms: [r1] });
    t.chat.typing.start('r1');
    t.chat.typing.start('r1');
    await vi.advanceTimersByTimeAsync(2000);
    t.chat.typing.start('r1');
    expect(t.conn.sends('typing')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    t.chat.typing.start('r1');
    expect(t.conn.sends('typing')).toHaveLength(2);
  });
});

describe('typing after a send', () => {
  it('re-announces typing once the server would accept it', async () => {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.chat.typing.start('r1');
    t.chat.outbox.send('r1', 'hello');
    await vi.advanceTimersByTimeAsync(500);
    t.chat.typing.start('r1'); // next message started right away
    expect(t.conn.sends('typing')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1700);
    expect(t.conn.sends('typing')).toHaveLength(2);
  });

  it('does not announce when the composer was emptied meanwhile', async () => {
    const t = await setup({ rooms: [r1] });
    t.chat.typing.start('r1');
    t.chat.outbox.send('r1', 'x');
    t.chat.typing.start('r1');
    t.chat.typing.stop('r1');
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.conn.sends('typing')).toHaveLength(1);
  });
});
