import { describe, expect, it } from 'vitest';
import {
  applyEventToRoom,
  applyMessageToRoom,
  applyReadToRoom,
  directPeer,
  mergeServerRoom,
  placeholderRoom,
  roomTitle,
  sortRooms,
  type RoomState,
} from './rooms';
import { applyLatestPage, emptyTimeline } from './timeline';
import { ana, ben, cy, msg, range, room } from './testutil';

const ME = ana.id;
const NOW = Date.UTC(2024, 4, 2);

function state(extra: Parameters<typeof room>[1] = {}): RoomState {
  return mergeServerRoom(undefined, room('r1', extra), NOW);
}

describe('room summaries', () => {
  it('counts a live message from someone else once', () => {
    let r = state({ last_seq: 5, unread: 1, last_message: msg(5) });
    r = applyMessageToRoom(r, msg(6), ME);
    expect(r).toMatchObject({ last_seq: 6, unread: 2 });
    expect(r.last_message?.seq).toBe(6);
    // The same message again (replay) changes nothing.
    expect(applyMessageToRoom(r, msg(6), ME)).toBe(r);
    // An older one that the summary already covers changes nothing.
    expect(applyMessageToRoom(r, msg(4), ME)).toBe(r);
  });

  it('counts a message that mentions me as a mention too, apart from unread', () => {
    let r = state({ last_seq: 5, unread: 0, mentions: 0 });
    r = applyMessageToRoom(r, msg(6, ben, { mentions: [ME] }), ME);
    r = applyMessageToRoom(r, msg(7, ben, { mentions: [cy.id] }), ME);
    expect(r).toMatchObject({ unread: 2, mentions: 1 });
    const tl = applyLatestPage(emptyTimeline('r1'), { messages: [msg(5), msg(6, ben, { mentions: [ME] }), msg(7)], has_more: true }, ME);
    expect(applyReadToRoom(r, 6, tl, ME).room).toMatchObject({ unread: 1, mentions: 0 });
    expect(applyReadToRoom(r, 7, tl, ME).room).toMatchObject({ unread: 0, mentions: 0 });
  });

  it('a room event moves last_seq on and updates the preview of the message it changes', () => {
    const r = state({ last_seq: 5, last_message: msg(5) });
    const edited = applyEventToRoom(r, {
      id: 'e6', room: 'r1', seq: 6, kind: 'edit', sender: ben, target: 5, created_at: '2024-05-01T13:00:00.000Z', client_id: null, body: 'better', mentions: [],
    });
    expect(edited).toMatchObject({ last_seq: 6, unread: 0 });
    expect(edited.last_message).toMatchObject({ seq: 5, body: 'better' });
  });

  it('does not count my own messages as unread', () => {
    const r = applyMessageToRoom(state({ last_seq: 5 }), msg(6, ana), ME);
    expect(r).toMatchObject({ last_seq: 6, unread: 0 });
  });

  it('moves activity forward so the room sorts first', () => {
    const a = state({ last_seq: 1, last_message: msg(1) });
    const b = mergeServerRoom(undefined, room('r2', { last_seq: 1, last_message: msg(2) }), NOW);
    expect(sortRooms([a, b]).map((r) => r.id)).toEqual(['r2', 'r1']);
    const a2 = applyMessageToRoom(a, msg(30), ME);
    expect(sortRooms([a2, b]).map((r) => r.id)).toEqual(['r1', 'r2']);
  });

  it('a refreshed snapshot replaces the summary when it is at least as new', () => {
    let r = applyMessageToRoom(state({ last_seq: 5, unread: 0 }), msg(6), ME);
    r = mergeServerRoom(r, room('r1', { last_seq: 7, unread: 2, last_message: msg(7) }), NOW);
    expect(r).toMatchObject({ last_seq: 7, unread: 2 });
  });

  it('a stale snapshot does not undo live messages nor double-count them', () => {
    // List says last_seq 5, unread 1. Then 6 (ben) and 7 (me) and 8 (ben) arrive live.
    let r = state({ last_seq: 5, unread: 1, last_message: msg(5) });
    r = applyMessageToRoom(r, msg(6), ME);
    r = applyMessageToRoom(r, msg(7, ana), ME);
    r = applyMessageToRoom(r, msg(8), ME);
    expect(r.unread).toBe(3);
    // A refresh that was computed when the server was at seq 6 (unread 2):
    r = mergeServerRoom(r, room('r1', { last_seq: 6, unread: 2, last_message: msg(6) }), NOW);
    expect(r).toMatchObject({ last_seq: 8, unread: 3 });
    expect(r.last_message?.seq).toBe(8);
  });

  it('read markers only move forward and clear unread when they reach the end', () => {
    let r = state({ last_seq: 10, unread: 3 });
    r = applyReadToRoom(r, 10, undefined, ME).room;
    expect(r).toMatchObject({ readSeq: 10, unread: 0 });
    const same = applyReadToRoom(r, 7, undefined, ME);
    expect(same.room).toBe(r);
    expect(same.needsRefresh).toBe(false);
  });

  it('a partial read is counted from the loaded timeline', () => {
    const tl = applyLatestPage(
      emptyTimeline('r1'),
      { messages: [msg(1), msg(2, ana), msg(3), msg(4), msg(5, ana), msg(6)], has_more: false },
      ME,
    );
    const r = state({ last_seq: 6, unread: 3 });
    const res = applyReadToRoom(r, 3, tl, ME);
    expect(res.needsRefresh).toBe(false);
    expect(res.room.unread).toBe(2); // 4 and 6
  });

  it('a partial read without enough local data asks for a refresh', () => {
    const tl = applyLatestPage(
      emptyTimeline('r1'),
      { messages: range(40, 50).map((s) => msg(s)), has_more: true },
      ME,
    );
    const res = applyReadToRoom(state({ last_seq: 50, unread: 30 }), 20, tl, ME);
    expect(res.needsRefresh).toBe(true);
    expect(res.room.readSeq).toBe(20);
  });

  it('infers the read marker from an unread count of zero', () => {
    const r = state({ last_seq: 9, unread: 0 });
    expect(r.readSeq).toBe(9);
    expect(applyMessageToRoom(r, msg(10), ME).unread).toBe(1);
  });

  it('placeholders are replaced by the server’s details', () => {
    let r = placeholderRoom('r1', NOW);
    r = applyMessageToRoom(r, msg(3), ME);
    expect(r.placeholder).toBe(true);
    r = mergeServerRoom(r, room('r1', { last_seq: 3, unread: 1, last_message: msg(3) }), NOW);
    expect(r).toMatchObject({ placeholder: false, name: 'Room r1', last_seq: 3, unread: 1 });
  });
});

describe('titles', () => {
  it('names a direct room after the other person', () => {
    const dm = room('d', { kind: 'direct', name: null, members: [ana, ben] });
    expect(roomTitle(dm, ME)).toBe('Ben Okafor');
    expect(directPeer(dm, ME)).toBe(ben);
  });

  it('uses the group name, or lists members', () => {
    expect(roomTitle(room('g', { name: 'Design' }), ME)).toBe('Design');
    expect(roomTitle(room('g', { name: '', members: [ana, ben, cy] }), ME)).toBe('Ben Okafor, Cy');
    expect(directPeer(room('g'), ME)).toBeNull();
  });
});
