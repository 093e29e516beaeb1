// Incident detail: what fusion says, its violations, its observations (whose bearings the map
// draws from the posts), its history and its reviews; analysts can decide here too.
import { Api, ApiError, type IncidentDetail, type Me } from '../api';
import { canReview } from '../auth';
import { colorOf } from '../colors';
import { fmtNum, fmtTime, h } from '../dom';
import { DECISIONS } from '../vocab';

export interface DetailHost {
  api(): Api;
  me(): Me | null;
  close(): void;
  reviewed(inc: IncidentDetail): void; // after a decision: redraw
}

export function renderDetail(root: HTMLElement, inc: IncidentDetail, host: DetailHost): void {
  root.textContent = '';
  root.hidden = false;
  root.dataset.id = inc.id;
  const located = inc.lat != null && inc.lon != null;
  const rows: [string, string | Node][] = [
    ['kind', inc.kind],
    ['status', h('span', { class: 'status-badge', id: 'detail-status', style: `background:${colorOf('status', inc.status)}` }, inc.status)],
    ['time (UTC)', `${fmtTime(inc.start)} – ${fmtTime(inc.end).slice(11)}`],
    ['origin', located ? `${inc.lat!.toFixed(5)}, ${inc.lon!.toFixed(5)}` : inc.sector ? `not located: sector ${inc.sector.azimuth_deg}° ±${inc.sector.half_width_deg}°` : 'not located'],
    ['origin party', inc.party || '—'],
    ['zones', inc.zones?.length ? inc.zones.join(', ') : '—'],
    ['distance to LoC', inc.distance_to_loc_m != null ? fmtNum(inc.distance_to_loc_m / 1000, 2) + ' km' : '—'],
    ['uncertainty', inc.ellipse ? `ellipse ${fmtNum(inc.ellipse.semi_major_m)} × ${fmtNum(inc.ellipse.semi_minor_m)} m, axis ${inc.ellipse.major_azimuth_deg}°` : '—'],
    ['reports / rounds', `${inc.reports ?? inc.observations?.length ?? '—'} / ${inc.rounds ?? '—'}`],
  ];
  root.append(
    h('div', { class: 'detail-head' }, h('h3', {}, 'Incident ', h('code', {}, inc.id)), h('button', { type: 'button', class: 'close', title: 'close (Esc)', 'aria-label': 'close' }, '×')),
    h('table', { class: 'kv' }, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
  );
  root.querySelector('.close')!.addEventListener('click', () => host.close());

  root.append(h('h4', {}, 'Violations'));
  if (inc.violations?.length) {
    root.append(h('ul', { class: 'violations' }, inc.violations.map((v) => h('li', {}, h('b', {}, v.rule), ': ', v.explanation))));
  } else {
    root.append(h('p', { class: 'muted' }, inc.violations ? 'No rule broken.' : 'Not classified against the agreement.'));
  }

  if (inc.observation_details) {
    root.append(
      h('h4', {}, `Observations (${inc.observation_details.length})`),
      h(
        'table',
        { class: 'obs' },
        h('tr', {}, ['time', 'observer', 'kind', 'bearing', 'distance', 'n'].map((c) => h('th', {}, c))),
        inc.observation_details.map((o) =>
          h(
            'tr',
            {},
            h('td', {}, fmtTime(o.time).slice(11)),
            h('td', {}, o.observer_id),
            h('td', {}, o.kind),
            h('td', {}, o.bearing_deg == null ? '—' : `${o.bearing_deg}°${o.bearing_sigma_deg != null ? ' ±' + o.bearing_sigma_deg : ''}`),
            h('td', {}, o.distance_m == null ? '—' : `${fmtNum(o.distance_m)} m${o.distance_sigma_m != null ? ' ±' + fmtNum(o.distance_sigma_m) : ''}`),
            h('td', {}, o.count),
          ),
        ),
      ),
    );
  } else {
    root.append(h('p', { class: 'muted' }, 'Public view: observers and their reports are not shown; the origin is rounded.'));
  }

  if (canReview(host.me())) {
    const note = h('textarea', { id: 'detail-note', rows: 2, maxlength: 4096, placeholder: 'note (kept with the decision)' });
    const msg = h('div', { class: 'msg', role: 'status' });
    const buttons = DECISIONS.map((d) => {
      const b = h('button', { type: 'button', 'data-status': d.status, class: 'decide' }, d.label);
      const decide = async () => {
        try {
          await host.api().review(inc.id, inc.review_version, d.status, note.value);
          msg.textContent = `Marked ${d.status}.`;
          host.reviewed(inc);
        } catch (e) {
          msg.textContent =
            e instanceof ApiError && e.status === 409 ? 'Someone reviewed this incident meanwhile: reloaded; decide again.' : 'Not saved: ' + (e as Error).message;
          if (e instanceof ApiError && e.status === 409) host.reviewed(inc);
        }
      };
      b.addEventListener('click', () => void decide());
      return b;
    });
    root.append(h('h4', {}, 'Review'), note, h('div', { class: 'decisions' }, buttons), msg);
  }

  if (inc.reviews?.length) {
    root.append(
      h('h4', {}, 'Reviews'),
      h('ol', { class: 'reviews' }, inc.reviews.map((r) => h('li', {}, `${fmtTime(r.at)} ${r.by || '?'}: `, h('b', {}, r.status), r.notes ? ' — ' + r.notes : ''))),
    );
  }
  if (inc.history?.length) {
    root.append(
      h('h4', {}, 'History'),
      h('ol', { class: 'history' }, inc.history.map((v) => h('li', {}, `v${v.version} ${v.change} ${fmtTime(v.at)}`))),
    );
  }
}
