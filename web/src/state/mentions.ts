import type { User } from './types';

/** `@name` being typed right before the caret (at the start or after a space). */
const MENTION_AT_CARET = /(?:^|\s)@([A-Za-z0-9_.-]*)$/;
const MAX_SUGGESTIONS = 6;

/** What follows the `@` being typed at the caret, or null when no mention is being typed. */
export function mentionAtCaret(text: string, caret: number): string | null {
  const m = MENTION_AT_CARET.exec(text.slice(0, caret));
  return m ? m[1]! : null;
}

/** Room members whose username or display name starts with `prefix` (never me), at most six. */
export function mentionSuggestions(members: readonly User[], prefix: string, myId: string | null): User[] {
  const p = prefix.toLowerCase();
  return members
    .filter((u) => u.id !== myId)
    .filter((u) => u.username.toLowerCase().startsWith(p) || (u.display_name ?? '').toLowerCase().startsWith(p))
    .slice(0, MAX_SUGGESTIONS);
}
