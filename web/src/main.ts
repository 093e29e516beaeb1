// The dashboard: one page, four views (map, review queue, daily report, mandate), its state in the
// URL so that any view can be shared as a link.
import './style.css';
import { Api, ApiError, type Incident, type Me, type Summary } from './api';
import { canReview, checkToken, storeToken, storedToken } from './auth';
import { cellDegForZoom } from './cluster';
import { legend } from './colors';
import { $, fmtNum, h } from './dom';
import { changesOf, Coalescer, EventStreamClient, liveStatusText, mergeChanges, type Changes, type StatusInfo } from './events';
import { IncidentMap } from './map';
import { dayOf, dayRange, incidentQuery, isWholeDay, parseState, shiftDay, stateToSearch, type ViewState } from './state';
import { TimelineChart } from './timeline_chart';
import { renderDetail } from './views/detail';
import { showMandate } from './views/mandate';
import { ReviewQueue } from './views/queue';
import { showReport } from './views/report';
import { KINDS, STATUSES, VIEWS, type View } from './vocab';

// Up to this many incidents in range the map draws them one by one; above, the server aggregates.
export const SINGLE_LIMIT = 3000;

let state: ViewState = parseState(location.search);
let api = new Api(storedToken());
let me: Me | null = null;
let map: IncidentMap | null = null;
let timeline: TimelineChart | null = null;
let spanSummary: Summary | null = null;
let spanKey = '';
let mapSeq = 0;
let singles: Incident[] = [];
const queue = new ReviewQueue({
  api: () => api,
  query: () => incidentQuery(state),
  canReview: () => canReview(me),
  open: (id) => setState({ view: 'map', incident: id }),
});

function writeUrl(): void {
  const url = location.pathname + stateToSearch(state);
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

function setState(patch: Partial<ViewState>): void {
  const before = state;
  state = { ...state, ...patch };
  writeUrl();
  void render(before);
}

function banner(text: string, kind: 'info' | 'error' = 'info'): void {
  const b = $('#banner');
  b.textContent = text;
  b.className = kind;
  b.hidden = !text;
}

// --- who is signed in ---
async function whoAmI(): Promise<void> {
  me = await api.me().catch(() => null);
  if (me?.credentials === 'invalid') {
    storeToken(null);
    api = new Api(null);
    me = await api.me().catch(() => null);
    banner('The stored token is no longer valid: signed out.', 'error');
  }
  const who = $('#who');
  who.textContent = '';
  if (me?.name) {
    const out = h('button', { type: 'button', id: 'signout' }, 'Sign out');
    out.addEventListener('click', () => {
      storeToken(null);
      location.reload();
    });
    who.append(h('span', { id: 'whoami' }, `${me.name} (${me.role})`), out);
  } else {
    const inb = h('button', { type: 'button', id: 'signin-open' }, 'Sign in');
    inb.addEventListener('click', openSignIn);
    who.append(inb);
    if (document.querySelector('#banner.error')) return;
    if (me?.public_view) banner('Public view: read-only; incident locations are rounded and observers are not shown. Sign in for the full view.');
    else banner('Sign in with an API token to see the mission.');
  }
  document.body.dataset.role = me?.role ?? 'anonymous';
}

function openSignIn(): void {
  const dlg = $('#signin') as HTMLDialogElement;
  $('#signin-error').textContent = '';
  dlg.showModal();
}

$('#signin-form').addEventListener('submit', (e) => {
  const dlg = $('#signin') as HTMLDialogElement;
  const submitter = e.submitter as HTMLButtonElement | null;
  if (submitter?.value !== 'ok') return;
  e.preventDefault();
  const input = (e.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
  void signIn(dlg, input);
});

async function signIn(dlg: HTMLDialogElement, input: HTMLInputElement): Promise<void> {
  const r = await checkToken(input.value);
  if ('error' in r) {
    $('#signin-error').textContent = r.error;
    return;
  }
  storeToken(input.value.trim());
  dlg.close();
  location.reload();
}

// --- the filter form ---
function checks(container: HTMLElement, name: string, values: string[], selected: string[]): void {
  // Unchanged: left as it is, so that a refresh (live updates) does not take the focus away.
  const key = JSON.stringify([values, selected]);
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  container.textContent = '';
  if (!values.length) {
    container.append(h('em', {}, 'none in range'));
    return;
  }
  for (const v of values) {
    container.append(h('label', {}, h('input', { type: 'checkbox', name, value: v, checked: selected.includes(v) }), ' ', v || '(none)'));
  }
}

const localInput = (iso: string | null) => (iso ? iso.slice(0, 16) : '');
const fromLocalInput = (v: string) => (v ? new Date(v + ':00Z').toISOString().replace('.000Z', 'Z') : null);

function syncForm(): void {
  const f = $('#filters') as HTMLFormElement;
  const el = (n: string) => f.elements.namedItem(n) as HTMLInputElement;
  // What the user is typing in is not overwritten (a live refresh may come meanwhile).
  const put = (n: string, v: string) => {
    const e = el(n);
    if (e !== document.activeElement && e.value !== v) e.value = v;
  };
  put('from', localInput(state.from));
  put('to', localInput(state.to));
  put('day', isWholeDay(state.from, state.to) ? state.from!.slice(0, 10) : '');
  put('color', state.color);
  checks($('#f-kind'), 'kind', [...KINDS], state.kinds);
  checks($('#f-status'), 'status', [...STATUSES], state.statuses);
  const parties = new Set([...Object.keys(spanSummary?.by_party ?? {}), ...state.parties]);
  checks($('#f-party'), 'party', [...parties].sort(), state.parties);
  const rules = new Set([...Object.keys(spanSummary?.by_rule ?? {}), ...state.rules]);
  checks($('#f-rule'), 'rule', [...rules].sort(), state.rules);
  put('tiles', localStorage.getItem('truce.tiles') ?? '');
}

function readChecks(name: string): string[] {
  return [...document.querySelectorAll<HTMLInputElement>(`#filters input[name="${name}"]:checked`)].map((i) => i.value);
}

function wireForm(): void {
  const f = $('#filters') as HTMLFormElement;
  f.addEventListener('submit', (e) => e.preventDefault());
  f.addEventListener('change', (e) => {
    const t = e.target as HTMLInputElement;
    if (t.name === 'day') {
      if (t.value) setState({ ...dayRange(t.value), incident: null });
    } else if (t.name === 'from' || t.name === 'to') {
      const from = fromLocalInput((f.elements.namedItem('from') as HTMLInputElement).value);
      const to = fromLocalInput((f.elements.namedItem('to') as HTMLInputElement).value);
      if (from && to && from >= to) return banner('The range must end after it starts.', 'error');
      setState({ from, to });
    } else if (t.name === 'color') {
      setState({ color: t.value as ViewState['color'] });
    } else if (t.name === 'tiles') {
      const url = t.value.trim();
      if (url && !/^https?:\/\/.+\{z\}.+\{x\}.+\{y\}/.test(url)) return banner('A tile URL looks like https://host/{z}/{x}/{y}.png', 'error');
      localStorage.setItem('truce.tiles', url);
      map?.setTiles(url);
    } else if (['kind', 'status', 'party', 'rule'].includes(t.name)) {
      setState({ kinds: readChecks('kind'), statuses: readChecks('status'), parties: readChecks('party'), rules: readChecks('rule') });
    }
  });
  f.querySelectorAll<HTMLButtonElement>('[data-shift]').forEach((b) =>
    b.addEventListener('click', () => {
      const day = dayOf(state.from) ?? dayOf(spanSummary?.last ?? null);
      if (day) setState({ ...dayRange(shiftDay(day, Number(b.dataset.shift))), incident: null });
    }),
  );
  $('#all-time').addEventListener('click', () => setState({ from: null, to: null }));
}

// --- the map view ---
function ensureMap(): IncidentMap {
  if (map) return map;
  map = new IncidentMap($('#map'), {
    onSelect: (id) => setState({ incident: id }),
    onZoom: () => {
      if ($('#map').dataset.mode === 'aggregated') void refreshMap();
    },
  });
  timeline = new TimelineChart($('#timeline-plot'), (r) => setState({ ...r, incident: null }));
  void map.loadBase(localStorage.getItem('truce.tiles') ?? '');
  const geo = (p: string) => api.get<GeoJSON.FeatureCollection>(p).catch(() => null);
  void geo('/api/v1/zones').then((fc) => map!.setZones(fc));
  void geo('/api/v1/loc').then((fc) => map!.setLoc(fc));
  void geo('/api/v1/places').then((fc) => map!.setMissionPlaces(fc));
  if (me?.role && me.role !== 'public') void geo('/api/v1/observers').then((fc) => map!.setPosts(fc));
  return map;
}

// The timeline's summary covers the whole span of the non-time filters; it is fetched again only
// when they change (or live updates say incidents changed: spanKey is cleared).
async function refreshSpan(live = false): Promise<void> {
  const q = incidentQuery(state, false);
  const key = q.toString();
  if (key === spanKey && spanSummary) return;
  spanKey = key;
  const before = spanSummary;
  try {
    spanSummary = await api.summary(q);
  } catch (e) {
    if (live && before) {
      spanSummary = before; // keep showing what was there: the next event tries again
      spanKey = '';
      return;
    }
    spanSummary = null;
    if (!(e instanceof ApiError && e.status === 401)) banner('Cannot load incidents: ' + (e as Error).message, 'error');
  }
  // Redrawn only when it changed (a redraw would interrupt a brush).
  if (!live || JSON.stringify(before?.timeline ?? null) !== JSON.stringify(spanSummary?.timeline ?? null)) timeline!.setData(spanSummary);
  // First visit without a range: the last day with incidents (never on a live refresh: the range
  // the user chose, "whole span" included, stays).
  if (!live && !state.from && !state.to && spanSummary?.last && !location.search.includes('from=')) {
    state = { ...state, ...dayRange(spanSummary.last.slice(0, 10)) };
    writeUrl();
  }
}

// `live`: a refresh after live updates: the map is redrawn in place (no "loading" state, the view
// and the selection kept) and the detail panel is reloaded only when `detail` says its incident changed.
async function refreshMap(opts: { live?: boolean; detail?: boolean } = {}): Promise<void> {
  const live = !!opts.live;
  const m = ensureMap();
  const seq = ++mapSeq;
  const mapEl = $('#map');
  if (!live) mapEl.dataset.state = 'loading';
  await refreshSpan(live);
  if (seq !== mapSeq) return;
  syncForm();
  // Not on a live refresh: the range has not changed, and setting it again would cancel a brush
  // the user is drawing on the timeline.
  if (!live) timeline!.setRange(state.from, state.to);
  const q = incidentQuery(state);
  const count = $('#count');
  try {
    const t0 = performance.now();
    const sq = new URLSearchParams(q);
    sq.set('cell_deg', String(cellDegForZoom(m.map.getZoom())));
    const summary = await api.summary(sq);
    if (seq !== mapSeq) return;
    let drawnSingles = 0;
    if (summary.total <= SINGLE_LIMIT) {
      const lq = new URLSearchParams(q);
      lq.set('limit', String(SINGLE_LIMIT));
      singles = (await api.incidents(lq)).items;
      if (seq !== mapSeq) return;
      m.setIncidents(singles, state.color, state.incident);
      drawnSingles = singles.filter((i) => (i.lat != null && i.lon != null) || i.sector).length;
      mapEl.dataset.mode = 'single';
      setText(count, `${fmtNum(singles.length)} incident(s) in range · ${fmtNum(drawnSingles)} on the map` + (singles.length > drawnSingles ? ` · ${fmtNum(singles.length - drawnSingles)} not located` : ''));
    } else {
      singles = [];
      m.setCells(summary.cells, state.color);
      mapEl.dataset.mode = 'aggregated';
      setText(count, `${fmtNum(summary.total)} incidents in range · aggregated on a ${summary.cell_deg}° grid (${fmtNum(summary.cells.length)} cells); narrow the range or the filters to see single incidents`);
    }
    mapEl.dataset.total = String(summary.total);
    mapEl.dataset.shown = String(m.shownCount());
    mapEl.dataset.ms = String(Math.round(performance.now() - t0));
    const values = summary.total <= SINGLE_LIMIT ? singles.map((i) => (state.color === 'kind' ? i.kind : state.color === 'party' ? i.party : i.status)) : Object.keys(state.color === 'kind' ? summary.by_kind : state.color === 'party' ? summary.by_party : summary.by_status);
    const lg = $('#legend');
    lg.textContent = '';
    for (const l of legend(state.color, values)) lg.append(h('span', { class: 'lg' }, h('i', { style: `background:${l.color}` }), l.value || '(none)'));
    mapEl.dataset.state = 'ready';
    if (live) mapEl.dataset.liveRefreshes = String(Number(mapEl.dataset.liveRefreshes ?? 0) + 1);
  } catch (e) {
    if (seq !== mapSeq) return;
    if (live && mapEl.dataset.state === 'ready') return; // keep what is drawn: the next event tries again
    mapEl.dataset.state = 'error';
    setText(count, e instanceof ApiError && e.status === 401 ? 'Sign in to see incidents.' : 'Cannot load incidents: ' + (e as Error).message);
  }
  if (!live || opts.detail) await refreshDetail(live);
}

// #count and the status lines are aria-live: written only when they say something new.
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

// `live`: the panel is re-drawn in place: the note being written, its focus and the panel's
// scroll are kept, and the map does not pan.
async function refreshDetail(live = false): Promise<void> {
  const el = $('#detail');
  if (!state.incident) {
    el.hidden = true;
    el.textContent = '';
    map?.showBearings(null, []);
    return;
  }
  const shown = state.incident;
  try {
    const inc = await api.incident(state.incident);
    if (live && state.incident !== shown) return; // the user chose another meanwhile
    const noteBefore = el.querySelector<HTMLTextAreaElement>('#detail-note');
    const kept = live && noteBefore ? { value: noteBefore.value, focused: document.activeElement === noteBefore, start: noteBefore.selectionStart, end: noteBefore.selectionEnd } : null;
    const scroll = el.scrollTop;
    renderDetail(el, inc, {
      api: () => api,
      me: () => me,
      close: () => setState({ incident: null }),
      reviewed: () => {
        spanKey = '';
        void refreshMap();
      },
    });
    if (live) {
      const note = el.querySelector<HTMLTextAreaElement>('#detail-note');
      if (note && kept) {
        note.value = kept.value;
        if (kept.focused) {
          note.focus();
          note.setSelectionRange(kept.start, kept.end);
        }
      }
      el.scrollTop = scroll;
    }
    map?.invalidate(); // the panel took room from the map: size it before panning
    map?.showBearings(inc, inc.observation_details ?? [], !live);
  } catch (e) {
    if (live) return; // (a retired incident: the panel keeps what it showed)
    el.hidden = false;
    el.textContent = '';
    el.append(h('p', { class: 'error' }, `Incident ${state.incident}: ${(e as Error).message}`));
  }
  map?.invalidate();
}

// --- views ---
async function render(before: ViewState | null): Promise<void> {
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== state.view;
  document.querySelectorAll<HTMLAnchorElement>('#tabs a').forEach((a) => a.classList.toggle('active', a.dataset.view === state.view));
  queue.active = state.view === 'queue';
  const filtersChanged =
    !before ||
    before.from !== state.from ||
    before.to !== state.to ||
    before.color !== state.color ||
    [before.kinds, before.parties, before.statuses, before.rules].join('|') !== [state.kinds, state.parties, state.statuses, state.rules].join('|');
  if (state.view === 'map') {
    if (filtersChanged || before?.view !== 'map') await refreshMap();
    else if (before?.incident !== state.incident) {
      map?.setIncidents(singles, state.color, state.incident);
      await refreshDetail();
    }
    map?.invalidate();
  } else if (state.view === 'queue') {
    if (filtersChanged || before?.view !== 'queue') await queue.load();
  } else if (state.view === 'report') {
    if (!state.date && !state.from && !spanSummary) spanSummary = await api.summary(incidentQuery(state, false)).catch(() => null);
    const day = state.date ?? dayOf(state.from) ?? dayOf(spanSummary?.last ?? null) ?? new Date().toISOString().slice(0, 10);
    const input = $('#report-day') as HTMLInputElement;
    input.value = day;
    if (before?.view !== 'report' || before?.date !== state.date) await showReport(api, day);
  } else if (state.view === 'mandate') {
    if (before?.view !== 'mandate') await showMandate(api);
  }
  document.body.dataset.ready = 'true';
}

$('#report-day').addEventListener('change', (e) => {
  const v = (e.target as HTMLInputElement).value;
  if (v) setState({ date: v });
});
document.querySelectorAll<HTMLAnchorElement>('#tabs a').forEach((a) =>
  a.addEventListener('click', (e) => {
    e.preventDefault();
    setState({ view: a.dataset.view as View });
  }),
);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.view === 'map' && state.incident && !(e.target instanceof HTMLTextAreaElement)) setState({ incident: null });
});

// --- live updates (GET /api/v1/events) ---
// Bursts of events are coalesced into one refresh of what is shown: the map, its counts and the
// timeline, or the review queue. The other views do not list incidents. A view not shown is
// brought up to date when it is shown (spanKey cleared: the timeline is fetched again).
let live: EventStreamClient | null = null;
let liveLost = false; // a connection was lost (or never made) since the last refresh

async function refreshLive(c: Changes): Promise<void> {
  spanKey = '';
  if (state.view === 'map') await refreshMap({ live: true, detail: c.all || (!!state.incident && c.ids.has(state.incident)) });
  else if (state.view === 'queue') await queue.load({ live: true });
  document.body.dataset.liveRefreshes = String(Number(document.body.dataset.liveRefreshes ?? 0) + 1);
}
const liveRefresh = new Coalescer<Changes>(refreshLive, mergeChanges, 500, 3000);
const everything = (): Changes => ({ all: true, ids: new Set(), types: new Set(['reconnect']) });

function showLive(s: StatusInfo): void {
  const el = $('#live');
  el.dataset.status = s.status;
  if (s.reason) el.dataset.reason = s.reason;
  else delete el.dataset.reason;
  const text = liveStatusText(s, !!api.token);
  const label = $('#live-text');
  if (label.textContent !== text) label.textContent = text;
  el.title = s.status === 'reconnecting' && s.retryInMs ? `next attempt in ${Math.round(s.retryInMs / 1000)} s` : '';
}

function startLive(): void {
  if (!me?.role) {
    // Anonymous on a server without the public view: there is nothing to follow.
    showLive({ status: 'offline', reason: 'unauthorized' });
    return;
  }
  const token = api.token;
  const client = new EventStreamClient({ url: api.url('/api/v1/events'), headers: () => api.authHeaders() });
  live = client;
  client.onStatus((s) => {
    showLive(s);
    if (s.status === 'reconnecting') liveLost = true;
    if (s.status === 'connected') {
      // Not resumed after a loss: what changed meanwhile is unknown, so everything is refreshed.
      if (liveLost && !s.resumed) liveRefresh.trigger(everything());
      liveLost = false;
    }
    if (s.status === 'offline' && s.reason === 'unauthorized' && token) void liveUnauthorized();
  });
  client.subscribe((e) => liveRefresh.trigger(changesOf(e)));
  client.start();
}

// The server refused the token on the event stream: the same as when it refuses it on start
// (whoAmI signs out and says so); on a public-view server the anonymous stream is then followed.
async function liveUnauthorized(): Promise<void> {
  const before = api.token;
  await whoAmI();
  if (api.token === before) {
    banner('Live updates stopped: the server refused the token (401). Sign in again.', 'error');
    return;
  }
  liveRefresh.trigger(everything());
  startLive();
}

window.addEventListener('online', () => live?.reconnectNow());

async function start(): Promise<void> {
  await whoAmI();
  wireForm();
  writeUrl();
  await render(null);
  startLive();
}
void start();
