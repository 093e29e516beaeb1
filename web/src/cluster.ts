// Grid clustering in screen space: marks closer than a cell are drawn as one cluster with a count,
// so a dense map stays readable and fast. Pure: the caller projects to pixels.

export interface ScreenPoint<T> {
  x: number;
  y: number;
  item: T;
}

export interface Cluster<T> {
  x: number; // mean position of the members, pixels
  y: number;
  items: T[];
}

export function clusterByGrid<T>(points: ScreenPoint<T>[], cellPx: number): Cluster<T>[] {
  if (!(cellPx > 0)) throw new RangeError('cellPx must be > 0');
  const cells = new Map<string, { sx: number; sy: number; items: T[] }>();
  for (const p of points) {
    const key = Math.floor(p.x / cellPx) + ':' + Math.floor(p.y / cellPx);
    let c = cells.get(key);
    if (!c) {
      c = { sx: 0, sy: 0, items: [] };
      cells.set(key, c);
    }
    c.sx += p.x;
    c.sy += p.y;
    c.items.push(p.item);
  }
  return [...cells.values()].map((c) => ({ x: c.sx / c.items.length, y: c.sy / c.items.length, items: c.items }));
}

// Radius in pixels of a cluster or aggregated cell of n incidents: grows with log n, bounded.
export function clusterRadius(n: number): number {
  return Math.min(30, 8 + 4 * Math.log10(Math.max(1, n)) * 2);
}

// The grid cell (degrees) that is about `px` pixels wide at a web-map zoom level.
export function cellDegForZoom(zoom: number, px = 48): number {
  const deg = (360 / (256 * 2 ** zoom)) * px;
  return Math.min(10, Math.max(0.0001, Number(deg.toPrecision(2))));
}
