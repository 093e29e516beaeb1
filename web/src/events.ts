// Live updates: a Server-Sent Events client for GET /api/v1/events on top of fetch().
//
// The browser's EventSource cannot send `Authorization: Bearer TOKEN`, so this reads the
// text/event-stream itself: a parser that follows the WHATWG "event stream interpretation" (fields
// id/event/data/retry, comments, multi-line data, CRLF/LF/CR line ends, chunks split anywhere, UTF-8
// decoded across chunk boundaries), and a client that reconnects with backoff and resumes with
// `Last-Event-ID`.
//
// What the server sends (the contract):
//   id: N\nevent: incident.created|incident.updated|incident.retired|incident.reviewed\n
//   data: {"id":"<incident id>","version":<int>,"type":"<the event type>"}\n\n
//   : keepalive\n\n                       about every 15 s
//   event: reset\ndata: {}\n\n            the Last-Event-ID was too old: reload everything

// --- the parser ---

export interface SseMessage {
  type: string; // the `event:` field, 'message' when there is none
  data: string; // the `data:` lines joined with \n
  lastEventId: string; // the last `id:` seen up to and including this event (WHATWG semantics)
  hasId: boolean; // this event carried an `id:` field itself
}

export interface SseParserCallbacks {
  onMessage(m: SseMessage): void;
  onRetry?(ms: number): void;
  onComment?(text: string): void;
}

// Feed it text (already decoded) or bytes (feedBytes: decoded here in stream mode); it calls back
// once per dispatched event. One parser per connection: a new connection starts with a fresh one
// (the last event id carries over through `lastEventId`).
export class SseParser {
  private buf = ''; // text not yet ended by a line break
  private afterCR = false; // the last chunk ended with CR: an LF starting the next one is the same line end
  private data = '';
  private type = '';
  private idSeen = false;
  private readonly decoder = new TextDecoder('utf-8'); // strips a leading BOM, as the spec asks
  lastEventId: string;

  constructor(
    private readonly cb: SseParserCallbacks,
    lastEventId = '',
  ) {
    this.lastEventId = lastEventId;
  }

  feedBytes(chunk: Uint8Array): void {
    this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  // The end of the stream: flushes the decoder. An event not ended by a blank line is dropped (spec).
  end(): void {
    const rest = this.decoder.decode();
    if (rest) this.feed(rest);
  }

  feed(text: string): void {
    if (!text) return;
    let s = text;
    if (this.afterCR) {
      this.afterCR = false;
      if (s[0] === '\n') s = s.slice(1);
    }
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buf + s.slice(start, i);
      this.buf = '';
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.afterCR = true;
        }
      }
      start = i + 1;
      this.line(line);
    }
    this.buf += s.slice(start);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line[0] === ':') return this.cb.onComment?.(line.slice(1).replace(/^ /, ''));
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data += value + '\n';
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
          this.idSeen = true;
        }
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.cb.onRetry?.(Number(value));
        break;
      default:
      // other fields are ignored
    }
  }

  private dispatch(): void {
    const hasId = this.idSeen;
    this.idSeen = false;
    if (this.data === '') {
      this.type = '';
      return;
    }
    const m: SseMessage = { type: this.type || 'message', data: this.data.slice(0, -1), lastEventId: this.lastEventId, hasId };
    this.data = '';
    this.type = '';
    this.cb.onMessage(m);
  }
}

// --- what the dashboard receives ---

export const INCIDENT_EVENT_TYPES = ['incident.created', 'incident.updated', 'incident.retired', 'incident.reviewed'] as const;
export type IncidentEventType = (typeof INCIDENT_EVENT_TYPES)[number];

export type LiveEvent =
  | { kind: 'incident'; type: IncidentEventType; id: string; version: number; eventId: string }
  | { kind: 'reset' }; // the server cannot resume from our Last-Event-ID: reload everything

// An SSE message as a LiveEvent, or null for what the dashboard does not know (ignored, so the
// server may add event types).
export function toLiveEvent(m: SseMessage): LiveEvent | null {
  if (m.type === 'reset') return { kind: 'reset' };
  if (!(INCIDENT_EVENT_TYPES as readonly string[]).includes(m.type)) return null;
  let j: unknown;
  try {
    j = JSON.parse(m.data);
  } catch {
    return null;
  }
  if (!j || typeof j !== 'object') return null;
  const o = j as { id?: unknown; version?: unknown };
  if (typeof o.id !== 'string') return null;
  return { kind: 'incident', type: m.type as IncidentEventType, id: o.id, version: typeof o.version === 'number' ? o.version : 0, eventId: m.lastEventId };
}

// --- the client ---

export type LiveStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';
// Why the client is offline (it does not try again by itself).
export type OfflineReason = 'closed' | 'unauthorized' | 'forbidden' | 'unsupported';

export interface StatusInfo {
  status: LiveStatus;
  reason?: OfflineReason; // when offline
  retryInMs?: number; // when reconnecting
  httpStatus?: number; // when unauthorized / forbidden / unsupported
  resumed?: boolean; // when connected: Last-Event-ID was sent
}

export interface EventStreamOptions {
  url: string;
  headers?: () => Record<string, string>; // asked on every connection (the token may change)
  fetch?: typeof fetch;
  initialDelayMs?: number; // the first reconnection delay; `retry:` replaces it (default 1000)
  maxDelayMs?: number; // the backoff's cap (default 30000; a larger `retry:` wins)
  idleTimeoutMs?: number; // no byte (not even a keepalive) for this long: reconnect (default 45000; 0: never)
}

// Connects on start(), reconnects with backoff (delay, 2×delay, ... capped) after a network error,
// a 5xx or the stream's end, and resumes with Last-Event-ID. It stops for good on 401/403 (the
// caller must sign in again), on 404/405/501 or a response that is not text/event-stream (the
// server has no live updates), and on close().
export class EventStreamClient {
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private readonly statusListeners = new Set<(s: StatusInfo) => void>();
  private readonly fetchFn: typeof fetch;
  private readonly maxDelay: number;
  private readonly idleTimeout: number;
  private delay: number; // the base reconnection delay
  private failures = 0; // consecutive failed attempts
  private abort: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private started = false;
  private current: StatusInfo = { status: 'connecting' };
  lastEventId = '';

  constructor(private readonly opts: EventStreamOptions) {
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.delay = opts.initialDelayMs ?? 1000;
    this.maxDelay = opts.maxDelayMs ?? 30000;
    this.idleTimeout = opts.idleTimeoutMs ?? 45000;
  }

  // Listens to events; returns the unsubscribe function.
  subscribe(fn: (e: LiveEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // Listens to the connection's status (called at once with the current one).
  onStatus(fn: (s: StatusInfo) => void): () => void {
    this.statusListeners.add(fn);
    fn(this.current);
    return () => this.statusListeners.delete(fn);
  }

  get status(): StatusInfo {
    return this.current;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.connect();
  }

  // Skips the wait when reconnecting (e.g. the browser is back online).
  reconnectNow(): void {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    void this.connect();
  }

  close(): void {
    if (this.stopped) return;
    this.stop({ status: 'offline', reason: 'closed' });
  }

  // The delay before the next attempt: the base delay doubled per consecutive failure, capped.
  nextDelay(): number {
    const cap = Math.max(this.maxDelay, this.delay);
    return Math.min(cap, this.delay * 2 ** Math.min(this.failures, 30));
  }

  private setStatus(s: StatusInfo): void {
    this.current = s;
    for (const fn of [...this.statusListeners]) fn(s);
  }

  private emit(e: LiveEvent): void {
    for (const fn of [...this.listeners]) fn(e);
  }

  private stop(s: StatusInfo): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.clearIdle();
    this.abort?.abort();
    this.abort = null;
    this.setStatus(s);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private armIdle(ctl: AbortController): void {
    this.clearIdle();
    if (this.idleTimeout > 0) this.idleTimer = setTimeout(() => ctl.abort(), this.idleTimeout);
  }

  // Every attempt that follows doubles the delay, until a connection delivers something.
  private scheduleReconnect(): void {
    if (this.stopped) return;
    const wait = this.nextDelay();
    this.failures++;
    this.setStatus({ status: 'reconnecting', retryInMs: wait });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, wait);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const ctl = new AbortController();
    this.abort = ctl;
    const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache', ...(this.opts.headers?.() ?? {}) };
    const resumed = this.lastEventId !== '';
    if (resumed) headers['Last-Event-ID'] = this.lastEventId;
    let res: Response;
    try {
      res = await this.fetchFn(this.opts.url, { method: 'GET', headers, signal: ctl.signal, cache: 'no-store' });
    } catch {
      if (ctl.signal.aborted && this.stopped) return;
      return this.scheduleReconnect();
    }
    if (this.stopped || ctl !== this.abort) {
      void res.body?.cancel().catch(() => {});
      return;
    }
    if (res.status === 401 || res.status === 403) {
      void res.body?.cancel().catch(() => {});
      return this.stop({ status: 'offline', reason: res.status === 401 ? 'unauthorized' : 'forbidden', httpStatus: res.status });
    }
    const type = res.headers.get('Content-Type') ?? '';
    if (res.status === 404 || res.status === 405 || res.status === 501 || (res.ok && !/^text\/event-stream\b/i.test(type)) || (res.ok && !res.body)) {
      void res.body?.cancel().catch(() => {});
      return this.stop({ status: 'offline', reason: 'unsupported', httpStatus: res.status });
    }
    if (res.status !== 200) {
      void res.body?.cancel().catch(() => {});
      return this.scheduleReconnect();
    }
    this.setStatus({ status: 'connected', resumed });
    const parser = new SseParser(
      {
        onMessage: (m) => {
          this.lastEventId = m.lastEventId;
          const e = toLiveEvent(m);
          // After a reset the old id means nothing: resume from the reset's id, or from now.
          if (e?.kind === 'reset' && !m.hasId) this.lastEventId = parser.lastEventId = '';
          if (e) this.emit(e);
        },
        onRetry: (ms) => {
          this.delay = ms;
        },
      },
      this.lastEventId,
    );
    const reader = res.body!.getReader();
    let received = false;
    this.armIdle(ctl);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.stopped || ctl !== this.abort) return;
        if (done) break;
        this.armIdle(ctl);
        if (value.length && !received) {
          received = true;
          this.failures = 0; // the backoff starts over once the server has sent something
        }
        parser.feedBytes(value);
        if (this.stopped) return; // a listener closed the client
      }
      parser.end();
    } catch {
      if (this.stopped) return;
      // a network error, or the idle watchdog aborted: reconnect
    } finally {
      this.clearIdle();
      reader.releaseLock?.();
    }
    if (this.stopped) return;
    // A stream that ended before sending anything did not reset the backoff, so that a server
    // that accepts and hangs up at once is not asked again every second.
    this.scheduleReconnect();
  }
}

// --- coalescing bursts of events into one refresh ---

// Calls `run` once, `delayMs` after the last of a burst of trigger() calls (and at the latest
// `maxWaitMs` after the first, so a steady stream still refreshes). What the triggers carried is
// merged and handed over. A run that is still going is never overlapped: triggers meanwhile make
// one more run after it.
export class Coalescer<T> {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private first = 0;
  private pending: T | null = null;
  private running = false;
  private again = false;

  constructor(
    private readonly run: (what: T) => Promise<void> | void,
    private readonly merge: (a: T, b: T) => T,
    private readonly delayMs = 500,
    private readonly maxWaitMs = 3000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  trigger(what: T): void {
    this.pending = this.pending === null ? what : this.merge(this.pending, what);
    if (this.running) {
      this.again = true;
      return;
    }
    this.arm();
  }

  private arm(): void {
    const t = this.now();
    if (this.timer) clearTimeout(this.timer);
    else this.first = t;
    const wait = Math.max(0, Math.min(this.delayMs, this.first + this.maxWaitMs - t));
    this.timer = setTimeout(() => void this.fire(), wait);
  }

  private async fire(): Promise<void> {
    this.timer = null;
    const what = this.pending;
    this.pending = null;
    if (what === null) return;
    this.running = true;
    try {
      await this.run(what);
    } catch {
      /* the refresh shows its own errors */
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      if (this.pending !== null) this.arm();
    }
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    this.again = false;
  }
}

// What a burst of events asks to refresh: everything (a reset), or these incidents.
export interface Changes {
  all: boolean;
  ids: Set<string>;
  types: Set<string>;
}

export function changesOf(e: LiveEvent): Changes {
  return e.kind === 'reset' ? { all: true, ids: new Set(), types: new Set(['reset']) } : { all: false, ids: new Set([e.id]), types: new Set([e.type]) };
}

export function mergeChanges(a: Changes, b: Changes): Changes {
  return { all: a.all || b.all, ids: new Set([...a.ids, ...b.ids]), types: new Set([...a.types, ...b.types]) };
}

// The live-status indicator's words (the indicator never relies on its colour alone).
export function liveStatusText(s: StatusInfo, signedIn: boolean): string {
  switch (s.status) {
    case 'connecting':
      return 'Live updates: connecting…';
    case 'connected':
      return 'Live updates: connected';
    case 'reconnecting':
      return 'Live updates: reconnecting…';
    case 'offline':
      switch (s.reason) {
        case 'unauthorized':
          return signedIn ? 'Live updates: offline (the token was refused; sign in again)' : 'Live updates: offline (sign in to get them)';
        case 'forbidden':
          return 'Live updates: offline (not allowed for this account)';
        case 'unsupported':
          return 'Live updates: offline (this server does not send them)';
        default:
          return 'Live updates: offline';
      }
  }
}
