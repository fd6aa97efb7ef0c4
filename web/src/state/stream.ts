import type { Message, RoomEvent } from './types';

/**
 * A room's stream holds messages and room events (edit, delete, react,
 * unreact) under one seq. Events change the message they target; these pure
 * functions fold one into a message. Each is idempotent, because a history
 * page already holds messages in their current state and the events after it
 * may be replayed onto them again (a gap fill or resume that overlaps).
 */

export type StreamEntry = { message: Message } | { event: RoomEvent };

export function entrySeq(entry: StreamEntry): number {
  return 'message' in entry ? entry.message.seq : entry.event.seq;
}

/** At most this many user ids are kept per reaction, as the server does. */
const MAX_REACTION_USERS = 100;

export function applyEventToMessage(msg: Message, ev: RoomEvent): Message {
  if (ev.target !== msg.seq || ev.room !== msg.room) return msg;
  switch (ev.kind) {
    case 'edit':
      if (msg.deleted) return msg;
      return { ...msg, body: ev.body ?? msg.body, mentions: ev.mentions ?? msg.mentions, edited_at: ev.created_at };
    case 'delete':
      if (msg.deleted) return msg;
      return { ...msg, body: '', mentions: [], reactions: [], reply_to: null, attachments: [], deleted: true };
    case 'react':
      return ev.emoji && !msg.deleted ? { ...msg, reactions: addReaction(msg.reactions, ev.emoji, ev.sender.id) } : msg;
    case 'unreact':
      return ev.emoji ? { ...msg, reactions: removeReaction(msg.reactions, ev.emoji, ev.sender.id) } : msg;
  }
}

function addReaction(list: Message['reactions'], emoji: string, user: string): Message['reactions'] {
  const i = list.findIndex((r) => r.emoji === emoji);
  if (i < 0) return list.concat([{ emoji, count: 1, users: [user] }]);
  const r = list[i]!;
  if (r.users.includes(user)) return list;
  const users = r.users.length < MAX_REACTION_USERS ? r.users.concat([user]) : r.users;
  return list.map((x, k) => (k === i ? { ...r, count: r.count + 1, users } : x));
}

function removeReaction(list: Message['reactions'], emoji: string, user: string): Message['reactions'] {
  const i = list.findIndex((r) => r.emoji === emoji);
  if (i < 0) return list;
  const r = list[i]!;
  if (!r.users.includes(user)) return list;
  if (r.count <= 1) return list.filter((_, k) => k !== i);
  return list.map((x, k) => (k === i ? { ...r, count: r.count - 1, users: r.users.filter((u) => u !== user) } : x));
}

/** A reply preview follows its original: edited text, or emptied once the original is deleted. */
export function applyEventToReplies(msg: Message, ev: RoomEvent): Message {
  const q = msg.reply_to;
  if (!q || q.seq !== ev.target || msg.room !== ev.room) return msg;
  if (ev.kind === 'edit' && !q.deleted) return { ...msg, reply_to: { ...q, body: (ev.body ?? q.body).slice(0, 200) } };
  if (ev.kind === 'delete') return { ...msg, reply_to: { ...q, body: '', deleted: true } };
  return msg;
}
