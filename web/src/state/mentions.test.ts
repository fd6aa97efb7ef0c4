import { describe, expect, it } from 'vitest';
import { mentionAtCaret, mentionSuggestions } from './mentions';
import { ana, ben, cy } from './testutil';

describe('mentions in the composer', () => {
  it('finds the @name being typed at the caret only', () => {
    expect(mentionAtCaret('hi @be', 6)).toBe('be');
    expect(mentionAtCaret('@', 1)).toBe('');
    expect(mentionAtCaret('hi @be and more', 15)).toBeNull();
    expect(mentionAtCaret('mail ana@example', 16)).toBeNull();
    expect(mentionAtCaret('hi @be and more', 6)).toBe('be');
  });

  it('suggests members by username or display name, never me', () => {
    const members = [ana, ben, cy];
    expect(mentionSuggestions(members, '', ana.id).map((u) => u.id)).toEqual([ben.id, cy.id]);
    expect(mentionSuggestions(members, ben.username.slice(0, 2).toUpperCase(), ana.id).map((u) => u.id)).toContain(ben.id);
    expect(mentionSuggestions(members, ana.username, ana.id)).toEqual([]);
  });
});
