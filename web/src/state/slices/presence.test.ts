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
});
