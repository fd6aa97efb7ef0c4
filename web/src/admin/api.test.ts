import { describe, expect, it } from 'vitest';
import { pushPoint } from './api';

describe('pushPoint', () => {
  it('keeps the newest points up to the window', () => {
    let series: number[] = [];
    for (let i = 0; i < 5; i++) series = pushPoint(series, i, 3);
    expect(series).toEqual([2, 3, 4]);
  });
});
