// The timeline: incidents per bin over the whole span (uPlot bars); dragging across it chooses the
// map's time range, which is shown as the selection.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Summary } from './api';
import { brushRange, stepLabel, timelineSeries } from './timeline';

export class TimelineChart {
  private plot: uPlot | null = null;
  private range: { from: string | null; to: string | null } = { from: null, to: null };
  // A brush is being drawn (mouse down on the plot, not yet up). While it is, nothing replaces the
  // selection or the plot: a resize or new data mid-drag would otherwise lose the brush.
  private dragging = false;
  private pendingData: { summary: Summary | null } | null = null;

  constructor(
    private readonly el: HTMLElement,
    private readonly onBrush: (r: { from: string; to: string }) => void,
  ) {
    new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.width(), height: 110 });
    }).observe(el);
    el.addEventListener('mousedown', (e) => {
      if (e.button === 0 && (e.target as Element).closest('.u-over')) this.dragging = true;
    });
    // Capture phase on window: seen before uPlot's own mouseup handler reads the selection, and
    // wherever the mouse is released.
    window.addEventListener(
      'mouseup',
      () => {
        if (!this.dragging) return;
        this.dragging = false;
        // After uPlot has handled this mouseup (and fired the brush, if any).
        setTimeout(() => {
          const pending = this.pendingData;
          this.pendingData = null;
          if (pending) this.setData(pending.summary);
        }, 0);
      },
      true,
    );
  }

  private width(): number {
    return Math.max(200, this.el.clientWidth);
  }

  setData(summary: Summary | null): void {
    if (this.dragging) {
      this.pendingData = { summary };
      return;
    }
    const [xs, ys] = timelineSeries(summary?.timeline ?? null);
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.el.textContent = '';
    if (!xs.length) return;
    const step = summary!.timeline!.step_s;
    const opts: uPlot.Options = {
      width: this.width(),
      height: 110,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: { x: { time: true, range: (_u, lo, hi) => [lo, hi + step] } },
      axes: [{ size: 28 }, { size: 40, label: `per ${stepLabel(step)}`, labelSize: 12 }],
      series: [
        {},
        { label: 'incidents', stroke: '#34495e', fill: 'rgba(52,73,94,0.45)', paths: uPlot.paths.bars!({ size: [0.9, 40], align: 1 }), points: { show: false } },
      ],
      hooks: {
        setSize: [() => queueMicrotask(() => this.showRange())],
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const r = brushRange(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'));
            if (r) this.onBrush(r);
          },
        ],
      },
    };
    this.plot = new uPlot(opts, [xs, ys], this.el);
    this.el.dataset.bins = String(xs.length);
    this.showRange();
  }

  // Shows [from, to) as the selection without firing the brush.
  setRange(from: string | null, to: string | null): void {
    this.range = { from, to };
    this.showRange();
  }

  private showRange(): void {
    const u = this.plot;
    if (!u || this.dragging) return;
    const { from, to } = this.range;
    if (!from || !to) {
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      return;
    }
    const l = u.valToPos(Date.parse(from) / 1000, 'x');
    const r = u.valToPos(Date.parse(to) / 1000, 'x');
    u.setSelect({ left: Math.max(0, l), top: 0, width: Math.max(2, r - Math.max(0, l)), height: u.bbox.height / devicePixelRatio }, false);
  }
}
