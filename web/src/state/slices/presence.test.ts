import { describe, expect, it } from 'vitest';
import { ana, ben } from '../testutil';
import { r1, setup, withFakeClock } from './testkit';

withFakeClock();

describe('presence', () => {
  it('tracks presence', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'presence', user: ben, status: 'online' });
    expect(t.s().presence.u2).toBe('online');
    t.conn.serverSends({ type: 'presence', user: ben, status: 'offline' });
    expect(t.s().presence.u2).toBe('offline');
  });

  it('takes the presence snapshot from ready', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.serverSends({ type: 'presence', user: { ...ben, id: 'u9' }, status: 'online' });
    t.conn.serverSends({ type: 'ready', user: ana, online: ['u2'] });
    expect(t.s().presence).toEqual({ u2: 'online', u9: 'offline' });
  });

  it('subscribes to the members shown, takes their state, and subscribes again on a new socket', async () => {
    const t = await setup({ rooms: [r1] });
    t.chat.presence.watch(['u2', 'u3']);
    t.chat.presence.watch(['u2', 'u3']); // the same set: no new frame
    expect(t.conn.sends('presence_subscribe')).toEqual([{ type: 'presence_subscribe', users: ['u2', 'u3'] }]);
    t.conn.serverSends({ type: 'presence_subscribed', users: ['u2', 'u3'], online: ['u3'] });
    expect(t.s().presence).toMatchObject({ u2: 'offline', u3: 'online' });
    t.conn.drop();
    t.conn.connectReady();
    expect(t.conn.sends('presence_subscribe')).toHaveLength(2);
    t.chat.presence.watch([]);
    expect(t.conn.sends('presence_subscribe').at(-1)).toEqual({ type: 'presence_subscribe', users: [] });
  });
});
