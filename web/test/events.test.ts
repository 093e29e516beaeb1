import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { changesOf, Coalescer, EventStreamClient, liveStatusText, mergeChanges, SseParser, toLiveEvent, type Changes, type LiveEvent, type SseMessage, type StatusInfo } from '../src/events';

const enc = new TextEncoder();

function parseChunks(chunks: Uint8Array[]): { messages: SseMessage[]; retries: number[]; comments: string[] } {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const p = new SseParser({ onMessage: (m) => messages.push(m), onRetry: (ms) => retries.push(ms), onComment: (c) => comments.push(c) });
  for (const c of chunks) p.feedBytes(c);
  p.end();
  return { messages, retries, comments };
}

// Every WHATWG rule the dashboard relies on, in one stream: a BOM, comments, CRLF/CR/LF line ends,
// multi-line data, a field without a colon, no space after the colon, an id with NUL (ignored),
// an id carried over to later events, an event without data (not dispatched), retry (digits
// only), unknown fields, and multi-byte UTF-8 (2, 3 and 4 bytes).
const STREAM =
  '\uFEFF: keepalive\n\n' +
  'id: 1\r\nevent: incident.created\r\ndata: {"id":"inc-1","version":1,"type":"incident.created"}\r\n\r\n' +
  'id: 2\revent: incident.updated\rdata: line one\rdata: line two\r\r' +
  'data\ndata:no space\ndata:  two spaces\n\n' +
  'id: 3\0x\nevent: nodata\n\n' +
  'retry: 2500\nretry: 12x\nfoo: bar\n: a comment: with colons\r\n' +
  'event: incident.reviewed\ndata: café € 𝄞 ✓\n\n' +
  'id\ndata: empty id\n\n' +
  'data: not ended by a blank line';

const EXPECTED: Omit<SseMessage, 'hasId'>[] = [
  { type: 'incident.created', data: '{"id":"inc-1","version":1,"type":"incident.created"}', lastEventId: '1' },
  { type: 'incident.updated', data: 'line one\nline two', lastEventId: '2' },
  { type: 'message', data: '\nno space\n two spaces', lastEventId: '2' },
  { type: 'incident.reviewed', data: 'café € 𝄞 ✓', lastEventId: '2' },
  { type: 'message', data: 'empty id', lastEventId: '' },
];

describe('SseParser', () => {
  const bytes = enc.encode(STREAM);
  const strip = (ms: SseMessage[]) => ms.map(({ type, data, lastEventId }) => ({ type, data, lastEventId }));

  it('follows the event-stream rules on a whole stream', () => {
    const r = parseChunks([bytes]);
    expect(strip(r.messages)).toEqual(EXPECTED);
    expect(r.messages.map((m) => m.hasId)).toEqual([true, true, false, false, true]);
    expect(r.retries).toEqual([2500]);
    expect(r.comments).toEqual(['keepalive', 'a comment: with colons']);
  });

  it('gives the same events with the stream split at every byte position', () => {
    for (let i = 0; i <= bytes.length; i++) {
      const r = parseChunks([bytes.slice(0, i), bytes.slice(i)]);
      expect(strip(r.messages), `split at byte ${i}`).toEqual(EXPECTED);
      expect(r.retries).toEqual([2500]);
    }
  });

  it('gives the same events with the stream split at every pair of byte positions', () => {
    for (let i = 0; i <= bytes.length; i += 1) {
      for (let j = i; j <= bytes.length; j += 7) {
        const r = parseChunks([bytes.slice(0, i), bytes.slice(i, j), bytes.slice(j)]);
        expect(strip(r.messages), `split at bytes ${i} and ${j}`).toEqual(EXPECTED);
      }
    }
  });

  it('gives the same events fed one byte at a time', () => {
    const r = parseChunks([...bytes].map((b) => Uint8Array.of(b)));
    expect(strip(r.messages)).toEqual(EXPECTED);
  });

  it('treats CR then LF in the next chunk as one line end, and CR CR as two', () => {
    const msgs: string[] = [];
    const p = new SseParser({ onMessage: (m) => msgs.push(m.data) });
    p.feed('data: a\r');
    p.feed('\ndata: b\r');
    p.feed('\r');
    expect(msgs).toEqual(['a\nb']);
  });

  it('keeps the last event id for a new connection', () => {
    const msgs: SseMessage[] = [];
    const p = new SseParser({ onMessage: (m) => msgs.push(m) }, '41');
    p.feed('data: x\n\n');
    expect(msgs[0].lastEventId).toBe('41');
  });
});

describe('toLiveEvent', () => {
  const m = (type: string, data: string): SseMessage => ({ type, data, lastEventId: '9', hasId: true });
  it('reads the incident events and reset, and ignores the rest', () => {
    expect(toLiveEvent(m('incident.retired', '{"id":"inc-7","version":3,"type":"incident.retired"}'))).toEqual({ kind: 'incident', type: 'incident.retired', id: 'inc-7', version: 3, eventId: '9' });
    expect(toLiveEvent(m('reset', '{}'))).toEqual({ kind: 'reset' });
    expect(toLiveEvent(m('message', '{"id":"x"}'))).toBeNull();
    expect(toLiveEvent(m('incident.created', 'not json'))).toBeNull();
    expect(toLiveEvent(m('incident.created', '{"version":1}'))).toBeNull();
    expect(toLiveEvent(m('incident.created', 'null'))).toBeNull();
  });
});

// --- the client, against a mock fetch ---

interface Conn {
  url: string;
  headers: Record<string, string>;
  push(s: string | Uint8Array): void;
  end(): void;
  fail(): void;
  aborted: boolean;
}

// A mock fetch: each call takes the next planned answer ('stream' → a 200 text/event-stream whose
// body the test writes, a number → that status, 'error' → a network error).
function mockFetch(plan: (n: number) => 'stream' | 'error' | { status: number; type?: string }) {
  const conns: Conn[] = [];
  const calls: { url: string; headers: Record<string, string>; at: number }[] = [];
  const fn = vi.fn((input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = { ...(init?.headers as Record<string, string>) };
    const url = input instanceof Request ? input.url : input.toString();
    calls.push({ url, headers, at: Date.now() });
    const what = plan(calls.length - 1);
    if (what === 'error') return Promise.reject(new TypeError('network error'));
    if (what !== 'stream')
      return Promise.resolve(new Response(what.status === 204 ? null : 'x', { status: what.status, headers: { 'Content-Type': what.type ?? 'application/json' } }));
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    let open = true;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
    const conn: Conn = {
      url,
      headers,
      aborted: false,
      push: (s) => open && ctl.enqueue(typeof s === 'string' ? enc.encode(s) : s),
      end: () => {
        if (open) ctl.close();
        open = false;
      },
      fail: () => {
        if (open) ctl.error(new TypeError('network error'));
        open = false;
      },
    };
    init?.signal?.addEventListener('abort', () => {
      conn.aborted = true;
      conn.fail();
    });
    conns.push(conn);
    return Promise.resolve(new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream; charset=utf-8' } }));
  });
  return { fn: fn as unknown as typeof fetch, conns, calls };
}

const flush = () => vi.advanceTimersByTimeAsync(0);
const ev = (id: number, type = 'incident.updated', inc = 'inc-' + id) => `id: ${id}\nevent: ${type}\ndata: {"id":"${inc}","version":${id},"type":"${type}"}\n\n`;

describe('EventStreamClient', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  function client(plan: Parameters<typeof mockFetch>[0], extra: Partial<ConstructorParameters<typeof EventStreamClient>[0]> = {}) {
    const f = mockFetch(plan);
    const c = new EventStreamClient({ url: '/api/v1/events', fetch: f.fn, headers: () => ({ Authorization: 'Bearer abc' }), ...extra });
    const events: LiveEvent[] = [];
    const statuses: StatusInfo[] = [];
    c.subscribe((e) => events.push(e));
    c.onStatus((s) => statuses.push(s));
    return { c, f, events, statuses };
  }

  it('sends the token, delivers events, and resumes with Last-Event-ID after the stream ends', async () => {
    const { c, f, events, statuses } = client(() => 'stream');
    c.start();
    await flush();
    expect(f.calls[0].url).toBe('/api/v1/events');
    expect(f.calls[0].headers['Authorization']).toBe('Bearer abc');
    expect(f.calls[0].headers['Accept']).toBe('text/event-stream');
    expect(f.calls[0].headers['Last-Event-ID']).toBeUndefined();
    expect(c.status.status).toBe('connected');
    f.conns[0].push(ev(6) + ': keepalive\n\n' + ev(7, 'incident.created').slice(0, 20));
    await flush();
    f.conns[0].push(ev(7, 'incident.created').slice(20));
    await flush();
    expect(events).toEqual([
      { kind: 'incident', type: 'incident.updated', id: 'inc-6', version: 6, eventId: '6' },
      { kind: 'incident', type: 'incident.created', id: 'inc-7', version: 7, eventId: '7' },
    ]);
    f.conns[0].end();
    await flush();
    expect(c.status).toEqual({ status: 'reconnecting', retryInMs: 1000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(f.calls.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls.length).toBe(2);
    expect(f.calls[1].headers['Last-Event-ID']).toBe('7');
    expect(f.calls[1].headers['Authorization']).toBe('Bearer abc');
    expect(statuses.map((s) => s.status)).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect(statuses.at(-1)).toEqual({ status: 'connected', resumed: true });
    c.close();
  });

  it('resumes with Last-Event-ID after a network error mid-stream', async () => {
    const { c, f } = client(() => 'stream');
    c.start();
    await flush();
    f.conns[0].push(ev(41) + 'id: 42\nevent: incident.retired\ndata: {"id":"x","ver');
    await flush();
    f.conns[0].fail();
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.calls[1].headers['Last-Event-ID']).toBe('41'); // the half-received 42 does not count
    c.close();
  });

  it('on reset, tells the subscribers to reload and forgets the stale id', async () => {
    const { c, f, events } = client(() => 'stream');
    c.start();
    await flush();
    f.conns[0].push(ev(3));
    await flush();
    f.conns[0].end();
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.calls[1].headers['Last-Event-ID']).toBe('3');
    f.conns[1].push('event: reset\ndata: {}\n\n');
    await flush();
    expect(events.at(-1)).toEqual({ kind: 'reset' });
    expect(c.lastEventId).toBe('');
    f.conns[1].end();
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.calls[2].headers['Last-Event-ID']).toBeUndefined();
    // A reset that carries an id: resume from it.
    f.conns[2].push('id: 900\nevent: reset\ndata: {}\n\n');
    await flush();
    expect(c.lastEventId).toBe('900');
    c.close();
  });

  it('backs off 1 s, 2 s, 4 s ... up to 30 s while the server cannot be reached', async () => {
    const { c, f, statuses } = client(() => 'error');
    const at: number[] = [];
    const t0 = Date.now();
    c.onStatus((s) => s.status === 'reconnecting' && at.push(s.retryInMs!));
    c.start();
    await flush();
    for (let i = 0; i < 8; i++) await vi.advanceTimersByTimeAsync(30000);
    expect(at.slice(0, 8)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(statuses.every((s) => s.status !== 'connected')).toBe(true);
    // The attempts themselves: at 0, 1, 3, 7, 15, 31, 61, 91, ... s.
    expect(f.calls.slice(0, 9).map((x) => (x.at - t0) / 1000)).toEqual([0, 1, 3, 7, 15, 31, 61, 91, 121]);
    c.close();
  });

  it('retries 5xx with backoff and starts over after a connection that delivered data', async () => {
    const { c, f, statuses } = client((n) => (n < 2 ? { status: 503 } : 'stream'));
    c.start();
    await flush();
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(f.calls.length).toBe(3);
    expect(c.status.status).toBe('connected');
    f.conns[0].push(': keepalive\n\n');
    await flush();
    f.conns[0].end();
    await flush();
    expect(statuses.at(-1)).toEqual({ status: 'reconnecting', retryInMs: 1000 });
    c.close();
  });

  it('counts a stream that ends without sending anything as a failure', async () => {
    const { c, f, statuses } = client(() => 'stream');
    c.start();
    await flush();
    f.conns[0].end();
    await vi.advanceTimersByTimeAsync(1000);
    f.conns[1].end();
    await flush();
    expect(statuses.filter((s) => s.status === 'reconnecting').map((s) => s.retryInMs)).toEqual([1000, 2000]);
    c.close();
  });

  it('honours retry: as the reconnection delay (and backs off from it)', async () => {
    const { c, f, statuses } = client((n) => (n === 0 ? 'stream' : 'error'));
    c.start();
    await flush();
    f.conns[0].push('retry: 5000\n\n');
    await flush();
    f.conns[0].end();
    await flush();
    expect(c.status).toEqual({ status: 'reconnecting', retryInMs: 5000 });
    await vi.advanceTimersByTimeAsync(4999);
    expect(f.calls.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls.length).toBe(2);
    expect(statuses.at(-1)).toEqual({ status: 'reconnecting', retryInMs: 10000 });
    c.close();
  });

  it('a retry: longer than the cap is still honoured', async () => {
    const { c, f } = client(() => 'stream');
    c.start();
    await flush();
    f.conns[0].push('retry: 60000\n\n');
    await flush();
    f.conns[0].end();
    await flush();
    expect(c.status).toEqual({ status: 'reconnecting', retryInMs: 60000 });
    c.close();
  });

  it('stops on 401 and on 403, and does not try again', async () => {
    for (const status of [401, 403]) {
      const { c, f, statuses } = client(() => ({ status }));
      c.start();
      await flush();
      await vi.advanceTimersByTimeAsync(120000);
      expect(f.calls.length).toBe(1);
      expect(statuses.at(-1)).toEqual({ status: 'offline', reason: status === 401 ? 'unauthorized' : 'forbidden', httpStatus: status });
    }
  });

  it('stops on a 401 when reconnecting (the token was revoked meanwhile)', async () => {
    const { c, f } = client((n) => (n === 0 ? 'stream' : { status: 401 }));
    c.start();
    await flush();
    f.conns[0].push(ev(1));
    await flush();
    f.conns[0].fail();
    await vi.advanceTimersByTimeAsync(60000);
    expect(f.calls.length).toBe(2);
    expect(c.status.reason).toBe('unauthorized');
  });

  it('stops when the server has no event stream (404, or not text/event-stream)', async () => {
    for (const plan of [{ status: 404 }, { status: 200, type: 'text/html' }]) {
      const { c, f } = client(() => plan);
      c.start();
      await flush();
      await vi.advanceTimersByTimeAsync(60000);
      expect(f.calls.length).toBe(1);
      expect(c.status).toMatchObject({ status: 'offline', reason: 'unsupported' });
    }
  });

  it('reconnects when not even a keepalive came for the idle timeout', async () => {
    const { c, f } = client(() => 'stream', { idleTimeoutMs: 45000 });
    c.start();
    await flush();
    await vi.advanceTimersByTimeAsync(30000);
    f.conns[0].push(': keepalive\n\n');
    await vi.advanceTimersByTimeAsync(44000);
    expect(f.conns[0].aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.conns[0].aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.calls.length).toBe(2);
    c.close();
  });

  it('close() aborts the connection and cancels a pending reconnection', async () => {
    const { c, f } = client(() => 'stream');
    c.start();
    await flush();
    c.close();
    await flush();
    expect(f.conns[0].aborted).toBe(true);
    expect(c.status).toEqual({ status: 'offline', reason: 'closed' });
    const b = client(() => 'error');
    b.c.start();
    await flush();
    b.c.close();
    await vi.advanceTimersByTimeAsync(60000);
    expect(b.f.calls.length).toBe(1);
  });

  it('unsubscribing stops the deliveries', async () => {
    const { c, f } = client(() => 'stream');
    const got: LiveEvent[] = [];
    const off = c.subscribe((e) => got.push(e));
    c.start();
    await flush();
    f.conns[0].push(ev(1));
    await flush();
    off();
    f.conns[0].push(ev(2));
    await flush();
    expect(got.length).toBe(1);
    c.close();
  });
});

describe('Coalescer', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('turns a burst of 100 events from the stream into one refresh that knows every incident', async () => {
    const f = mockFetch(() => 'stream');
    const c = new EventStreamClient({ url: '/api/v1/events', fetch: f.fn });
    const refreshes: Changes[] = [];
    const co = new Coalescer<Changes>((x) => void refreshes.push(x), mergeChanges, 500);
    c.subscribe((e) => co.trigger(changesOf(e)));
    c.start();
    await flush();
    let text = '';
    for (let i = 1; i <= 100; i++) text += ev(i, i % 2 ? 'incident.created' : 'incident.reviewed');
    const bytes = enc.encode(text);
    for (let i = 0; i < bytes.length; i += 97) {
      f.conns[0].push(bytes.slice(i, i + 97));
      await vi.advanceTimersByTimeAsync(2); // the burst lasts ~ 200 ms
    }
    expect(refreshes.length).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(refreshes.length).toBe(1);
    expect(refreshes[0].ids.size).toBe(100);
    expect(refreshes[0].all).toBe(false);
    expect([...refreshes[0].types].sort()).toEqual(['incident.created', 'incident.reviewed']);
    await vi.advanceTimersByTimeAsync(10000);
    expect(refreshes.length).toBe(1);
    c.close();
  });

  it('a reset in the burst asks for everything', async () => {
    const runs: Changes[] = [];
    const co = new Coalescer<Changes>((x) => void runs.push(x), mergeChanges, 500);
    co.trigger(changesOf({ kind: 'incident', type: 'incident.updated', id: 'a', version: 1, eventId: '1' }));
    co.trigger(changesOf({ kind: 'reset' }));
    await vi.advanceTimersByTimeAsync(500);
    expect(runs.map((r) => r.all)).toEqual([true]);
  });

  it('refreshes at the latest maxWait after the first of a steady stream', async () => {
    const runs: number[][] = [];
    const co = new Coalescer<number[]>((x) => void runs.push(x), (a, b) => [...a, ...b], 500, 3000);
    for (let i = 0; i < 20; i++) {
      co.trigger([i]);
      await vi.advanceTimersByTimeAsync(400);
    }
    expect(runs.length).toBe(2); // at 3000 ms and 6200 ms
    expect(runs[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('never overlaps runs: what comes during a run makes one more run after it', async () => {
    let active = 0;
    let maxActive = 0;
    const runs: number[][] = [];
    const co = new Coalescer<number[]>(
      async (x) => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs.push(x);
        await new Promise((r) => setTimeout(r, 2000));
        active--;
      },
      (a, b) => [...a, ...b],
      500,
    );
    co.trigger([1]);
    await vi.advanceTimersByTimeAsync(600); // running
    co.trigger([2]);
    co.trigger([3]);
    await vi.advanceTimersByTimeAsync(10000);
    expect(runs).toEqual([[1], [2, 3]]);
    expect(maxActive).toBe(1);
  });

  it('cancel() drops what is pending', async () => {
    const runs: number[][] = [];
    const co = new Coalescer<number[]>((x) => void runs.push(x), (a, b) => [...a, ...b], 500);
    co.trigger([1]);
    co.cancel();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toEqual([]);
  });
});

describe('live status text', () => {
  it('says the state in words', () => {
    expect(liveStatusText({ status: 'connected' }, true)).toBe('Live updates: connected');
    expect(liveStatusText({ status: 'reconnecting', retryInMs: 2000 }, true)).toBe('Live updates: reconnecting…');
    expect(liveStatusText({ status: 'offline', reason: 'unauthorized' }, true)).toMatch(/offline \(the token was refused/);
    expect(liveStatusText({ status: 'offline', reason: 'unauthorized' }, false)).toMatch(/offline \(sign in/);
    expect(liveStatusText({ status: 'offline', reason: 'unsupported' }, true)).toMatch(/does not send them/);
  });
});
