// The timeline's data: bins from /api/v1/incidents/summary, and the brush as a time range.

export interface TimelineBins {
  start: string; // ISO instant of the first bin
  step_s: number;
  counts: number[];
}

// uPlot's columns: x = bin start in Unix seconds, y = counts.
export function timelineSeries(t: TimelineBins | null): [number[], number[]] {
  if (!t) return [[], []];
  const start = Date.parse(t.start) / 1000;
  return [t.counts.map((_, i) => start + i * t.step_s), t.counts.slice()];
}

const iso = (sec: number) => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

// The range a brush from x0 to x1 (Unix seconds, any order) selects, widened to whole minutes.
// Null for a brush narrower than a minute (a click, not a selection).
export function brushRange(x0: number, x1: number): { from: string; to: string } | null {
  const lo = Math.min(x0, x1), hi = Math.max(x0, x1);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi - lo < 60) return null;
  return { from: iso(Math.floor(lo / 60) * 60), to: iso(Math.ceil(hi / 60) * 60) };
}

// A human label for a bin size.
export function stepLabel(step_s: number): string {
  if (step_s % 86400 === 0) return step_s === 86400 ? 'day' : `${step_s / 86400} days`;
  if (step_s % 3600 === 0) return step_s === 3600 ? 'hour' : `${step_s / 3600} hours`;
  return `${Math.round(step_s / 60)} min`;
}
