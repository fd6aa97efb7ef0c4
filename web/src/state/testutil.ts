import type { Message, Room, User } from './types';

export const ana: User = { id: 'u1', username: 'ana', display_name: 'Ana Lima' };
export const ben: User = { id: 'u2', username: 'ben', display_name: 'Ben Okafor' };
export const cy: User = { id: 'u3', username: 'cy', display_name: 'Cy' };

export function msg(seq: number, sender: User = ben, extra: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    room: 'r1',
    seq,
    sender,
    body: `message ${seq}`,
    created_at: new Date(Date.UTC(2024, 4, 1, 12, 0, seq)).toISOString(),
    client_id: null,
    reply_to: null,
    mentions: [],
    edited_at: null,
    deleted: false,
    reactions: [],
    attachments: [],
    ...extra,
  };
}

export function seqs(list: readonly { seq: number }[]): number[] {
  return list.map((m) => m.seq);
}

export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

export function room(id: string, extra: Partial<Room> = {}): Room {
  return {
    id,
    kind: 'group',
    name: `Room ${id}`,
    members: [ana, ben],
    roles: {},
    topic: null,
    public: false,
    last_seq: 0,
    unread: 0,
    mentions: 0,
    last_message: null,
    ...extra,
  };
}
