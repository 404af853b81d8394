import { describe, expect, it } from 'vitest';
import { bestAt, ceilingNextTo } from '../lib/ceilings.js';

describe('library ceilings measured between configurations', () => {
  const ceilings = [
    { slot: 0, imagesPerSecond: 70 },
    { slot: 0, imagesPerSecond: 129 },
    { slot: 1, imagesPerSecond: 108 },
    { slot: 1, imagesPerSecond: 120 },
    { slot: 2, imagesPerSecond: 104 },
    { slot: 3, imagesPerSecond: 99 },
  ];

  it('sets each configuration against the better of the library just before and just after it', () => {
    expect(ceilingNextTo(ceilings, 0)).toBe(129);
    expect(ceilingNextTo(ceilings, 1)).toBe(120);
    expect(ceilingNextTo(ceilings, 2)).toBe(104);
  });

  it('takes the best of the slots asked for, NaN for none measured', () => {
    expect(bestAt(ceilings, 0, 1, 2, 3)).toBe(129);
    expect(bestAt(ceilings, 3)).toBe(99);
    expect(bestAt(ceilings, 7)).toBeNaN();
  });
});
