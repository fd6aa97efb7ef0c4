import { describe, expect, it } from 'vitest';
import type { RoomState } from './rooms';
import { matchRooms, searchPath, stepRoom } from './search';

function room(id: string, name: string, unread = 0): RoomState {
  return {
    id,
    kind: 'group',
    name,
    members: [],
    unread,
  } as unknown as RoomState;
}

describe('searchPath', () => {
  it('encodes the text and leaves out empty filters', () => {
    expect(searchPath({ q: 'a&b "c"', room: '7', sender: ' ', after: '' })).toBe('/api/search?q=a%26b+%22c%22&room=7');
    expect(searchPath({ q: 'x', cursor: '12', limit: 20, before: '2026-12-02' })).toBe(
      '/api/search?q=x&before=2026-12-02&cursor=12&limit=20',
    );
  });
});

describe('matchRooms', () => {
  it('puts titles starting with the text first and keeps the given order otherwise', () => {
    const rooms = [room('1', 'Design team'), room('2', 'Team'), room('3', 'Ops'), room('4', 'team b')];
    expect(matchRooms(rooms, 'TEAM', null).map((r) => r.id)).toEqual(['2', '4', '1']);
    expect(matchRooms(rooms, '', null).map((r) => r.id)).toEqual(['1', '2', '3', '4']);
  });
});

describe('stepRoom', () => {
  const order = ['a', 'b', 'c', 'd'];
  const rooms = {
    a: room('a', 'A'),
    b: room('b', 'B', 2),
    c: room('c', 'C'),
    d: room('d', 'D', 1),
  };
  it('moves up and down the list, wrapping around', () => {
    expect(stepRoom(order, rooms, 'b', 1, false)).toBe('c');
    expect(stepRoom(order, rooms, 'a', -1, false)).toBe('d');
    expect(stepRoom(order, rooms, null, 1, false)).toBe('a');
    expect(stepRoom(order, rooms, null, -1, false)).toBe('d');
  });
  it('skips to the nearest room with unread messages', () => {
    expect(stepRoom(order, rooms, 'b', 1, true)).toBe('d');
    expect(stepRoom(order, rooms, 'd', 1, true)).toBe('b');
    expect(stepRoom(order, { a: room('a', 'A') }, 'a', 1, true)).toBeNull();
    expect(stepRoom([], {}, null, 1, false)).toBeNull();
  });
});
