import { describe, expect, it } from 'vitest';
import { cellDegForZoom, clusterByGrid, clusterRadius } from '../src/cluster';

describe('screen-grid clustering', () => {
  it('keeps every point exactly once', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ x: (i * 37) % 500, y: (i * 91) % 300, item: i }));
    const cs = clusterByGrid(pts, 40);
    const all = cs.flatMap((c) => c.items).sort((a, b) => a - b);
    expect(all).toEqual(pts.map((p) => p.item));
    expect(cs.length).toBeLessThanOrEqual(Math.ceil(500 / 40) * Math.ceil(300 / 40));
  });
  it('groups points of one cell at their mean and leaves far ones alone', () => {
    const cs = clusterByGrid([{ x: 1, y: 1, item: 'a' }, { x: 9, y: 5, item: 'b' }, { x: 100, y: 100, item: 'c' }], 20);
    expect(cs).toHaveLength(2);
    const ab = cs.find((c) => c.items.length === 2)!;
    expect(ab.x).toBe(5);
    expect(ab.y).toBe(3);
  });
  it('refuses a cell of zero pixels', () => {
    expect(() => clusterByGrid([], 0)).toThrow(RangeError);
  });
  it('grows discs with the count, within bounds', () => {
    expect(clusterRadius(1)).toBe(8);
    expect(clusterRadius(100)).toBeGreaterThan(clusterRadius(10));
    expect(clusterRadius(1e9)).toBe(30);
  });
  it('halves the grid cell with each zoom level', () => {
    expect(cellDegForZoom(8) / cellDegForZoom(9)).toBeCloseTo(2, 1);
    expect(cellDegForZoom(0)).toBe(10);
    expect(cellDegForZoom(30)).toBe(0.0001);
  });
});
