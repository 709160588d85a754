// Trace search (service, operation, tags, min/max duration, time range, limit) with a
// duration-over-time scatter and a result list; open a trace by id. State is in the URL.

import { useEffect, useMemo, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { TimePicker } from '../components/TimePicker';
import { UPlot } from '../components/UPlot';
import * as api from '../lib/api';
import { formatDateTime, formatMicros, resolveRange } from '../lib/time';
import { timeTicks } from '../panels/chartKit';
import { linkClick, navigate, pushQuery, useLocation } from '../router';
import { JTrace, parseTags, serviceColor, summarise, TraceSummary } from './model';

const GO_DURATION = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$/;

export function TraceSearch() {
  const { query } = useLocation();
  const [services, setServices] = useState<string[]>([]);
  const [operations, setOperations] = useState<string[]>([]);
  const [form, setForm] = useState(() => ({
    service: query.get('service') ?? '',
    operation: query.get('operation') ?? '',
    tags: query.get('tags') ?? '',
    minDuration: query.get('minDuration') ?? '',
    maxDuration: query.get('maxDuration') ?? '',
    limit: query.get('limit') ?? '20',
  }));
  const [formError, setFormError] = useState<string | null>(null);
  const [results, setResults] = useState<TraceSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [sort, setSort] = useState('recent');
  const [traceId, setTraceId] = useState('');
  const from = query.get('from') ?? 'now-1h';
  const to = query.get('to') ?? 'now';
  const range = useMemo(() => resolveRange(from, to) ?? resolveRange('now-1h', 'now')!, [from, to, query.toString()]);

  useEffect(() => {
    api
      .jaegerServices()
      .then((s) => {
        setServices(s);
        if (!form.service && s.length) setForm((f) => ({ ...f, service: s[0] }));
      })
      .catch((e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    if (!form.service) return setOperations([]);
    api.jaegerOperations(form.service).then(setOperations).catch(() => setOperations([]));
  }, [form.service]);

  // Search whenever the URL's search parameters change (and a service is chosen).
  useEffect(() => {
    const service = query.get('service');
    if (!service) return;
    const tags = query.get('tags') ?? '';
    const p = new URLSearchParams({
      service,
      start: String(range.from * 1000),
      end: String(range.to * 1000),
      limit: query.get('limit') ?? '20',
      lookback: 'custom',
    });
    const op = query.get('operation');
    if (op) p.set('operation', op);
    if (tags) {
      const parsed = parseTags(tags);
      if (typeof parsed === 'string') return setError(parsed);
      p.set('tags', JSON.stringify(parsed));
    }
    for (const k of ['minDuration', 'maxDuration']) if (query.get(k)) p.set(k, query.get(k)!);
    const ac = new AbortController();
    setLoading(true);
    setError(null);
    api
      .jaegerSearch(p, ac.signal)
      .then((traces: JTrace[]) => setResults(traces.map(summarise)))
      .catch((e: Error) => e.name !== 'AbortError' && setError(e.message))
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [query.toString()]);

  const submit = (e: Event) => {
    e.preventDefault();
    for (const k of ['minDuration', 'maxDuration'] as const)
      if (form[k] && !GO_DURATION.test(form[k].trim())) return setFormError(`${k}: "${form[k]}" is not a duration like 100ms, 1.5s or 2m`);
    if (form.tags && typeof parseTags(form.tags) === 'string') return setFormError(parseTags(form.tags) as string);
    const limit = parseInt(form.limit, 10);
    if (!(limit > 0 && limit <= 1500)) return setFormError('limit must be between 1 and 1500');
    setFormError(null);
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(form)) v.trim() ? q.set(k, v.trim()) : q.delete(k);
    q.set('from', from);
    q.set('to', to);
    q.set('t', String(Date.now()));
    pushQuery(q);
  };

  const sorted = useMemo(() => {
    const r = [...(results ?? [])];
    const by: Record<string, (a: TraceSummary, b: TraceSummary) => number> = {
      recent: (a, b) => b.start - a.start,
      longest: (a, b) => b.duration - a.duration,
      shortest: (a, b) => a.duration - b.duration,
      spans: (a, b) => b.spans - a.spans,
    };
    return r.sort(by[sort]);
  }, [results, sort]);
  const maxDur = Math.max(1, ...sorted.map((r) => r.duration));
  const input = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  return (
    <div class="page traces">
      <div class="toolbar">
        <h1>Traces</h1>
        <form
          class="trace-id-form"
          onSubmit={(e) => {
            e.preventDefault();
            const id = traceId.trim().toLowerCase();
            if (/^[0-9a-f]{1,32}$/.test(id)) navigate('/trace/' + id);
            else setFormError('A trace id is 1 to 32 hexadecimal digits');
          }}
        >
          <input placeholder="Trace ID" value={traceId} onInput={(e) => setTraceId((e.target as HTMLInputElement).value)} aria-label="Trace ID" />
          <button class="btn">Open</button>
        </form>
      </div>
      <div class="trace-layout">
        <form class="trace-form" onSubmit={submit}>
          <label>
            Service
            <select name="service" value={form.service} onChange={(e) => setForm({ ...form, service: (e.target as HTMLSelectElement).value, operation: '' })}>
              {!services.length && <option value="">No services</option>}
              {services.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Operation
            <select name="operation" value={form.operation} onChange={input('operation')}>
              <option value="">All</option>
              {operations.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label>
            Tags
            <input name="tags" placeholder="http.status_code=500 error=true" value={form.tags} onInput={input('tags')} />
          </label>
          <div class="row2">
            <label>
              Min duration
              <input name="minDuration" placeholder="e.g. 100ms" value={form.minDuration} onInput={input('minDuration')} />
            </label>
            <label>
              Max duration
              <input name="maxDuration" placeholder="e.g. 1.2s" value={form.maxDuration} onInput={input('maxDuration')} />
            </label>
          </div>
          <label>
            Lookback
            <TimePicker
              range={range}
              onChange={(f, t) => {
                const q = new URLSearchParams(location.search);
                q.set('from', f);
                q.set('to', t);
                pushQuery(q);
              }}
            />
          </label>
          <label>
            Limit results
            <input name="limit" type="number" min="1" max="1500" value={form.limit} onInput={input('limit')} />
          </label>
          {formError && <div class="error-text">{formError}</div>}
          <button class="btn primary find-traces" type="submit" disabled={!form.service}>
            Find traces
          </button>
        </form>
        <div class="trace-results">
          {error && (
            <div class="query-error" role="alert">
              {error}
            </div>
          )}
          {loading && <div class="muted">Searching…</div>}
          {results && !loading && (
            <>
              {results.length > 0 && <Scatter results={results} range={range} />}
              <div class="results-header">
                <b>{results.length} traces</b>
                <label>
                  Sort{' '}
                  <select value={sort} onChange={(e) => setSort((e.target as HTMLSelectElement).value)}>
                    <option value="recent">Most recent</option>
                    <option value="longest">Longest first</option>
                    <option value="shortest">Shortest first</option>
                    <option value="spans">Most spans</option>
                  </select>
                </label>
              </div>
              {results.length === 0 && <div class="muted">No traces found. Try a longer lookback or fewer filters.</div>}
              <ul class="trace-list">
                {sorted.map((r) => (
                  <li key={r.traceID} class={'trace-item' + (r.errors ? ' has-errors' : '')}>
                    <a href={'/trace/' + r.traceID} onClick={(e) => linkClick(e, '/trace/' + r.traceID)}>
                      <div class="trace-item-head">
                        <span class="trace-name">
                          {r.rootService}: {r.rootOperation} <span class="muted small">{r.traceID.slice(0, 7)}</span>
                        </span>
                        <span class="trace-dur">{formatMicros(r.duration)}</span>
                      </div>
                      <div class="trace-dur-bar" style={{ width: `${(r.duration / maxDur) * 100}%` }} />
                      <div class="trace-item-meta">
                        <span>{r.spans} spans</span>
                        {r.errors > 0 && <span class="error-text">{r.errors} errors</span>}
                        {r.services.map((s) => (
                          <span class="svc-chip" key={s.name} style={{ borderColor: serviceColor(s.name) }}>
                            {s.name} ({s.count})
                          </span>
                        ))}
                        <span class="muted">{formatDateTime(r.start / 1000)}</span>
                      </div>
                    </a>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

/** Duration (y) over start time (x); errors in red; click a point to open the trace. */
function Scatter({ results, range }: { results: TraceSummary[]; range: { from: number; to: number } }) {
  const pts = [...results].sort((a, b) => a.start - b.start);
  const data: uPlot.AlignedData = [
    pts.map((p) => p.start / 1000),
    pts.map((p) => (p.errors ? null : p.duration / 1000)),
    pts.map((p) => (p.errors ? p.duration / 1000 : null)),
  ];
  const makeOpts = (width: number, height: number): uPlot.Options => ({
    width,
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { size: 10 }, focus: { prox: 20 } },
    scales: { x: { time: false, range: () => [range.from, range.to] } },
    axes: [
      { stroke: '#8e8e8e', grid: { stroke: '#ffffff14' }, values: (_u, s) => timeTicks(s, range.to - range.from), space: 70 },
      { stroke: '#8e8e8e', grid: { stroke: '#ffffff14' }, size: 60, values: (_u, s) => s.map((v) => formatMicros(v * 1000)) },
    ],
    series: [
      {},
      { label: 'ok', stroke: '#73BF69', paths: () => null, points: { show: true, size: 7, fill: '#73BF6988' } },
      { label: 'error', stroke: '#F2495C', paths: () => null, points: { show: true, size: 7, fill: '#F2495C88' } },
    ],
    hooks: {
      init: [
        (u) => {
          u.over.addEventListener('click', () => {
            const i = u.cursor.idx;
            if (i != null && pts[i]) navigate('/trace/' + pts[i].traceID);
          });
          u.over.style.cursor = 'pointer';
        },
      ],
    },
  });
  return (
    <div class="trace-scatter">
      <UPlot makeOpts={makeOpts} optsKey={JSON.stringify([pts.map((p) => p.traceID), range])} data={data} />
    </div>
  );
}
