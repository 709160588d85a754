// A dashboard panel: runs its queries when the time range, variables or refresh tick
// change, and draws the result with the panel type's component. Types Pharos does not
// draw get a placeholder naming them.

import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { DRAWN_TYPES, Panel as PanelModel } from '../dashboard/model';
import { PanelData, runPanel } from '../dashboard/query';
import { interpolate, Scope } from '../dashboard/variables';
import { TimeRange } from '../lib/time';
import { panelRange } from '../dashboard/panelTime';
import { linkClick } from '../router';
import { BarGauge } from './BarGauge';
import { Gauge } from './Gauge';
import { Heatmap } from './Heatmap';
import { Stat } from './Stat';
import { Table } from './Table';
import { Text } from './Text';
import type { ChartContext } from './chartKit';
import { TimeSeries } from './TimeSeries';

interface Props {
  panel: PanelModel;
  range: TimeRange;
  scope: Scope;
  /** Changes on every refresh (manual or auto). */
  tick: number;
  chart: Omit<ChartContext, 'range'>;
  heightPx: number;
  widthPx: number;
  onView?: () => void;
  viewing?: boolean;
}

type State =
  | { kind: 'loading'; data?: PanelData }
  | { kind: 'done'; data: PanelData }
  | { kind: 'error'; message: string; data?: PanelData };

export function Panel({ panel, range: dashRange, scope, tick, chart, heightPx, widthPx, onView, viewing }: Props) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [inspect, setInspect] = useState(false);
  const { range, note } = panelRange(panel, dashRange, scope);
  const [started, setStarted] = useState(0);
  const title = interpolate(panel.title ?? '', scope, false);
  const drawn = DRAWN_TYPES.includes(panel.type);
  const needsData = drawn && panel.type !== 'text';
  const scopeKey = JSON.stringify([...scope.vars.values()].map((v) => [v.name, v.value, v.options.length]).concat([scope.builtins as any]));
  const width = useRef(widthPx);
  width.current = widthPx;

  // Queries start right after render (a layout effect), not after the next paint.
  useLayoutEffect(() => {
    if (!needsData) return;
    const ac = new AbortController();
    const t0 = performance.now();
    setStarted(t0);
    setState((s) => ({ kind: 'loading', data: s.kind !== 'error' ? s.data : undefined }));
    runPanel(panel, { range, scope, widthPx: width.current, signal: ac.signal })
      .then((data) => !ac.signal.aborted && setState({ kind: 'done', data }))
      .catch((e: Error) => {
        if (ac.signal.aborted || e.name === 'AbortError') return;
        setState({ kind: 'error', message: e.message });
      });
    return () => ac.abort();
  }, [panel, range.from, range.to, scopeKey, tick]);

  const chartCtx: ChartContext = { ...chart, range: { from: range.from, to: range.to } };
  const data = state.data;
  const frames = data?.frames ?? [];
  let body;
  let drawState: string;
  if (!drawn) {
    drawState = 'unsupported';
    body = (
      <div class="panel-placeholder">
        Panel type <b>{panel.originalType ?? panel.type}</b> is not supported by Pharos.
        <div class="muted">Supported: time series, graph, stat, gauge, bar gauge, table, heatmap, text.</div>
      </div>
    );
  } else if (panel.type === 'text') {
    drawState = 'done';
    body = <Text panel={panel} interpolate={(s) => interpolate(s, scope, false)} />;
  } else if (state.kind === 'error') {
    drawState = 'error';
    body = (
      <div class="panel-error" role="alert">
        {state.message}
      </div>
    );
  } else if (!data) {
    drawState = 'loading';
    body = <div class="panel-loading">Loading…</div>;
  } else if (!frames.length) {
    drawState = state.kind === 'loading' ? 'loading' : 'nodata';
    body = <div class="panel-nodata">No data</div>;
  } else {
    drawState = state.kind === 'loading' ? 'loading' : 'done';
    switch (panel.type) {
      case 'timeseries':
        body = <TimeSeries panel={panel} frames={frames} exemplars={data.exemplars} ctx={chartCtx} />;
        break;
      case 'stat':
        body = <Stat panel={panel} frames={frames} />;
        break;
      case 'gauge':
        body = <Gauge panel={panel} frames={frames} />;
        break;
      case 'bargauge':
        body = <BarGauge panel={panel} frames={frames} />;
        break;
      case 'table':
        body = <Table panel={panel} frames={frames} />;
        break;
      case 'heatmap':
        body = <Heatmap panel={panel} frames={frames} ctx={chartCtx} />;
        break;
    }
  }
  const firstExpr = panel.targets?.find((t) => !t.hide && t.expr)?.expr;
  const exploreHref = firstExpr
    ? `/explore?${new URLSearchParams({ expr: interpolate(firstExpr, { vars: scope.vars, builtins: { __rate_interval: '5m', __interval: '1m', __range: '1h', ...scope.builtins } }), from: range.raw.from, to: range.raw.to })}`
    : null;
  return (
    <section
      class={'panel panel-' + panel.type + (viewing ? ' viewing' : '')}
      style={{ height: heightPx + 'px' }}
      data-panel-id={panel.id}
      data-panel-type={panel.type}
      data-state={drawState}
      data-started={started}
    >
      <header class="panel-header">
        <span class="panel-title" title={panel.description ?? ''}>
          {title}
        </span>
        {note && <span class="panel-time-note">{note}</span>}
        {state.kind === 'loading' && needsData && <span class="spinner" aria-label="loading" />}
        {data?.warnings.length ? (
          <span class="panel-warn" title={data.warnings.join('\n')}>
            ⚠
          </span>
        ) : null}
        <span class="panel-actions">
          {(panel.links ?? []).map((l: { title?: string; url: string }, i: number) => {
            const url = interpolate(l.url ?? '', scope, false);
            return (
              <a key={i} href={url} onClick={(e) => url.startsWith('/') && linkClick(e, url)} title={l.title ?? url}>
                {l.title || 'Link'}
              </a>
            );
          })}
          {exploreHref && (
            <a href={exploreHref} onClick={(e) => linkClick(e, exploreHref)} title="Open the query in Explore">
              Explore
            </a>
          )}
          {needsData && (
            <button class="link" onClick={() => setInspect(!inspect)} title="The queries sent for this panel">
              Inspect
            </button>
          )}
          {onView && (
            <button class="link" onClick={onView} title={viewing ? 'Back to the dashboard' : 'View this panel alone'}>
              {viewing ? 'Back' : 'View'}
            </button>
          )}
        </span>
      </header>
      <div class="panel-body">
        {inspect && <Inspector data={data} onClose={() => setInspect(false)} />}
        {body}
      </div>
    </section>
  );
}

/** The queries a panel sent (after interpolation), with their step, and any warnings. */
function Inspector({ data, onClose }: { data?: PanelData; onClose: () => void }) {
  return (
    <div class="panel-inspect">
      <button class="link inspect-close" onClick={onClose} aria-label="Close">
        ×
      </button>
      {!data ? (
        <div class="muted">No queries have finished yet.</div>
      ) : (
        <>
          {data.queries.map((q) => (
            <div key={q.refId} class="inspect-query">
              <b>{q.refId}</b> {q.instant ? 'instant' : `range, step ${q.step}s`}
              <pre>{q.expr}</pre>
            </div>
          ))}
          {data.warnings.map((w) => (
            <div class="query-warning" key={w}>
              {w}
            </div>
          ))}
          <div class="muted small">
            {data.frames.length} series{data.exemplars.length ? `, ${data.exemplars.length} exemplars` : ''}
          </div>
        </>
      )}
    </div>
  );
}
