import { describe, expect, it } from 'vitest';
import { DESKTOP_KEY, desktopState, onDesktopChange, setDesktop, type DesktopEnv } from './desktop';
import { MemoryStorage } from './tokens';

function env(start: NotificationPermission | 'unsupported', answer: NotificationPermission = 'granted') {
  const storage = new MemoryStorage();
  const state = { permission: start, asked: 0 };
  const e: DesktopEnv = {
    permission: () => state.permission,
    request: async () => {
      state.asked++;
      state.permission = answer;
      return answer;
    },
    storage: () => storage,
  };
  return { e, state, storage };
}

describe('desktop notifications', () => {
  it('asks for permission when turned on, then is on', async () => {
    const { e, state, storage } = env('default');
    expect(desktopState(e)).toBe('off');
    let told = 0;
    const stop = onDesktopChange(() => told++);
    expect(await setDesktop(true, e)).toBe('on');
    stop();
    expect(state.asked).toBe(1);
    expect(told).toBe(1);
    expect(storage.getItem(DESKTOP_KEY)).toBe('on');
  });

  it('is switched off on this device while the permission stays', async () => {
    const { e, state } = env('granted');
    expect(desktopState(e)).toBe('on');
    expect(await setDesktop(false, e)).toBe('off');
    expect(desktopState(e)).toBe('off');
    expect(await setDesktop(true, e)).toBe('on');
    expect(state.asked).toBe(0);
  });

  it('is blocked when the permission is refused, and unsupported without the API', async () => {
    const refused = env('default', 'denied');
    expect(await setDesktop(true, refused.e)).toBe('blocked');
    expect(desktopState(env('unsupported').e)).toBe('unsupported');
  });
});
