import { describe, expect, it } from 'vitest';
import {
  addPending,
  applyLatestPage,
  applyAroundPage,
  applyOlderPage,
  emptyTimeline,
  firstUnreadSeq,
  gapCursor,
  insertEntries,
  insertMessages,
  lowSeq,
  removePending,
  resumeCursor,
  updatePending,
  type PendingMessage,
  type Timeline,
} from './timeline';
import { entrySeq } from './stream';
import { ana, ben, msg, range, seqs } from './testutil';
import type { RoomEvent } from './types';

const ME = ana.id;

const aheadSeqs = (tl: Timeline) => tl.ahead.map(entrySeq);

function event(seq: number, target: number, kind: RoomEvent['kind'], extra: Partial<RoomEvent> = {}): RoomEvent {
  return {
    id: `e${seq}`,
    room: 'r1',
    seq,
    kind,
    sender: ben,
    target,
    created_at: '2024-05-01T12:30:00.000Z',
    client_id: `ce${seq}`,
    ...extra,
  };
}

function loaded(from: number, to: number, hasMore = from > 1): Timeline {
  return applyLatestPage(
    emptyTimeline('r1'),
    { messages: range(from, to).map((s) => msg(s)), has_more: hasMore },
    ME,
  );
}

function pending(clientId: string, extra: Partial<PendingMessage> = {}): PendingMessage {
  return {
    client_id: clientId,
    room: 'r1',
    body: 'hi',
    created_at: '2024-05-01T12:00:00Z',
    status: 'sending',
    final: false,
    error: null,
    attempts: 1,
    ...extra,
  };
}

describe('latest page', () => {
  it('defines the window and hi', () => {
    const tl = loaded(51, 100);
    expect(tl.loaded).toBe(true);
    expect(tl.hi).toBe(100);
    expect(lowSeq(tl)).toBe(51);
    expect(tl.hasOlder).toBe(true);
    expect(resumeCursor(tl)).toBe(100);
  });

  it('handles an empty room', () => {
    const tl = applyLatestPage(emptyTimeline('r1'), { messages: [], has_more: false }, ME);
    expect(tl.loaded).toBe(true);
    expect(tl.hi).toBe(0);
    expect(tl.hasOlder).toBe(false);
    expect(gapCursor(tl, 0)).toBeNull();
    const next = insertMessages(tl, [msg(1)], ME);
    expect(seqs(next.messages)).toEqual([1]);
  });

  it('absorbs messages that arrived live while it was loading', () => {
    let tl = emptyTimeline('r1');
    tl = insertMessages(tl, [msg(11), msg(12)], ME); // live, before the page
    expect(tl.messages).toEqual([]);
    expect(aheadSeqs(tl)).toEqual([11, 12]);
    expect(resumeCursor(tl)).toBeNull();
    tl = applyLatestPage(tl, { messages: range(1, 11).map((s) => msg(s)), has_more: false }, ME);
    expect(seqs(tl.messages)).toEqual(range(1, 12));
    expect(tl.ahead).toEqual([]);
    expect(tl.hi).toBe(12);
  });

  it('takes a page with holes (seqs of room events) as the window', () => {
    const tl = applyLatestPage(
      emptyTimeline('r1'),
      { messages: [msg(1), msg(2), msg(4), msg(5)], has_more: false },
      ME,
    );
    expect(seqs(tl.messages)).toEqual([1, 2, 4, 5]);
    expect(tl.hi).toBe(5);
    expect(tl.hasOlder).toBe(false);
  });
});

describe('live messages and gaps', () => {
  it('appends the next seq', () => {
    const tl = insertMessages(loaded(1, 3), [msg(4)], ME);
    expect(seqs(tl.messages)).toEqual([1, 2, 3, 4]);
    expect(tl.hi).toBe(4);
    expect(gapCursor(tl)).toBeNull();
  });

  it('drops duplicates (replay after reconnect, repeated events)', () => {
    const base = loaded(1, 5);
    const tl = insertMessages(base, [msg(3), msg(5), msg(5)], ME);
    expect(tl).toBe(base); // unchanged identity: nothing to re-render
  });

  it('buffers a message beyond a gap and reports the cursor to fill from', () => {
    const tl = insertMessages(loaded(1, 5), [msg(9)], ME);
    expect(seqs(tl.messages)).toEqual([1, 2, 3, 4, 5]);
    expect(aheadSeqs(tl)).toEqual([9]);
    expect(gapCursor(tl)).toBe(5);
    expect(resumeCursor(tl)).toBe(5); // resume below the gap, never past it
  });

  it('closes the gap when the missing messages arrive, in any order', () => {
    let tl = insertMessages(loaded(1, 5), [msg(9), msg(8)], ME);
    tl = insertMessages(tl, [msg(7)], ME);
    expect(tl.hi).toBe(5);
    tl = insertMessages(tl, [msg(6)], ME);
    expect(seqs(tl.messages)).toEqual(range(1, 9));
    expect(tl.ahead).toEqual([]);
    expect(gapCursor(tl)).toBeNull();
  });

  it('fills a gap from an after= page that overlaps the buffer', () => {
    let tl = insertMessages(loaded(1, 5), [msg(9), msg(10)], ME);
    tl = insertEntries(tl, range(6, 9).map((s) => ({ message: msg(s) })), ME);
    expect(seqs(tl.messages)).toEqual(range(1, 10));
    expect(tl.ahead).toEqual([]);
  });

  it('reports a gap when the room is known to have newer messages', () => {
    const tl = loaded(1, 5);
    expect(gapCursor(tl, 5)).toBeNull();
    expect(gapCursor(tl, 7)).toBe(5);
    expect(gapCursor(emptyTimeline('r1'), 7)).toBeNull(); // not loaded: nothing to fill yet
  });

  it('ignores messages older than the window and nonsense seqs', () => {
    const base = loaded(50, 60);
    const tl = insertMessages(base, [msg(10), msg(0), msg(-1), { ...msg(61), seq: 61.5 }], ME);
    expect(tl).toBe(base);
  });
});

describe('pending messages', () => {
  it('ack and message events merge without duplicates, whichever comes first', () => {
    const sent = msg(6, ana, { client_id: 'c1' });
    for (const order of [
      ['ack', 'event'],
      ['event', 'ack'],
    ]) {
      let tl = addPending(loaded(1, 5), pending('c1'));
      expect(tl.pending).toHaveLength(1);
      for (let i = 0; i < order.length; i++) tl = insertMessages(tl, [sent], ME);
      expect(tl.pending).toEqual([]);
      expect(seqs(tl.messages)).toEqual(range(1, 6));
    }
  });

  it('a retry that the server dedups yields the original message once', () => {
    let tl = addPending(loaded(1, 5), pending('c1'));
    const original = msg(6, ana, { client_id: 'c1' });
    tl = insertMessages(tl, [original], ME); // first ack
    tl = insertMessages(tl, [original], ME); // ack of the retry: same message
    expect(seqs(tl.messages)).toEqual(range(1, 6));
    expect(tl.pending).toEqual([]);
  });

  it('is confirmed even when its ack lands beyond a gap', () => {
    let tl = addPending(loaded(1, 5), pending('c1'));
    tl = insertMessages(tl, [msg(8, ana, { client_id: 'c1' })], ME);
    expect(tl.pending).toEqual([]);
    expect(aheadSeqs(tl)).toEqual([8]);
  });

  it('is not confirmed by someone else reusing the client_id', () => {
    let tl = addPending(loaded(1, 5), pending('c1'));
    tl = insertMessages(tl, [msg(6, ben, { client_id: 'c1' })], ME);
    expect(tl.pending).toHaveLength(1);
  });

  it('is confirmed by a stream page that contains it (ack lost in a disconnect)', () => {
    let tl = addPending(loaded(1, 5), pending('c1'));
    tl = insertEntries(tl, [{ message: msg(6) }, { message: msg(7, ana, { client_id: 'c1' }) }], ME);
    expect(tl.pending).toEqual([]);
    expect(tl.hi).toBe(7);
  });

  it('can be added only once per client_id, updated and removed', () => {
    let tl = addPending(loaded(1, 1), pending('c1'));
    expect(addPending(tl, pending('c1'))).toBe(tl);
    tl = updatePending(tl, 'c1', { status: 'failed', final: true, error: 'nope' });
    expect(tl.pending[0]).toMatchObject({ client_id: 'c1', status: 'failed', final: true, error: 'nope' });
    expect(updatePending(tl, 'missing', { status: 'sending' })).toBe(tl);
    tl = removePending(tl, 'c1');
    expect(tl.pending).toEqual([]);
  });
});

describe('room events in the stream', () => {
  it('an edit, a reaction and a delete take seqs and change their target', () => {
    let tl = loaded(1, 3);
    tl = insertEntries(tl, [{ event: event(4, 2, 'edit', { body: 'fixed @ana', mentions: [ana.id] }) }], ME);
    expect(tl.hi).toBe(4);
    expect(tl.messages[1]).toMatchObject({ body: 'fixed @ana', mentions: [ana.id], edited_at: '2024-05-01T12:30:00.000Z' });
    tl = insertEntries(tl, [{ event: event(5, 2, 'react', { emoji: '👍' }) }, { message: msg(6) }], ME);
    expect(tl.messages[1]!.reactions).toEqual([{ emoji: '👍', count: 1, users: [ben.id] }]);
    expect(seqs(tl.messages)).toEqual([1, 2, 3, 6]);
    tl = insertEntries(tl, [{ event: event(7, 2, 'unreact', { emoji: '👍' }) }], ME);
    expect(tl.messages[1]!.reactions).toEqual([]);
    tl = insertEntries(tl, [{ event: event(8, 2, 'delete') }], ME);
    expect(tl.messages[1]).toMatchObject({ body: '', deleted: true, reactions: [], mentions: [] });
    expect(gapCursor(tl, 8)).toBeNull();
  });

  it('a message after an event does not wait for the event seq as a gap', () => {
    let tl = loaded(1, 3);
    tl = insertEntries(tl, [{ message: msg(5) }], ME);
    expect(aheadSeqs(tl)).toEqual([5]);
    expect(gapCursor(tl)).toBe(3);
    tl = insertEntries(tl, [{ event: event(4, 1, 'react', { emoji: '🎉' }) }], ME);
    expect(seqs(tl.messages)).toEqual([1, 2, 3, 5]);
    expect(tl.hi).toBe(5);
    expect(tl.ahead).toEqual([]);
  });

  it('applies each event once: a replay of the same seq changes nothing', () => {
    let tl = loaded(1, 3);
    tl = insertEntries(tl, [{ event: event(4, 3, 'react', { emoji: '👍' }) }], ME);
    const again = insertEntries(tl, [{ event: event(4, 3, 'react', { emoji: '👍' }) }], ME);
    expect(again).toBe(tl);
    expect(tl.messages[2]!.reactions[0]!.count).toBe(1);
  });

  it('a reply preview follows the edit and the delete of its original', () => {
    const reply = msg(3, ana, { reply_to: { seq: 1, sender: ben, body: 'old', deleted: false } });
    let tl = applyLatestPage(emptyTimeline('r1'), { messages: [msg(1), msg(2), reply], has_more: false }, ME);
    tl = insertEntries(tl, [{ event: event(4, 1, 'edit', { body: 'new', mentions: [] }) }], ME);
    expect(tl.messages[2]!.reply_to).toMatchObject({ body: 'new', deleted: false });
    tl = insertEntries(tl, [{ event: event(5, 1, 'delete') }], ME);
    expect(tl.messages[2]!.reply_to).toMatchObject({ body: '', deleted: true });
  });

  it('a refreshed latest page replaces held messages with their current state', () => {
    const tl = loaded(1, 3);
    const next = applyLatestPage(tl, { messages: [msg(2, ben, { body: 'edited', edited_at: '2024-05-01T13:00:00.000Z' })], has_more: true }, ME);
    expect(next.messages[1]).toMatchObject({ body: 'edited' });
  });

  it('an around page becomes the window; the stream after it is a gap to fill', () => {
    const tl = loaded(200, 250);
    const next = applyAroundPage(tl, { messages: range(20, 40).map((s) => msg(s)), has_more: true }, ME);
    expect(seqs(next.messages)).toEqual(range(20, 40));
    expect(next.hi).toBe(40);
    expect(next.hasOlder).toBe(true);
    expect(gapCursor(next, 250)).toBe(40);
  });
});

describe('older pages', () => {
  it('prepends contiguous history and tracks hasOlder', () => {
    let tl = loaded(51, 100);
    tl = applyOlderPage(tl, { messages: range(1, 50).map((s) => msg(s)), has_more: false }, ME);
    expect(seqs(tl.messages)).toEqual(range(1, 100));
    expect(tl.hasOlder).toBe(false);
  });

  it('keeps hasOlder while the server says so', () => {
    let tl = loaded(101, 150);
    tl = applyOlderPage(tl, { messages: range(51, 100).map((s) => msg(s)), has_more: true }, ME);
    expect(lowSeq(tl)).toBe(51);
    expect(tl.hasOlder).toBe(true);
  });

  it('ignores overlap and keeps holes (room events) in older pages', () => {
    let tl = loaded(10, 20);
    tl = applyOlderPage(
      tl,
      { messages: [msg(3), msg(4), msg(6), msg(7), msg(8), msg(9), msg(10), msg(11)], has_more: false },
      ME,
    );
    expect(seqs(tl.messages)).toEqual([3, 4, ...range(6, 20)]);
    expect(tl.hasOlder).toBe(false);
  });

  it('stops asking when a page makes no progress', () => {
    const tl = applyOlderPage(loaded(10, 20), { messages: [], has_more: true }, ME);
    expect(tl.hasOlder).toBe(false);
  });
});

describe('firstUnreadSeq', () => {
  const list = [msg(1), msg(2, ana), msg(3), msg(4), msg(5, ana), msg(6)];

  it('counts only other people’s messages from the end', () => {
    expect(firstUnreadSeq(list, 0, ME)).toBeNull();
    expect(firstUnreadSeq(list, 1, ME)).toEqual({ seq: 6, exact: true });
    expect(firstUnreadSeq(list, 2, ME)).toEqual({ seq: 4, exact: true });
    expect(firstUnreadSeq(list, 3, ME)).toEqual({ seq: 3, exact: true });
    expect(firstUnreadSeq(list, 4, ME)).toEqual({ seq: 1, exact: true });
  });

  it('flags when the loaded window does not reach the first unread', () => {
    expect(firstUnreadSeq(list, 9, ME)).toEqual({ seq: 1, exact: false });
    expect(firstUnreadSeq([msg(1, ana)], 2, ME)).toBeNull();
  });
});
