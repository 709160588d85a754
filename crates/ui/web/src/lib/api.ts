// Calls to the server's APIs (same origin, session cookie). A 401 sends the browser to the
// login page; Prometheus-style errors come back as `ApiError` with the server's own words.

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number,
    public errorType?: string,
  ) {
    super(message);
  }
}

export interface PromEnvelope<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

export type Metric = Record<string, string>;
export type SamplePair = [number, string];
export interface MatrixSeries {
  metric: Metric;
  values?: SamplePair[];
}
export interface VectorSample {
  metric: Metric;
  value?: SamplePair;
}
export type QueryData =
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'scalar'; result: SamplePair }
  | { resultType: 'string'; result: SamplePair };

export interface QueryResult {
  data: QueryData;
  warnings: string[];
  infos: string[];
}

export function loginRedirect(): never {
  const next = location.pathname + location.search;
  location.assign('/login?next=' + encodeURIComponent(next));
  throw new ApiError('session expired', 401);
}

async function getJSON<T>(url: string, init?: RequestInit): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(url, { credentials: 'same-origin', ...init });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${(e as Error).message}`, 0);
  }
  if (resp.status === 401) loginRedirect();
  const text = await resp.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(text.trim() || `HTTP ${resp.status}`, resp.status);
  }
  if (!resp.ok || body?.status === 'error') {
    const msg =
      body?.error ??
      (Array.isArray(body?.errors) && body.errors.length ? body.errors.map((e: any) => e.msg).join('; ') : null) ??
      `HTTP ${resp.status} ${resp.statusText}`;
    throw new ApiError(String(msg), resp.status, body?.errorType);
  }
  return body as T;
}

function post<T>(path: string, params: URLSearchParams, signal?: AbortSignal): Promise<T> {
  return getJSON<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: params.toString(),
    signal,
  });
}

function wrap(env: PromEnvelope<QueryData>): QueryResult {
  return { data: env.data, warnings: env.warnings ?? [], infos: env.infos ?? [] };
}

/** `/api/v1/query_range`; times in seconds, step in seconds. */
export async function queryRange(
  query: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
): Promise<QueryResult> {
  const p = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
  return wrap(await post<PromEnvelope<QueryData>>('/api/v1/query_range', p, signal));
}

/** `/api/v1/query`; time in seconds. */
export async function queryInstant(query: string, time: number, signal?: AbortSignal): Promise<QueryResult> {
  const p = new URLSearchParams({ query, time: String(time) });
  return wrap(await post<PromEnvelope<QueryData>>('/api/v1/query', p, signal));
}

export interface ExemplarSeries {
  seriesLabels: Metric;
  exemplars: { labels: Metric; value: string; timestamp: number }[];
}

export async function queryExemplars(
  query: string,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<ExemplarSeries[]> {
  const p = new URLSearchParams({ query, start: String(start), end: String(end) });
  const env = await post<PromEnvelope<ExemplarSeries[] | null>>('/api/v1/query_exemplars', p, signal);
  return env.data ?? [];
}

function rangeParams(start?: number, end?: number, matches: string[] = []): URLSearchParams {
  const p = new URLSearchParams();
  if (start !== undefined) p.set('start', String(Math.floor(start)));
  if (end !== undefined) p.set('end', String(Math.ceil(end)));
  for (const m of matches) p.append('match[]', m);
  return p;
}

export async function labelNames(matches: string[] = [], start?: number, end?: number): Promise<string[]> {
  const p = rangeParams(start, end, matches);
  return (await getJSON<PromEnvelope<string[]>>('/api/v1/labels?' + p)).data ?? [];
}

export async function labelValues(
  label: string,
  matches: string[] = [],
  start?: number,
  end?: number,
): Promise<string[]> {
  const p = rangeParams(start, end, matches);
  const env = await getJSON<PromEnvelope<string[]>>(`/api/v1/label/${encodeURIComponent(label)}/values?` + p);
  return env.data ?? [];
}

export async function series(matches: string[], start?: number, end?: number): Promise<Metric[]> {
  const p = rangeParams(start, end, matches);
  return (await getJSON<PromEnvelope<Metric[]>>('/api/v1/series?' + p)).data ?? [];
}

export async function metadata(): Promise<Record<string, { type: string; help: string; unit: string }[]>> {
  try {
    return (await getJSON<PromEnvelope<any>>('/api/v1/metadata')).data ?? {};
  } catch {
    return {};
  }
}

// ---- UI API ----

export interface DashboardSummary {
  uid: string;
  title: string;
  tags: string[];
  folder: string;
  file: string;
  error?: string;
}

export async function listDashboards(): Promise<DashboardSummary[]> {
  return (await getJSON<{ data: DashboardSummary[] }>('/api/ui/dashboards')).data;
}

export async function getDashboard(uid: string): Promise<any> {
  return (await getJSON<{ data: any }>('/api/ui/dashboards/' + encodeURIComponent(uid))).data;
}

// ---- Jaeger API ----

export interface JaegerEnvelope<T> {
  data: T;
  errors?: { code: number; msg: string }[] | null;
}

export async function jaegerServices(): Promise<string[]> {
  return ((await getJSON<JaegerEnvelope<string[] | null>>('/api/services')).data ?? []).sort();
}

export async function jaegerOperations(service: string): Promise<string[]> {
  const env = await getJSON<JaegerEnvelope<string[] | null>>(
    `/api/services/${encodeURIComponent(service)}/operations`,
  );
  return (env.data ?? []).sort();
}

export async function jaegerSearch(params: URLSearchParams, signal?: AbortSignal): Promise<any[]> {
  return (await getJSON<JaegerEnvelope<any[] | null>>('/api/traces?' + params, { signal })).data ?? [];
}

export async function jaegerTrace(id: string): Promise<any | null> {
  const env = await getJSON<JaegerEnvelope<any[] | null>>('/api/traces/' + encodeURIComponent(id));
  return env.data?.[0] ?? null;
}

export async function logout(): Promise<void> {
  await fetch('/logout', { method: 'POST', credentials: 'same-origin', redirect: 'manual' });
  location.assign('/login');
}
