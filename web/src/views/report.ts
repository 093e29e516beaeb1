// The daily report of a chosen day, from GET /api/v1/reports/daily?date=YYYY-MM-DD: the JSON for
// the figures, the self-contained HTML page shown in a sandboxed frame (no scripts run in it).
import { Api, ApiError, type DailyReport } from '../api';
import { $, fmtNum, h } from '../dom';

// What to tell the reader when the server has no report (404): the day, and the server's reason.
export function reportMissingMessage(day: string, serverMessage: string): string {
  if (/no such endpoint/i.test(serverMessage)) {
    return `No daily report for ${day}: this server does not serve daily reports (GET /api/v1/reports/daily).`;
  }
  return `No daily report for ${day}: ${serverMessage}`;
}

export async function showReport(api: Api, day: string): Promise<void> {
  const status = $('#report-status');
  const summary = $('#report-summary');
  const frame = $('#report-frame') as HTMLIFrameElement;
  summary.textContent = '';
  frame.hidden = true;
  frame.srcdoc = '';
  status.className = '';
  status.textContent = `Loading the report of ${day}…`;
  const q = (format: string) => new URLSearchParams({ date: day, format });
  try {
    const [json, html] = await Promise.all([api.get<DailyReport>('/api/v1/reports/daily', q('json')), api.text('/api/v1/reports/daily', q('html'))]);
    status.textContent = `Daily report of ${json.date ?? day}`;
    const kv = (o: Record<string, number> | undefined) =>
      Object.entries(o ?? {})
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k || '(none)'} ${fmtNum(n)}`)
        .join(', ') || '—';
    summary.append(
      h(
        'table',
        { class: 'kv', id: 'report-totals' },
        h('tr', {}, h('th', {}, 'incidents'), h('td', { 'data-field': 'incidents' }, fmtNum(json.totals?.incidents))),
        h('tr', {}, h('th', {}, 'observations'), h('td', { 'data-field': 'observations' }, fmtNum(json.totals?.observations))),
        h('tr', {}, h('th', {}, 'by kind'), h('td', {}, kv(json.by_kind))),
        h('tr', {}, h('th', {}, 'by party'), h('td', {}, kv(json.by_party))),
        h('tr', {}, h('th', {}, 'notable'), h('td', {}, String(json.notable?.length ?? 0))),
      ),
    );
    frame.srcdoc = html;
    frame.hidden = false;
  } catch (e) {
    status.className = 'error';
    if (e instanceof ApiError && e.status === 404) status.textContent = reportMissingMessage(day, e.message);
    else if (e instanceof ApiError && e.status === 401) status.textContent = 'Sign in to read the daily report.';
    else status.textContent = `Cannot load the report of ${day}: ${(e as Error).message}`;
  }
}
