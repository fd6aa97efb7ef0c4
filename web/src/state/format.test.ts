import { describe, expect, it } from 'vitest';
import { buildRows, dayLabel, hueFor, initials, preview, shortStamp, timeLabel } from './format';
import { ana, ben, msg } from './testutil';
import type { PendingMessage } from './timeline';

const at = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi);
const m = (seq: number, sender = ben, when: Date) =>
  msg(seq, sender, { created_at: when.toISOString() });

describe('initials and colours', () => {
  it('takes first and last initials', () => {
    expect(initials({ display_name: 'Ana Lima', username: 'ana' })).toBe('AL');
    expect(initials({ display_name: 'ana maria de souza', username: 'x' })).toBe('AS');
    expect(initials({ display_name: '', username: 'ben.okafor' })).toBe('BO');
    expect(initials({ display_name: 'Ödön', username: 'o' })).toBe('Ö');
    expect(initials({ display_name: '', username: '' })).toBe('?');
  });

  it('gives a stable hue per id', () => {
    expect(hueFor('u1')).toBe(hueFor('u1'));
    expect(hueFor('u1')).toBeGreaterThanOrEqual(0);
    expect(hueFor('u1')).toBeLessThan(360);
  });
});

describe('dates', () => {
  const now = at(2024, 5, 15, 10);
  it('labels days', () => {
    expect(dayLabel(at(2024, 5, 15, 1), now)).toBe('Today');
    expect(dayLabel(at(2024, 5, 14, 23), now)).toBe('Yesterday');
    expect(dayLabel(at(2024, 5, 10), now)).not.toMatch(/2024/);
    expect(dayLabel(at(2023, 5, 10), now)).toMatch(/2023/);
  });

  it('has short stamps for the sidebar', () => {
    expect(shortStamp(at(2024, 5, 15, 9, 5), now)).toMatch(/09|9/);
    expect(shortStamp(at(2022, 1, 1), now)).toMatch(/2022/);
  });

  it('flattens previews', () => {
    expect(preview('a\n\n  b')).toBe('a b');
    expect(preview('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('buildRows', () => {
  const now = at(2024, 5, 15, 18);
  it('groups consecutive messages from one sender and separates days', () => {
    const rows = buildRows(
      [
        m(1, ben, at(2024, 5, 14, 9, 0)),
        m(2, ben, at(2024, 5, 14, 9, 1)),
        m(3, ana, at(2024, 5, 14, 9, 2)),
        m(4, ana, at(2024, 5, 15, 9, 3)),
        m(5, ana, at(2024, 5, 15, 9, 30)), // > 5 min later: new group
      ],
      [],
      ana,
      null,
      now,
    );
    expect(rows.map((r) => (r.kind === 'message' ? `${r.message.seq}${r.head ? 'H' : ''}` : r.kind))).toEqual([
      'day',
      '1H',
      '2',
      '3H',
      'day',
      '4H',
      '5H',
    ]);
    const mine = rows.filter((r) => r.kind === 'message' && r.mine).length;
    expect(mine).toBe(3);
  });

  it('puts the unread marker before the first unread and starts a group there', () => {
    const rows = buildRows(
      [m(1, ben, at(2024, 5, 15, 9)), m(2, ben, at(2024, 5, 15, 9, 1))],
      [],
      ana,
      2,
      now,
    );
    expect(rows.map((r) => r.kind)).toEqual(['day', 'message', 'unread', 'message']);
    const last = rows[3];
    expect(last?.kind === 'message' && last.head).toBe(true);
  });

  it('appends pending messages with the key the confirmed message will reuse', () => {
    const p: PendingMessage = {
      client_id: 'c1',
      room: 'r1',
      body: 'hi',
      created_at: at(2024, 5, 15, 9, 2).toISOString(),
      status: 'sending',
      final: false,
      error: null,
      attempts: 1,
    };
    const rows = buildRows([m(1, ana, at(2024, 5, 15, 9))], [p], ana, null, now);
    expect(rows[2]).toMatchObject({ kind: 'pending', key: 'c-c1', head: false });
    const confirmed = buildRows(
      [m(1, ana, at(2024, 5, 15, 9)), msg(2, ana, { client_id: 'c1', created_at: p.created_at })],
      [],
      ana,
      null,
      now,
    );
    expect(confirmed[2]).toMatchObject({ kind: 'message', key: 'c-c1' });
  });
});

describe('buildRows: separators that would stack merge', () => {
  it('says the unread marker on the day separator when the day changes there', () => {
    const now = at(2024, 5, 15, 18);
    const rows = buildRows(
      [m(1, ben, at(2024, 5, 14, 9)), m(2, ben, at(2024, 5, 15, 9))],
      [],
      ana,
      2,
      now,
    );
    expect(rows.map((r) => r.kind)).toEqual(['day', 'message', 'day', 'message']);
    expect(rows[0]).toMatchObject({ unread: false, start: false });
    expect(rows[2]).toMatchObject({ unread: true });
    const last = rows[3];
    expect(last?.kind === 'message' && last.head).toBe(true);
  });

  it('a new room with one unread message has one separator for start, day and marker', () => {
    const now = at(2024, 5, 15, 18);
    const rows = buildRows([m(1, ben, at(2024, 5, 15, 9))], [], ana, 1, now, true);
    expect(rows.map((r) => r.kind)).toEqual(['day', 'message']);
    expect(rows[0]).toMatchObject({ label: 'Today', start: true, unread: true });
  });
});

describe('timeLabel', () => {
  it('writes the hour without a leading zero', () => {
    const early = new Date(2024, 4, 15, 4, 34);
    expect(timeLabel(early)).not.toMatch(/^0/);
    expect(timeLabel(early)).toContain('4:34');
  });
});
