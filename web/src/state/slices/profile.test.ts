import { describe, expect, it } from 'vitest';
import { applySettings, loadLocalSettings } from '../preferences';
import { timeLabel } from '../format';
import { ana, ben, msg, room } from '../testutil';
import { setup, withFakeClock } from './testkit';

withFakeClock();

describe('profile', () => {
  it('renames a user everywhere they show when user_updated arrives', async () => {
    const t = await setup({ rooms: [room('r1', { members: [ana, ben] })], history: { r1: [msg(1, ben)] } });
    await t.chat.timeline.loadLatest('r1');
    t.conn.serverSends({ type: 'user_updated', user: { ...ben, display_name: 'Benjamin' } });
    expect(t.s().rooms.r1!.members.find((m) => m.id === ben.id)!.display_name).toBe('Benjamin');
    expect(t.s().timelines.r1!.messages[0]!.sender.display_name).toBe('Benjamin');
    t.conn.serverSends({ type: 'user_updated', user: { ...ana, display_name: 'Ana B.' } });
    expect(t.s().me!.display_name).toBe('Ana B.');
  });

  it('keeps last seen from offline presence and asks the server once', async () => {
    const t = await setup();
    t.conn.serverSends({ type: 'presence', user: ben, status: 'offline', last_seen: '2026-12-02T11:00:00.000Z' });
    expect(t.s().lastSeen[ben.id]).toBe('2026-12-02T11:00:00.000Z');
    await t.chat.profile.fetchLastSeen('u9');
    await t.chat.profile.fetchLastSeen('u9');
    expect(t.api.profileCalls).toEqual(['u9']);
    expect(t.s().lastSeen.u9).toBe('2026-12-02T10:00:00.000Z');
  });

  it('applies settings at once, keeps a local copy and saves them on the server', async () => {
    const t = await setup();
    await t.chat.profile.saveSettings({ theme: 'dark', hour_cycle: '24h' });
    expect(t.s().settings).toEqual({ theme: 'dark', hour_cycle: '24h' });
    expect(t.api.savedSettings).toEqual({ theme: 'dark', hour_cycle: '24h' });
    const at = new Date(2026, 11, 2, 16, 5);
    expect(timeLabel(at)).toMatch(/^16:05$/);
    await t.chat.profile.saveSettings({ theme: 'light', hour_cycle: '12h' });
    expect(timeLabel(at)).toMatch(/^4:05\sPM$/i);
    const kept = new Map<string, string>();
    applySettings({ theme: 'dark', hour_cycle: 'auto' }, { setItem: (k, v) => kept.set(k, v) });
    expect(loadLocalSettings({ getItem: (k) => kept.get(k) ?? null })).toEqual({ theme: 'dark', hour_cycle: 'auto' });
  });

  it('reads back a damaged local copy as the defaults', () => {
    expect(loadLocalSettings({ getItem: () => '{"theme":"neon"' })).toEqual({ theme: 'system', hour_cycle: 'auto' });
    expect(loadLocalSettings({ getItem: () => '{"theme":"dark","hour_cycle":"nope"}' })).toEqual({
      theme: 'dark',
      hour_cycle: 'auto',
    });
  });
});
