import { describe, expect, it, vi } from 'vitest';
import { AvatarCache } from './avatars';

describe('AvatarCache', () => {
  it('fetches each user once, remembers who has none, and refetches after forget', async () => {
    const load = vi.fn((id: string) => Promise.resolve(id === 'u1' ? new Blob(['x']) : null));
    const created = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:one');
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined);
    const cache = new AvatarCache(load);
    expect(await cache.get('u1')).toBe('blob:one');
    expect(await cache.get('u1')).toBe('blob:one');
    expect(await cache.get('u2')).toBeNull();
    expect(load).toHaveBeenCalledTimes(2);
    const heard = vi.fn();
    cache.subscribe(heard);
    cache.forget('u1');
    expect(heard).toHaveBeenCalledOnce();
    await cache.get('u1');
    expect(load).toHaveBeenCalledTimes(3);
    expect(created).toHaveBeenCalledTimes(2);
  });

  it('shows initials when the fetch fails', async () => {
    const cache = new AvatarCache(() => Promise.reject(new Error('offline')));
    expect(await cache.get('u1')).toBeNull();
  });
});
