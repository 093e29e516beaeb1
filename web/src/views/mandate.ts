// The mandate: the agreement's terms on a time line with the notice deadline and today, and the
// humanitarian figures (movement through checkpoints, displacement against the baseline).
import { Api, ApiError } from '../api';
import { $, fmtNum, fmtTime, h } from '../dom';

export interface MandateStatus {
  agreement: string;
  at: string;
  state: string;
  term_index: number;
  term_start: string;
  term_end: string;
  notice_deadline: string;
  notice_deadline_passed: boolean;
  renews_to: string | null;
  mandate_end: string | null;
  last_term: boolean;
  ends_because: string | null;
  days_left: number;
  days_to_notice_deadline: number;
  term_rule: { effective: string; length: string; renewal: string | null; notice: string };
  next: string;
  notes: string[] | string;
  local?: { time_zone: string; utc_offset: string };
}

export interface Bar {
  label: string;
  start: number; // ms
  end: number;
  kind: 'past' | 'current' | 'next';
}
export interface Marker {
  label: string;
  at: number;
  kind: 'deadline' | 'today' | 'end';
}

// The bars and markers of the mandate timeline (pure: tested on its own).
export function mandateTimeline(m: MandateStatus): { bars: Bar[]; markers: Marker[]; lo: number; hi: number } {
  const t = (s: string) => Date.parse(s);
  const bars: Bar[] = [];
  const effective = t(m.term_rule.effective);
  const start = t(m.term_start);
  if (m.term_index > 1 && effective < start) {
    bars.push({ label: m.term_index === 2 ? 'term 1' : `terms 1–${m.term_index - 1}`, start: effective, end: start, kind: 'past' });
  }
  bars.push({ label: `term ${m.term_index}${m.last_term ? ' (last)' : ''}`, start, end: t(m.term_end), kind: 'current' });
  if (m.renews_to && t(m.renews_to) > t(m.term_end)) {
    bars.push({ label: `term ${m.term_index + 1} unless notice is given`, start: t(m.term_end), end: t(m.renews_to), kind: 'next' });
  }
  const markers: Marker[] = [{ label: 'notice deadline', at: t(m.notice_deadline), kind: 'deadline' }, { label: 'today', at: t(m.at), kind: 'today' }];
  if (m.mandate_end) markers.push({ label: 'mandate ends', at: t(m.mandate_end), kind: 'end' });
  const all = [...bars.flatMap((b) => [b.start, b.end]), ...markers.map((x) => x.at)];
  const lo = Math.min(...all), hi = Math.max(...all);
  const pad = (hi - lo) * 0.03;
  return { bars, markers, lo: lo - pad, hi: hi + pad };
}

const SVG = 'http://www.w3.org/2000/svg';
function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawTimeline(el: HTMLElement, m: MandateStatus): void {
  const { bars, markers, lo, hi } = mandateTimeline(m);
  const W = 900, H = 110, x = (v: number) => 10 + ((v - lo) / (hi - lo)) * (W - 20);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': 'mandate timeline', id: 'mandate-svg' });
  const colors = { past: '#95a5a6', current: '#2e86c1', next: '#aed6f1' };
  for (const b of bars) {
    svg.append(s('rect', { x: x(b.start), y: 50, width: Math.max(1, x(b.end) - x(b.start)), height: 30, fill: colors[b.kind], class: `term term-${b.kind}`, 'stroke-dasharray': b.kind === 'next' ? '4 3' : '0', stroke: '#1b4f72' }));
    svg.append(s('text', { x: x(b.start) + 4, y: 70, 'font-size': 12, fill: b.kind === 'current' ? '#fff' : '#1b2631' }, b.label));
    svg.append(s('text', { x: x(b.start), y: 96, 'font-size': 10, fill: '#555' }, new Date(b.start).toISOString().slice(0, 10)));
  }
  const last = bars[bars.length - 1];
  svg.append(s('text', { x: x(last.end) - 60, y: 96, 'font-size': 10, fill: '#555' }, new Date(last.end).toISOString().slice(0, 10)));
  const mc = { deadline: '#c0392b', today: '#111', end: '#7d3c98' };
  markers.forEach((mk, i) => {
    const mx = x(mk.at);
    const right = mx > W * 0.6; // labels near the right edge grow leftwards
    svg.append(s('line', { x1: mx, x2: mx, y1: 6 + 13 * i, y2: 88, stroke: mc[mk.kind], 'stroke-width': 2, class: `marker marker-${mk.kind}` }));
    svg.append(
      s('text', { x: right ? mx - 4 : mx + 4, y: 14 + 13 * i, 'font-size': 11, fill: mc[mk.kind], 'text-anchor': right ? 'end' : 'start' }, `${mk.label} ${new Date(mk.at).toISOString().slice(0, 10)}`),
    );
  });
  el.textContent = '';
  el.append(svg);
}

export async function showMandate(api: Api): Promise<void> {
  const status = $('#mandate-status');
  const facts = $('#mandate-facts');
  status.className = '';
  status.textContent = 'Loading…';
  facts.textContent = '';
  $('#mandate-timeline').textContent = '';
  try {
    const m = await api.get<MandateStatus>('/api/v1/mandate');
    status.textContent = `${m.agreement}: ${m.state.replace(/_/g, ' ')} — term ${m.term_index}, ${fmtNum(m.days_left)} days left.`;
    drawTimeline($('#mandate-timeline'), m);
    const notes = Array.isArray(m.notes) ? m.notes : m.notes ? [m.notes] : [];
    facts.append(
      h(
        'table',
        { class: 'kv' },
        [
          ['state', m.state],
          ['current term', `${fmtTime(m.term_start)} → ${fmtTime(m.term_end)} (UTC)`],
          ['notice deadline', `${fmtTime(m.notice_deadline)} (${m.notice_deadline_passed ? 'passed' : fmtNum(m.days_to_notice_deadline) + ' days away'})`],
          ['renews to', m.renews_to ? fmtTime(m.renews_to) : '—'],
          ['mandate ends', m.mandate_end ? fmtTime(m.mandate_end) : '—'],
          ['term rule', `from ${fmtTime(m.term_rule.effective)}, length ${m.term_rule.length}, renewal ${m.term_rule.renewal ?? 'none'}, notice ${m.term_rule.notice}`],
          ['next', m.next],
        ].map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
      ),
      notes.length ? h('ul', {}, notes.map((n) => h('li', {}, n))) : '',
    );
  } catch (e) {
    status.className = 'error';
    status.textContent = e instanceof ApiError && e.status === 404 ? e.message : 'Cannot load the mandate: ' + (e as Error).message;
  }
  await showHumanitarian(api);
}

interface Humanitarian {
  at: string;
  rows: { date: string; period: boolean; out_people: number; in_people: number; cumulative_out: number; out_vehicles: number | null }[];
  total_out: number;
  total_in: number;
  baseline: { area: string; population: number; date: string; source: string } | null;
  share_out_percent?: number;
  sources: string[];
}

async function showHumanitarian(api: Api): Promise<void> {
  const el = $('#humanitarian');
  el.textContent = '';
  try {
    const hm = await api.get<Humanitarian>('/api/v1/humanitarian');
    if (!hm.rows.length && !hm.baseline) {
      el.append(h('p', { class: 'muted' }, 'No crossings or baseline population in the mission database (truce import crossings / baseline).'));
      return;
    }
    el.append(
      h(
        'p',
        { id: 'humanitarian-total' },
        `Up to ${hm.at}: ${fmtNum(hm.total_out)} people out, ${fmtNum(hm.total_in)} in`,
        hm.baseline ? ` — ${hm.share_out_percent}% of ${fmtNum(hm.baseline.population)} (${hm.baseline.area}, ${hm.baseline.date})` : '',
        '.',
      ),
      h(
        'table',
        { class: 'obs' },
        h('tr', {}, ['date', 'out', 'in', 'cumulative out', 'vehicles out'].map((c) => h('th', {}, c))),
        hm.rows.map((r) => h('tr', {}, h('td', {}, r.date + (r.period ? ' (period total)' : '')), h('td', {}, fmtNum(r.out_people)), h('td', {}, fmtNum(r.in_people)), h('td', {}, fmtNum(r.cumulative_out)), h('td', {}, fmtNum(r.out_vehicles)))),
      ),
      h('p', { class: 'muted' }, 'Sources: ' + hm.sources.join('; ')),
    );
  } catch (e) {
    el.append(h('p', { class: 'error' }, 'Cannot load the humanitarian figures: ' + (e as Error).message));
  }
}
