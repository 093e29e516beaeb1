// The truce HTTP API (/api/v1) as the dashboard uses it. The token is the caller's; it is sent as
// `Authorization: Bearer TOKEN` and kept in localStorage by the sign-in form (auth.ts).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field = '',
  ) {
    super(message);
  }
}

export interface Violation {
  rule: string;
  explanation: string;
}

export interface Incident {
  id: string;
  version: number;
  review_version: number;
  start: string;
  end: string;
  kind: string;
  status: string;
  party: string;
  zones?: string[];
  reports?: number;
  rounds?: number;
  lat?: number;
  lon?: number;
  distance_to_loc_m?: number;
  ellipse?: { semi_major_m: number; semi_minor_m: number; major_azimuth_deg: number };
  sector?: { apex_lat: number; apex_lon: number; azimuth_deg: number; half_width_deg: number };
  observations?: string[];
  violations?: Violation[];
  notes?: string;
}

export interface ObservationDetail {
  observation_id: string;
  time: string;
  observer_id: string;
  kind: string;
  count: number;
  observer_lat: number | null;
  observer_lon: number | null;
  bearing_deg: number | null;
  bearing_sigma_deg: number | null;
  distance_m: number | null;
  distance_sigma_m: number | null;
  direction: string | null;
  notes: string;
}

export interface IncidentDetail extends Incident {
  observation_details?: ObservationDetail[];
  history?: { version: number; at: string; change: string }[];
  reviews?: { version: number; status: string; notes: string; by: string; at: string }[];
}

export interface SummaryCell {
  lat: number;
  lon: number;
  n: number;
  kind: string;
  party: string;
  status: string;
}

export interface Summary {
  total: number;
  located: number;
  cell_deg: number;
  cells: SummaryCell[];
  timeline: { start: string; step_s: number; counts: number[] } | null;
  by_kind: Record<string, number>;
  by_party: Record<string, number>;
  by_status: Record<string, number>;
  by_rule: Record<string, number>;
  first?: string;
  last?: string;
}

export interface Me {
  role: string | null;
  name: string | null;
  credentials: 'valid' | 'invalid' | 'none';
  public_view: boolean;
}

export interface ReviewResult {
  id: string;
  review_version: number;
  status: string;
  notes: string;
  by: string;
  at: string;
}

export interface DailyReport {
  date: string;
  totals: { incidents: number; observations: number };
  by_kind: Record<string, number>;
  by_party: Record<string, number>;
  notable: unknown[];
}

export class Api {
  constructor(
    public token: string | null,
    private readonly base = '',
  ) {}

  // The caller's credentials as headers: what every request sends (and the live updates, events.ts).
  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: 'Bearer ' + this.token } : {};
  }

  // Where a path of the API is (the live updates fetch it themselves).
  url(path: string): string {
    return this.base + path;
  }

  private headers(json: boolean): HeadersInit {
    const h: Record<string, string> = this.authHeaders();
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }

  async request(method: string, path: string, params?: URLSearchParams, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const url = this.base + path + (params && [...params].length ? '?' + params.toString() : '');
    const res = await fetch(url, {
      method,
      headers: this.headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!res.ok) {
      let code = 'http_' + res.status, message = res.statusText || 'request failed', field = '';
      try {
        const j = (await res.json()) as { error?: { code?: string; message?: string; field?: string } } | null;
        if (j && j.error) ({ code, message, field } = { code: j.error.code ?? code, message: j.error.message ?? message, field: j.error.field ?? '' });
      } catch {
        /* not JSON: keep the status line */
      }
      throw new ApiError(res.status, code, message, field);
    }
    return res;
  }

  async get<T>(path: string, params?: URLSearchParams, signal?: AbortSignal): Promise<T> {
    return (await this.request('GET', path, params, undefined, signal)).json() as Promise<T>;
  }

  async text(path: string, params?: URLSearchParams): Promise<string> {
    return (await this.request('GET', path, params)).text();
  }

  me = () => this.get<Me>('/api/v1/me');
  incidents = (q: URLSearchParams, signal?: AbortSignal) => this.get<{ items: Incident[] }>('/api/v1/incidents', q, signal);
  summary = (q: URLSearchParams, signal?: AbortSignal) => this.get<Summary>('/api/v1/incidents/summary', q, signal);
  incident = (id: string) => this.get<IncidentDetail>('/api/v1/incidents/' + encodeURIComponent(id));
  review = async (id: string, version: number, status: string, notes: string): Promise<ReviewResult> =>
    (await this.request('PATCH', '/api/v1/incidents/' + encodeURIComponent(id), undefined, { version, status, notes })).json() as Promise<ReviewResult>;
}
