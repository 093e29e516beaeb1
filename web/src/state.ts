// The dashboard's view state and its URL form, so that a view can be shared as a link.
//
// Every field has one query parameter; lists are comma-separated; defaults are left out so links
// stay short. Parsing never throws: a value that does not parse is dropped (its default is used).
import { COLOR_BYS, type ColorBy, VIEWS, type View } from './vocab';

export interface ViewState {
  view: View;
  from: string | null; // ISO 8601 UTC instant, inclusive
  to: string | null; // ISO 8601 UTC instant, exclusive
  kinds: string[];
  parties: string[];
  statuses: string[];
  rules: string[];
  color: ColorBy;
  date: string | null; // the daily report's day, YYYY-MM-DD
  incident: string | null; // the incident shown in detail
}

export function defaultState(): ViewState {
  return { view: 'map', from: null, to: null, kinds: [], parties: [], statuses: [], rules: [], color: 'kind', date: null, incident: null };
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const TOKEN = /^[A-Za-z0-9_.:-]{1,64}$/; // ids, kinds, parties, rule names

// "2023-09-01T21:38Z" and "2023-09-01T21:38:00Z" are the same instant; the canonical form has seconds.
export function normalizeInstant(s: string): string | null {
  if (!INSTANT.test(s)) return null;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return null;
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

export function isDay(s: string): boolean {
  return DAY.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z')) && new Date(s + 'T00:00:00Z').toISOString().startsWith(s);
}

function list(v: string | null): string[] {
  if (!v) return [];
  const out: string[] = [];
  for (const part of v.split(',')) {
    if (TOKEN.test(part) && !out.includes(part)) out.push(part);
  }
  return out;
}

export function parseState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const s = defaultState();
  const view = p.get('view');
  if (view && (VIEWS as readonly string[]).includes(view)) s.view = view as View;
  const from = p.get('from');
  const to = p.get('to');
  s.from = from ? normalizeInstant(from) : null;
  s.to = to ? normalizeInstant(to) : null;
  if (s.from && s.to && s.from >= s.to) s.to = null; // an empty range is a mistake: keep the start
  s.kinds = list(p.get('kind'));
  s.parties = list(p.get('party'));
  s.statuses = list(p.get('status'));
  s.rules = list(p.get('rule'));
  const color = p.get('color');
  if (color && (COLOR_BYS as readonly string[]).includes(color)) s.color = color as ColorBy;
  const date = p.get('date');
  if (date && isDay(date)) s.date = date;
  const inc = p.get('inc');
  if (inc && TOKEN.test(inc)) s.incident = inc;
  return s;
}

export function stateToSearch(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.view !== 'map') p.set('view', s.view);
  if (s.from) p.set('from', s.from);
  if (s.to) p.set('to', s.to);
  if (s.kinds.length) p.set('kind', s.kinds.join(','));
  if (s.parties.length) p.set('party', s.parties.join(','));
  if (s.statuses.length) p.set('status', s.statuses.join(','));
  if (s.rules.length) p.set('rule', s.rules.join(','));
  if (s.color !== 'kind') p.set('color', s.color);
  if (s.date) p.set('date', s.date);
  if (s.incident) p.set('inc', s.incident);
  const q = p.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
  return q ? '?' + q : '';
}

// The query of /api/v1/incidents and /api/v1/incidents/summary for the state's filters.
// `withTime` false leaves the time range out (the timeline shows the whole span).
export function incidentQuery(s: ViewState, withTime = true): URLSearchParams {
  const p = new URLSearchParams();
  if (withTime && s.from) p.set('from', s.from);
  if (withTime && s.to) p.set('to', s.to);
  if (s.kinds.length) p.set('kind', s.kinds.join(','));
  if (s.parties.length) p.set('party', s.parties.join(','));
  if (s.statuses.length) p.set('status', s.statuses.join(','));
  if (s.rules.length) p.set('rule', s.rules.join(','));
  return p;
}

// The UTC day [from, to) of a YYYY-MM-DD.
export function dayRange(day: string): { from: string; to: string } {
  const t = Date.parse(day + 'T00:00:00Z');
  return { from: new Date(t).toISOString().replace('.000Z', 'Z'), to: new Date(t + 86400000).toISOString().replace('.000Z', 'Z') };
}

// The day a range starts on (for the report view), or null.
export function dayOf(instant: string | null): string | null {
  return instant ? instant.slice(0, 10) : null;
}

export function shiftDay(day: string, days: number): string {
  return new Date(Date.parse(day + 'T00:00:00Z') + days * 86400000).toISOString().slice(0, 10);
}

// True when [from, to) is exactly one UTC day.
export function isWholeDay(from: string | null, to: string | null): boolean {
  if (!from || !to || !from.endsWith('T00:00:00Z')) return false;
  return dayRange(from.slice(0, 10)).to === to;
}
