import { describe, expect, it, vi } from 'vitest';
import { ana, msg, range, room, seqs } from '../testutil';
import { r1, setup, withFakeClock } from './testkit';

withFakeClock();

describe('outbox: sending', () => {
  async function opened() {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    return t;
  }

  it('shows a pending message at once and confirms it on ack, then ignores the echo', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', '  hello  ')!;
    expect(t.s().timelines.r1!.pending).toMatchObject([{ client_id: id, body: 'hello', status: 'sending' }]);
    expect(t.conn.sends('send')).toEqual([{ type: 'send', room: 'r1', body: 'hello', client_id: id }]);
    const stored = msg(6, ana, { client_id: id, body: 'hello' });
    t.conn.serverSends({ type: 'ack', client_id: id, message: stored });
    t.conn.serverSends({ type: 'message', message: stored });
    const tl = t.s().timelines.r1!;
    expect(tl.pending).toEqual([]);
    expect(seqs(tl.messages)).toEqual(range(1, 6));
    expect(t.notified).toEqual([]); // no notification for my own message
  });

  it('handles the message event arriving before the ack', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', 'hi')!;
    const stored = msg(6, ana, { client_id: id });
    t.conn.serverSends({ type: 'message', message: stored });
    expect(t.s().timelines.r1!.pending).toEqual([]);
    t.conn.serverSends({ type: 'ack', client_id: id, message: stored });
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 6));
  });

  it('a reply carries the seq it answers, also when re-sent', async () => {
    const t = await opened();
    t.conn.drop();
    const id = t.chat.outbox.send('r1', 'yes', 3)!;
    t.conn.connectReady();
    expect(t.conn.sends('send')).toEqual([{ type: 'send', room: 'r1', body: 'yes', client_id: id, reply_to: 3 }]);
  });

  it('ignores empty messages', async () => {
    const t = await opened();
    expect(t.chat.outbox.send('r1', ' \n\t ')).toBeNull();
    expect(t.conn.sends('send')).toEqual([]);
  });

  it('queues while disconnected and sends with the same client_id after reconnect', async () => {
    const t = await opened();
    t.conn.drop();
    const id = t.chat.outbox.send('r1', 'offline hello')!;
    expect(t.conn.sends('send')).toEqual([]);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('sending');
    t.conn.connectReady();
    expect(t.conn.sends('send')).toEqual([{ type: 'send', room: 'r1', body: 'offline hello', client_id: id }]);
  });

  it('re-sends an unacknowledged message after a reconnect, once per connection', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', 'lost ack')!;
    t.conn.drop(); // server restarted before the ack
    t.conn.connectReady();
    const sends = t.conn.sends('send');
    expect(sends.map((f) => (f as { client_id: string }).client_id)).toEqual([id, id]);
    // The server dedups: the ack carries the original message.
    const original = msg(6, ana, { client_id: id, body: 'lost ack' });
    t.conn.serverSends({ type: 'ack', client_id: id, message: original });
    t.conn.serverSends({ type: 'message', message: original });
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 6));
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('a re-send racing the replayed copy of the same message yields it once', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', 'x')!;
    t.conn.drop();
    t.conn.connectReady(); // flushes the outbox (same client_id)
    const copy = msg(6, ana, { client_id: id, body: 'x' });
    t.conn.serverSends({ type: 'message', message: copy }); // replay
    t.conn.serverSends({ type: 'resumed', incomplete: [] });
    t.conn.serverSends({ type: 'ack', client_id: id, message: copy }); // ack of the dedup'd re-send
    expect(t.s().timelines.r1!.messages.filter((m) => m.client_id === id)).toHaveLength(1);
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('retries rate_limited sends later with the same client_id', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', 'fast')!;
    t.conn.serverSends({ type: 'error', code: 'rate_limited', message: 'sending too fast; retry shortly', client_id: id });
    expect(t.conn.sends('send')).toHaveLength(1);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('sending');
    await vi.advanceTimersByTimeAsync(1000);
    const sends = t.conn.sends('send') as { client_id: string }[];
    expect(sends).toHaveLength(2);
    expect(sends[1]!.client_id).toBe(id);
  });

  it('gives up on repeated unavailable errors and offers a retry', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', 'busy')!;
    for (let i = 0; i < 7; i++) {
      t.conn.serverSends({ type: 'error', code: 'unavailable', message: 'not stored', client_id: id });
      await vi.advanceTimersByTimeAsync(10_000);
    }
    expect(t.s().timelines.r1!.pending[0]).toMatchObject({ status: 'failed', final: false });
  });

  it('marks invalid_input as failed; Retry re-sends the same client_id', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', 'bad')!;
    t.conn.serverSends({ type: 'error', code: 'invalid_input', message: 'body too long', client_id: id });
    expect(t.s().timelines.r1!.pending[0]).toMatchObject({ status: 'failed', final: true });
    expect(t.s().timelines.r1!.pending[0]?.error).toMatch(/body too long/);
    // A final failure is not re-sent on reconnect...
    t.conn.drop();
    t.conn.connectReady();
    expect(t.conn.sends('send')).toHaveLength(1);
    // ...only when the user asks.
    t.chat.outbox.retry(id);
    const sends = t.conn.sends('send') as { client_id: string }[];
    expect(sends.map((f) => f.client_id)).toEqual([id, id]);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('sending');
    t.chat.outbox.discard(id);
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('marks a message failed when no ack comes in time, and confirms it if one arrives later', async () => {
    const t = await opened();
    const id = t.chat.outbox.send('r1', 'slow')!;
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.s().timelines.r1!.pending[0]).toMatchObject({ status: 'failed', final: false });
    t.conn.serverSends({ type: 'ack', client_id: id, message: msg(6, ana, { client_id: id }) });
    expect(t.s().timelines.r1!.pending).toEqual([]);
    expect(t.s().timelines.r1!.hi).toBe(6);
  });
});

describe('outbox: order', () => {
  async function opened() {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s)) } });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    return t;
  }
  const ids = (t: Awaited<ReturnType<typeof opened>>) =>
    (t.conn.sends('send') as { client_id: string }[]).map((f) => f.client_id);
  const ack = (t: Awaited<ReturnType<typeof opened>>, id: string, seq: number) =>
    t.conn.serverSends({ type: 'ack', client_id: id, message: msg(seq, ana, { client_id: id }) });

  it('keeps one send per room in flight and sends the next on ack', async () => {
    const t = await opened();
    const a = t.chat.outbox.send('r1', 'a')!;
    const b = t.chat.outbox.send('r1', 'b')!;
    expect(ids(t)).toEqual([a]);
    ack(t, a, 6);
    expect(ids(t)).toEqual([a, b]);
    ack(t, b, 7);
    expect(t.s().timelines.r1!.pending).toEqual([]);
  });

  it('the echoed message releases the queue as well as the ack', async () => {
    const t = await opened();
    const a = t.chat.outbox.send('r1', 'a')!;
    const b = t.chat.outbox.send('r1', 'b')!;
    t.conn.serverSends({ type: 'message', message: msg(6, ana, { client_id: a }) });
    expect(ids(t)).toEqual([a, b]);
  });

  it('holds later messages behind a refused one, so the order survives rate limiting', async () => {
    const t = await opened();
    const a = t.chat.outbox.send('r1', 'a')!;
    const b = t.chat.outbox.send('r1', 'b')!;
    const c = t.chat.outbox.send('r1', 'c')!;
    t.conn.serverSends({ type: 'error', code: 'rate_limited', message: 'sending too fast; retry shortly', client_id: a });
    expect(ids(t)).toEqual([a]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ids(t)).toEqual([a, a]);
    ack(t, a, 6);
    expect(ids(t)).toEqual([a, a, b]);
    t.conn.serverSends({ type: 'error', code: 'unavailable', message: 'not stored', client_id: b });
    await vi.advanceTimersByTimeAsync(1000);
    ack(t, b, 7);
    ack(t, c, 8);
    expect(ids(t)).toEqual([a, a, b, b, c]);
    expect(seqs(t.s().timelines.r1!.messages)).toEqual(range(1, 8));
  });

  it('skips a finally rejected message and goes on with the next', async () => {
    const t = await opened();
    const a = t.chat.outbox.send('r1', 'a')!;
    const b = t.chat.outbox.send('r1', 'b')!;
    t.conn.serverSends({ type: 'error', code: 'invalid_input', message: 'body must not be empty', client_id: a });
    expect(ids(t)).toEqual([a, b]);
    expect(t.s().timelines.r1!.pending.map((p) => p.status)).toEqual(['failed', 'sending']);
  });

  it('moves on after an ack timeout, and re-sends everything in order after a reconnect', async () => {
    const t = await opened();
    const a = t.chat.outbox.send('r1', 'a')!;
    const b = t.chat.outbox.send('r1', 'b')!;
    await vi.advanceTimersByTimeAsync(5000);
    expect(ids(t)).toEqual([a, b]);
    expect(t.s().timelines.r1!.pending[0]?.status).toBe('failed');
    t.conn.drop();
    t.conn.connectReady();
    expect(ids(t)).toEqual([a, b, a]);
    ack(t, a, 6);
    expect(ids(t)).toEqual([a, b, a, b]);
  });

  it('rooms do not wait for each other', async () => {
    const t = await setup({ rooms: [r1, room('r2')] });
    const a = t.chat.outbox.send('r1', 'a')!;
    const b = t.chat.outbox.send('r2', 'b')!;
    expect((t.conn.sends('send') as { client_id: string }[]).map((f) => f.client_id)).toEqual([a, b]);
  });
});
