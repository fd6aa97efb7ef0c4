import { describe, expect, it } from 'vitest';
import { keyBytes, pushState, pushSupported, sameKey } from './push';

describe('push', () => {
  it('decodes the base64url server key to the bytes subscribe() takes', () => {
    const bytes = keyBytes('BAEC_-8');
    expect(Array.from(bytes)).toEqual([4, 1, 2, 255, 239]);
    expect(bytes.buffer.byteLength).toBe(5);
  });

  it('compares a subscription key with the server key', () => {
    const key = keyBytes('BAEC');
    expect(sameKey(new Uint8Array([4, 1, 2]).buffer, key)).toBe(true);
    expect(sameKey(new Uint8Array([4, 1, 3]).buffer, key)).toBe(false);
    expect(sameKey(new Uint8Array([4, 1]).buffer, key)).toBe(false);
    expect(sameKey(null, key)).toBe(false);
  });

  it('reports unsupported where there is no service worker or push', async () => {
    expect(pushSupported()).toBe(false);
    expect(await pushState('1')).toBe('unsupported');
  });
});
