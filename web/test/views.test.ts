import { describe, expect, it } from 'vitest';
import { mandateTimeline, type MandateStatus } from '../src/views/mandate';
import { queueKeyAction } from '../src/views/queue';
import { reportMissingMessage } from '../src/views/report';

describe('review queue keys', () => {
  it('maps the documented keys and nothing else', () => {
    expect(queueKeyAction('j')).toBe('next');
    expect(queueKeyAction('ArrowDown')).toBe('next');
    expect(queueKeyAction('k')).toBe('prev');
    expect(queueKeyAction('n')).toBe('note');
    expect(queueKeyAction('o')).toBe('open');
    expect(queueKeyAction('v')).toEqual({ status: 'verified' });
    expect(queueKeyAction('x')).toEqual({ status: 'rejected' });
    expect(queueKeyAction('d')).toEqual({ status: 'disputed' });
    expect(queueKeyAction('q')).toBeNull();
    expect(queueKeyAction('V')).toBeNull();
  });
});

describe('daily report', () => {
  it('says which day has no report and why', () => {
    expect(reportMissingMessage('2023-09-30', 'no report for 2023-09-30: no incidents that day')).toBe(
      'No daily report for 2023-09-30: no report for 2023-09-30: no incidents that day',
    );
    expect(reportMissingMessage('2023-09-30', 'no such endpoint')).toBe(
      'No daily report for 2023-09-30: this server does not serve daily reports (GET /api/v1/reports/daily).',
    );
  });
});

describe('mandate timeline', () => {
  const m: MandateStatus = {
    agreement: 'trilateral-2020',
    at: '2024-06-01T00:00:00Z',
    state: 'in_force',
    term_index: 1,
    term_start: '2020-11-10T00:00:00Z',
    term_end: '2025-11-10T00:00:00Z',
    notice_deadline: '2025-05-10T00:00:00Z',
    notice_deadline_passed: false,
    renews_to: '2030-11-10T00:00:00Z',
    mandate_end: null,
    last_term: false,
    ends_because: null,
    days_left: 527,
    days_to_notice_deadline: 343,
    term_rule: { effective: '2020-11-10T00:00:00Z', length: 'P5Y', renewal: 'P5Y', notice: 'P6M' },
    next: 'renews',
    notes: [],
  };
  it('draws the running term, the renewal unless notice, the deadline and today', () => {
    const t = mandateTimeline(m);
    expect(t.bars.map((b) => [b.label, b.kind])).toEqual([
      ['term 1', 'current'],
      ['term 2 unless notice is given', 'next'],
    ]);
    expect(t.markers.map((x) => x.kind)).toEqual(['deadline', 'today']);
    expect(t.lo).toBeLessThan(Date.parse('2020-11-10T00:00:00Z'));
    expect(t.hi).toBeGreaterThan(Date.parse('2030-11-10T00:00:00Z'));
  });
  it('shows earlier terms and the end of the mandate when there is one', () => {
    const t = mandateTimeline({ ...m, term_index: 3, term_start: '2030-11-10T00:00:00Z', term_end: '2035-11-10T00:00:00Z', renews_to: null, mandate_end: '2035-11-10T00:00:00Z', last_term: true });
    expect(t.bars.map((b) => b.label)).toEqual(['terms 1–2', 'term 3 (last)']);
    expect(t.bars[0].start).toBe(Date.parse('2020-11-10T00:00:00Z'));
    expect(t.markers.map((x) => x.kind)).toEqual(['deadline', 'today', 'end']);
  });
});
