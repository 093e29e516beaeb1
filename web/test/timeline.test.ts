import { describe, expect, it } from 'vitest';
import { brushRange, stepLabel, timelineSeries } from '../src/timeline';

describe('timeline', () => {
  it('turns summary bins into uPlot columns', () => {
    const [xs, ys] = timelineSeries({ start: '2023-09-01T00:00:00Z', step_s: 3600, counts: [2, 0, 5] });
    expect(xs).toEqual([1693526400, 1693530000, 1693533600]);
    expect(ys).toEqual([2, 0, 5]);
    expect(timelineSeries(null)).toEqual([[], []]);
  });
  it('widens a brush to whole minutes, in either direction', () => {
    expect(brushRange(1693530030, 1693526410)).toEqual({ from: '2023-09-01T00:00:00Z', to: '2023-09-01T01:01:00Z' });
  });
  it('takes a click (under a minute) for no selection', () => {
    expect(brushRange(1693526400, 1693526430)).toBeNull();
    expect(brushRange(NaN, 1)).toBeNull();
  });
  it('names bin sizes', () => {
    expect(stepLabel(86400)).toBe('day');
    expect(stepLabel(6 * 3600)).toBe('6 hours');
    expect(stepLabel(900)).toBe('15 min');
  });
});
