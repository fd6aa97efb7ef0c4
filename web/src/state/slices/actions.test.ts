import { describe, expect, it, vi } from 'vitest';
import { ana, ben, msg, range } from '../testutil';
import type { RoomEvent } from '../types';
import { r1, setup, withFakeClock } from './testkit';

withFakeClock();

function ev(seq: number, kind: RoomEvent['kind'], extra: Partial<RoomEvent> = {}): RoomEvent {
  return { id: `e${seq}`, room: 'r1', seq, kind, sender: ana, target: 5, created_at: '2024-05-01T13:00:00.000Z', client_id: null, ...extra };
}

describe('actions: changes to messages', () => {
  async function opened() {
    const t = await setup({ rooms: [r1], history: { r1: range(1, 5).map((s) => msg(s, s === 5 ? ana : ben)) } });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    return t;
  }

  it('an edit is sent with a client_id and shows when its ack brings the event', async () => {
    const t = await opened();
    const id = t.chat.actions.edit('r1', 5, ' fixed ')!;
    expect(t.conn.sends('edit')).toEqual([{ type: 'edit', room: 'r1', seq: 5, body: 'fixed', client_id: id }]);
    expect(t.s().actions[id]).toBeDefined();
    t.conn.serverSends({ type: 'ack', client_id: id, event: ev(6, 'edit', { body: 'fixed', mentions: [], client_id: id }) });
    expect(t.s().actions).toEqual({});
    const tl = t.s().timelines.r1!;
    expect(tl.messages.at(-1)).toMatchObject({ seq: 5, body: 'fixed', edited_at: '2024-05-01T13:00:00.000Z' });
    expect(tl.hi).toBe(6);
    expect(t.s().rooms.r1!.last_seq).toBe(6);
  });

  it('a reaction toggles: react when it is not mine, unreact when it is', async () => {
    const t = await opened();
    const a = t.chat.actions.toggleReaction('r1', 5, '👍');
    t.conn.serverSends({ type: 'ack', client_id: a, event: ev(6, 'react', { emoji: '👍', client_id: a }) });
    expect(t.s().timelines.r1!.messages.at(-1)!.reactions).toEqual([{ emoji: '👍', count: 1, users: [ana.id] }]);
    const b = t.chat.actions.toggleReaction('r1', 5, '👍');
    expect(t.conn.sends('unreact')).toEqual([{ type: 'unreact', room: 'r1', seq: 5, emoji: '👍', client_id: b }]);
    t.conn.serverSends({ type: 'ack', client_id: b, event: null }); // nothing changed: no seq taken
    expect(t.s().actions).toEqual({});
    expect(t.s().timelines.r1!.hi).toBe(6);
  });

  it('a change made offline, or lost in a disconnect, is re-sent with the same client_id', async () => {
    const t = await opened();
    t.conn.drop();
    const id = t.chat.actions.remove('r1', 5);
    expect(t.conn.sends('delete')).toEqual([]);
    t.conn.connectReady();
    expect(t.conn.sends('delete')).toEqual([{ type: 'delete', room: 'r1', seq: 5, client_id: id }]);
    t.conn.drop();
    t.conn.connectReady();
    expect(t.conn.sends('delete').map((f) => ('client_id' in f ? f.client_id : null))).toEqual([id, id]);
    t.conn.serverSends({ type: 'ack', client_id: id, event: ev(6, 'delete', { client_id: id }) });
    expect(t.s().timelines.r1!.messages.at(-1)).toMatchObject({ deleted: true, body: '' });
  });

  it('a refusal that may pass is retried with the same client_id; a final one is told and dropped', async () => {
    const t = await opened();
    const id = t.chat.actions.toggleReaction('r1', 5, '🎉');
    t.conn.serverSends({ type: 'error', code: 'rate_limited', message: 'slow down', client_id: id });
    await vi.advanceTimersByTimeAsync(15_000);
    expect(t.conn.sends('react').map((f) => ('client_id' in f ? f.client_id : null))).toEqual([id, id]);
    const other = t.chat.actions.edit('r1', 4, 'not mine')!;
    t.conn.serverSends({ type: 'error', code: 'forbidden', message: 'not yours', client_id: other });
    expect(Object.keys(t.s().actions)).toEqual([id]);
    expect(t.s().notice?.text).toBe('You cannot edit that message.');
  });
});
