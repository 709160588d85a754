// Explore: one PromQL query, drawn as a graph (range) and/or a table (instant), with the
// server's errors and warnings shown in Prometheus's own words. State lives in the URL.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { TimePicker } from '../components/TimePicker';
import type { Panel as PanelModel } from '../dashboard/model';
import { PanelData, runPanel } from '../dashboard/query';
import { ApiError } from '../lib/api';
import { resolveRange } from '../lib/time';
import { Table } from '../panels/Table';
import { TimeSeries } from '../panels/TimeSeries';
import { pushQuery, replaceQuery, useLocation } from '../router';
import { QueryEditor } from './QueryEditor';

type Mode = 'range' | 'instant' | 'both';

export function Explore() {
  const { query } = useLocation();
  const expr = query.get('expr') ?? '';
  const from = query.get('from') ?? 'now-1h';
  const to = query.get('to') ?? 'now';
  const mode = (query.get('mode') as Mode) ?? 'both';
  const exemplars = query.get('exemplars') === '1';
  const [draft, setDraft] = useState(expr);
  const [run, setRun] = useState(0);
  const [graph, setGraph] = useState<PanelData | null>(null);
  const [table, setTable] = useState<PanelData | null>(null);
  const [error, setError] = useState<{ msg: string; type?: string } | null>(null);
  const [loading, setLoading] = useState(false);
  const [took, setTook] = useState<number | null>(null);
  const range = useMemo(() => resolveRange(from, to) ?? resolveRange('now-1h', 'now')!, [from, to, run]);
  useEffect(() => setDraft(expr), [expr]);

  const set = (changes: Record<string, string | null>, push = false) => {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) v === null ? q.delete(k) : q.set(k, v);
    push ? pushQuery(q) : replaceQuery(q);
  };

  useEffect(() => {
    if (!expr.trim()) {
      setGraph(null);
      setTable(null);
      setError(null);
      return;
    }
    const ac = new AbortController();
    const scope = { vars: new Map(), builtins: {} };
    const panel = (instant: boolean): PanelModel => ({
      id: 1,
      type: instant ? 'table' : 'timeseries',
      gridPos: { x: 0, y: 0, w: 24, h: 10 },
      targets: [{ refId: 'A', expr, instant, range: !instant, format: instant ? 'table' : 'time_series', exemplar: exemplars }],
      options: { legend: { displayMode: 'list', showLegend: true }, tooltip: { mode: 'multi' } },
    });
    setLoading(true);
    setError(null);
    const t0 = performance.now();
    const width = Math.max(300, window.innerWidth - 80);
    const jobs = [
      mode !== 'instant' ? runPanel(panel(false), { range, scope, widthPx: width, signal: ac.signal }) : Promise.resolve(null),
      mode !== 'range' ? runPanel(panel(true), { range, scope, widthPx: width, signal: ac.signal }) : Promise.resolve(null),
    ];
    Promise.all(jobs)
      .then(([g, t]) => {
        if (ac.signal.aborted) return;
        setGraph(g);
        setTable(t);
        setTook(performance.now() - t0);
      })
      .catch((e: Error) => {
        if (ac.signal.aborted || e.name === 'AbortError') return;
        setGraph(null);
        setTable(null);
        setError({ msg: e.message, type: e instanceof ApiError ? e.errorType : undefined });
      })
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [expr, range.from, range.to, mode, exemplars]);

  const runNow = () => {
    if (draft === expr) setRun((r) => r + 1);
    else set({ expr: draft }, true);
  };
  const warnings = [...new Set([...(graph?.warnings ?? []), ...(table?.warnings ?? [])])];
  const infos = [...new Set([...(graph?.infos ?? []), ...(table?.infos ?? [])])];
  const graphPanel: PanelModel = { id: 1, type: 'timeseries', gridPos: { x: 0, y: 0, w: 24, h: 10 }, options: { legend: { displayMode: 'list' } } };
  const tablePanel: PanelModel = { id: 2, type: 'table', gridPos: { x: 0, y: 0, w: 24, h: 10 } };
  return (
    <div class="page explore">
      <div class="toolbar">
        <h1>Explore</h1>
        <div class="toolbar-right">
          <TimePicker range={range} onChange={(f, t) => set({ from: f, to: t }, true)} />
        </div>
      </div>
      <div class="explore-query">
        <QueryEditor value={draft} onChange={setDraft} onRun={runNow} />
        <div class="explore-options">
          <div class="radio-group" role="radiogroup" aria-label="Query type">
            {(['range', 'instant', 'both'] as Mode[]).map((m) => (
              <button key={m} class={'btn' + (mode === m ? ' active' : '')} onClick={() => set({ mode: m })} aria-pressed={mode === m}>
                {m === 'both' ? 'Both' : m === 'range' ? 'Range' : 'Instant'}
              </button>
            ))}
          </div>
          <label class="check">
            <input type="checkbox" checked={exemplars} onChange={(e) => set({ exemplars: (e.target as HTMLInputElement).checked ? '1' : null })} />
            Exemplars
          </label>
          <button class="btn primary run-query" onClick={runNow} disabled={loading}>
            {loading ? 'Running…' : 'Run query'}
          </button>
          {took !== null && !loading && <span class="muted small">{Math.round(took)} ms</span>}
        </div>
      </div>
      {error && (
        <div class="query-error" role="alert">
          {error.type && <span class="error-type">{error.type}</span>}
          {error.msg}
        </div>
      )}
      {warnings.map((w) => (
        <div class="query-warning" key={w}>
          Warning: {w}
        </div>
      ))}
      {infos.map((w) => (
        <div class="query-info" key={w}>
          Info: {w}
        </div>
      ))}
      {graph && (
        <section class="explore-graph" data-state={graph.frames.length ? 'done' : 'nodata'}>
          <h2>Graph</h2>
          {graph.frames.length ? (
            <div class="explore-chart">
              <TimeSeries
                panel={graphPanel}
                frames={graph.frames}
                exemplars={graph.exemplars}
                ctx={{ syncKey: null, sharedTooltip: false, range: { from: range.from, to: range.to }, onZoom: (f, t) => set({ from: String(f), to: String(t) }, true) }}
              />
            </div>
          ) : (
            <div class="panel-nodata">No data</div>
          )}
        </section>
      )}
      {table && (
        <section class="explore-table" data-state={table.frames.length ? 'done' : 'nodata'}>
          <h2>Table</h2>
          {table.frames.length ? <Table panel={tablePanel} frames={table.frames} /> : <div class="panel-nodata">No data</div>}
        </section>
      )}
    </div>
  );
}
