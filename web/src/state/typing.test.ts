import { describe, expect, it } from 'vitest';
import { activeTyping, addTyping, removeTyping, TypingThrottle, typingLabel } from './typing';
import { ana, ben, cy } from './testutil';

describe('TypingThrottle', () => {
  it('sends at most once per interval per room', () => {
    const t = new TypingThrottle(3000);
    expect(t.shouldSend('r1', 0)).toBe(true);
    expect(t.shouldSend('r1', 1000)).toBe(false);
    expect(t.shouldSend('r2', 1000)).toBe(true);
    expect(t.shouldSend('r1', 2999)).toBe(false);
    expect(t.shouldSend('r1', 3000)).toBe(true);
    expect(t.shouldSend('r1', 3001)).toBe(false);
  });

  it('announces again soon after a message was sent, but not sooner than the server accepts', () => {
    const t = new TypingThrottle(3000, 2100);
    expect(t.decide('r1', 0)).toEqual({ send: true, retryAt: null });
    expect(t.decide('r1', 500)).toEqual({ send: false, retryAt: null });
    t.reset('r1'); // message sent at 1000
    expect(t.decide('r1', 1000)).toEqual({ send: false, retryAt: 2100 });
    expect(t.decide('r1', 2100)).toEqual({ send: true, retryAt: null });
    // back to the normal interval afterwards
    expect(t.decide('r1', 4000)).toEqual({ send: false, retryAt: null });
    expect(t.decide('r1', 5100)).toEqual({ send: true, retryAt: null });
  });

  it('a reset before anything was sent changes nothing', () => {
    const t = new TypingThrottle(3000, 2100);
    t.reset('r1');
    expect(t.shouldSend('r1', 0)).toBe(true);
  });

  it('survives the clock going backwards', () => {
    const t = new TypingThrottle(3000);
    t.shouldSend('r1', 10_000);
    expect(t.shouldSend('r1', 5_000)).toBe(true);
  });
});

describe('typing indicator', () => {
  it('shows a user until ttl after their last typing event', () => {
    let list = addTyping([], ben, 0, 5000);
    list = addTyping(list, ben, 3000, 5000); // refreshed, not duplicated
    expect(list).toHaveLength(1);
    expect(activeTyping(list, 7999).map((e) => e.user.id)).toEqual(['u2']);
    expect(activeTyping(list, 8000)).toEqual([]);
  });

  it('drops expired entries when adding and removes a user who sent a message', () => {
    let list = addTyping([], ben, 0, 5000);
    list = addTyping(list, cy, 6000, 5000);
    expect(list.map((e) => e.user.id)).toEqual(['u3']);
    expect(removeTyping(list, 'u3')).toEqual([]);
    expect(removeTyping(list, 'nobody')).toBe(list);
  });

  it('labels one, two, three or many typists', () => {
    expect(typingLabel([])).toBe('');
    expect(typingLabel([ana])).toBe('Ana Lima is typing…');
    expect(typingLabel([ana, ben])).toBe('Ana Lima and Ben Okafor are typing…');
    expect(typingLabel([ana, ben, cy])).toBe('Ana Lima, Ben Okafor and Cy are typing…');
    expect(typingLabel([ana, ben, cy, { username: 'dee', display_name: '' }])).toBe(
      'Ana Lima, Ben Okafor and 2 others are typing…',
    );
  });
});
