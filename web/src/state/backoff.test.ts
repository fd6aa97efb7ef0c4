import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff';

describe('Backoff', () => {
  it('grows exponentially up to the cap, with the ceiling as the upper bound', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 1 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(b.attempts).toBe(6);
  });

  it('never goes below half the ceiling (equal jitter)', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 400, 500]);
  });

  it('spreads delays between the floor and the ceiling', () => {
    const values = [0.25, 0.5, 0.75];
    let i = 0;
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000, random: () => values[i++ % 3]! });
    expect(b.next()).toBe(625); // 500 + 0.25*500
    expect(b.next()).toBe(1500); // 1000 + 0.5*1000
    expect(b.next()).toBe(3500); // 2000 + 0.75*2000
  });

  it('stays within bounds for many random draws', () => {
    const b = new Backoff({ baseMs: 250, maxMs: 8000 });
    for (let n = 0; n < 200; n++) {
      const ceiling = b.ceiling(n);
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });

  it('resets to the base delay', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 10_000, random: () => 1 });
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('does not overflow for huge attempt counts', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 5000, random: () => 1 });
    expect(b.ceiling(10_000)).toBe(5000);
    for (let i = 0; i < 2000; i++) b.next();
    expect(b.next()).toBe(5000);
  });

  it('clamps a misbehaving random source', () => {
    expect(new Backoff({ baseMs: 100, random: () => Number.NaN }).next()).toBe(50);
    expect(new Backoff({ baseMs: 100, random: () => 7 }).next()).toBe(100);
    expect(new Backoff({ baseMs: 100, random: () => -3 }).next()).toBe(50);
  });

  it('rejects nonsense options', () => {
    expect(() => new Backoff({ baseMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 100, maxMs: 50 })).toThrow(RangeError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError);
  });
});
