// The analysts' review queue: incidents still reported or corroborated, oldest first, decided with
// the keyboard (j/k to move, n for a note, v/x/d to verify/reject/dispute).
import { Api, ApiError, type Incident } from '../api';
import { colorOf } from '../colors';
import { $, fmtTime, h } from '../dom';
import { DECISIONS, OPEN_STATUSES } from '../vocab';

export interface QueueHost {
  api(): Api;
  query(): URLSearchParams; // the dashboard's filters
  canReview(): boolean;
  open(id: string): void; // show on the map
}

// Which key does what (exported for the unit tests).
export function queueKeyAction(key: string): 'next' | 'prev' | 'note' | 'open' | { status: string } | null {
  switch (key) {
    case 'j':
    case 'ArrowDown':
      return 'next';
    case 'k':
    case 'ArrowUp':
      return 'prev';
    case 'n':
    case '/':
      return 'note';
    case 'o':
      return 'open';
  }
  const d = DECISIONS.find((x) => x.key === key);
  return d ? { status: d.status } : null;
}

export class ReviewQueue {
  private items: Incident[] = [];
  private index = 0;
  private busy = false;
  private loadSeq = 0;
  private reloadAfterDecision = false;
  private failed = false; // the last load failed
  private readonly body = $('#queue-table tbody');
  private readonly note = $('#queue-note') as HTMLTextAreaElement;
  private readonly status = $('#queue-status');

  constructor(private readonly host: QueueHost) {
    const actions = $('#queue-actions');
    for (const d of DECISIONS) {
      const b = h('button', { type: 'button', 'data-status': d.status }, `${d.label} (${d.key})`);
      b.addEventListener('click', () => void this.decide(d.status));
      actions.append(b);
    }
    document.addEventListener('keydown', (e) => this.onKey(e));
  }

  active = false;

  // Loads the queue for the dashboard's filters. `live`: a refresh after live updates (events.ts),
  // which keeps the selected incident selected (by id, wherever it moved), the scroll and the note,
  // and does not say "Loading…"; while a decision is being saved it waits for it.
  async load(opts: { live?: boolean } = {}): Promise<void> {
    if (opts.live && this.busy) {
      this.reloadAfterDecision = true;
      return;
    }
    const seq = ++this.loadSeq;
    if (!this.host.canReview()) {
      this.items = [];
      this.render();
      this.setStatus('Sign in as an analyst to review incidents.');
      return;
    }
    const q = this.host.query();
    if (!q.has('status')) q.set('status', OPEN_STATUSES.join(','));
    q.set('limit', '500');
    const selected = this.items[this.index]?.id;
    if (!opts.live) this.setStatus('Loading…');
    try {
      const items = (await this.host.api().incidents(q)).items;
      if (seq !== this.loadSeq) return; // a newer load (other filters) won
      const before = this.items.length;
      this.items = items;
      const at = selected ? items.findIndex((i) => i.id === selected) : -1;
      this.index = at >= 0 ? at : Math.min(this.index, Math.max(0, this.items.length - 1));
      // A live refresh that changes nothing keeps what the line said (e.g. "inc-1 verified. 3 left.").
      if (!opts.live || before !== items.length || this.failed)
        this.setStatus(this.items.length ? `${this.items.length} incident(s) to review${this.items.length === 500 ? ' (first 500)' : ''}.` : 'Nothing to review in this range.');
      this.failed = false;
    } catch (e) {
      if (seq !== this.loadSeq) return;
      this.items = [];
      this.failed = true;
      this.setStatus('Cannot load the queue: ' + (e as Error).message);
    }
    this.render(!opts.live);
  }

  // The status line is aria-live: it is written only when it says something new.
  private setStatus(text: string): void {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  // `scroll`: bring the selected row into view (not on a live refresh: the analyst may have
  // scrolled away on purpose).
  private render(scroll = true): void {
    this.body.textContent = '';
    this.items.forEach((inc, i) => {
      const tr = h(
        'tr',
        { 'data-id': inc.id, class: i === this.index ? 'current' : '', 'aria-selected': i === this.index ? 'true' : 'false' },
        h('td', {}, fmtTime(inc.start)),
        h('td', {}, inc.kind),
        h('td', {}, inc.lat != null ? `${inc.lat.toFixed(4)}, ${inc.lon!.toFixed(4)} ${inc.party ? '(' + inc.party + ')' : ''}` : 'not located'),
        h('td', {}, inc.reports ?? inc.observations?.length ?? ''),
        h('td', {}, h('span', { class: 'status-badge', style: `background:${colorOf('status', inc.status)}` }, inc.status)),
        h('td', {}, (inc.violations ?? []).map((v) => v.rule).join(', ')),
      );
      tr.addEventListener('click', () => {
        this.index = i;
        this.render();
      });
      this.body.append(tr);
    });
    const cur = this.items[this.index];
    $('#queue-current').textContent = cur ? `Selected: ${cur.id} (${cur.kind}, ${fmtTime(cur.start)})` : '';
    if (scroll) this.body.querySelector('tr.current')?.scrollIntoView({ block: 'nearest' });
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.active || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target as HTMLElement;
    if (t === this.note) {
      if (e.key === 'Escape') this.note.blur();
      return;
    }
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
    const a = queueKeyAction(e.key);
    if (!a) return;
    e.preventDefault();
    if (a === 'next') this.index = Math.min(this.index + 1, this.items.length - 1);
    else if (a === 'prev') this.index = Math.max(this.index - 1, 0);
    else if (a === 'note') return this.note.focus();
    else if (a === 'open') {
      if (this.items[this.index]) this.host.open(this.items[this.index].id);
      return;
    } else return void this.decide(a.status);
    this.render();
  }

  async decide(status: string): Promise<void> {
    const inc = this.items[this.index];
    if (!inc || this.busy) return;
    this.busy = true;
    try {
      const r = await this.host.api().review(inc.id, inc.review_version, status, this.note.value);
      // By id: a live refresh may have reloaded the list meanwhile.
      const at = this.items.findIndex((i) => i.id === inc.id);
      if (at >= 0) {
        this.items.splice(at, 1);
        if (at < this.index) this.index--;
      }
      this.index = Math.min(this.index, Math.max(0, this.items.length - 1));
      this.note.value = '';
      this.status.textContent = `${inc.id} ${r.status}. ${this.items.length} left.`;
      this.render();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        await this.load();
        this.status.textContent = `${inc.id} was reviewed by someone else meanwhile: the queue is reloaded. ` + this.status.textContent;
      } else {
        this.status.textContent = `${inc.id}: not saved: ${(e as Error).message}`;
      }
    } finally {
      this.busy = false;
    }
    if (this.reloadAfterDecision) {
      this.reloadAfterDecision = false;
      await this.load({ live: true });
    }
  }
}
