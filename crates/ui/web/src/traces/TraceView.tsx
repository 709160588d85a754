// One trace as a waterfall: collapsible span tree, timing bars with the critical path,
// errors in red, span details (attributes, events, links, resource), and a link from each
// service to its RED dashboard.

import { useEffect, useMemo, useState } from 'preact/hooks';
import * as api from '../lib/api';
import { formatDateTime, formatMicros } from '../lib/time';
import { linkClick } from '../router';
import { buildTree, JTrace, KeyValue, serviceColor, SpanNode, tagValue, Tree } from './model';

/** Uid of the shipped RED dashboard; its `service` variable takes the service name. */
export const RED_DASHBOARD = 'pharos-red';

export function redLink(service: string, startUs?: number, endUs?: number): string {
  const q = new URLSearchParams({ 'var-service': service });
  if (startUs && endUs) {
    // The trace's time, with some context around it.
    const pad = Math.max(15 * 60_000, (endUs - startUs) / 1000);
    q.set('from', String(Math.round(startUs / 1000 - pad)));
    q.set('to', String(Math.round(endUs / 1000 + pad)));
  }
  return `/d/${RED_DASHBOARD}?${q}`;
}

export function TraceView({ id }: { id: string }) {
  const [trace, setTrace] = useState<JTrace | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setTrace(null);
    setError(null);
    if (!/^[0-9a-fA-F]{1,32}$/.test(id)) {
      setError(`"${id}" is not a trace id (1 to 32 hexadecimal digits)`);
      return;
    }
    api
      .jaegerTrace(id)
      .then((t) => (t ? setTrace(t) : setError(`Trace ${id} was not found`)))
      .catch((e: api.ApiError) => setError(e.status === 404 ? `Trace ${id} was not found` : e.message));
  }, [id]);
  const tree = useMemo(() => (trace ? buildTree(trace) : null), [trace]);
  if (error)
    return (
      <div class="page">
        <div class="page-error" role="alert">
          {error}
        </div>
        <a href="/traces" onClick={(e) => linkClick(e, '/traces')}>
          Search traces
        </a>
      </div>
    );
  if (!tree) return <div class="page muted">Loading trace…</div>;
  return <Waterfall tree={tree} trace={trace!} />;
}

function Waterfall({ tree, trace }: { tree: Tree; trace: JTrace }) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [showCritical, setShowCritical] = useState(true);
  const total = Math.max(1, tree.end - tree.start);
  const root = tree.roots[0];
  const hidden = new Set<SpanNode>();
  for (const n of tree.ordered) if (n.parent && (hidden.has(n.parent) || collapsed.has(n.parent.span.spanID))) hidden.add(n);
  const visible = tree.ordered.filter((n) => !hidden.has(n));
  const toggle = (set: Set<string>, id: string, f: (s: Set<string>) => void) => {
    const s = new Set(set);
    s.has(id) ? s.delete(id) : s.add(id);
    f(s);
  };
  const pct = (us: number) => `${(((us - tree.start) / total) * 100).toFixed(3)}%`;
  const width = (us: number) => `${Math.max(0.1, (us / total) * 100).toFixed(3)}%`;
  return (
    <div class="page trace-view" data-trace-id={tree.traceID}>
      <div class="toolbar">
        <h1>
          <span style={{ color: serviceColor(root?.service ?? '') }}>{root?.service}</span>: {root?.span.operationName}{' '}
          <span class="muted small">{tree.traceID}</span>
        </h1>
        <div class="toolbar-right">
          <label class="check">
            <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical((e.target as HTMLInputElement).checked)} />
            Critical path
          </label>
          <button class="btn" onClick={() => setCollapsed(new Set(tree.ordered.filter((n) => n.children.length && n.depth >= 1).map((n) => n.span.spanID)))}>
            Collapse
          </button>
          <button class="btn" onClick={() => setCollapsed(new Set())}>
            Expand all
          </button>
        </div>
      </div>
      <div class="trace-meta">
        <span>
          Start <b>{formatDateTime(tree.start / 1000)}</b>
        </span>
        <span>
          Duration <b>{formatMicros(total)}</b>
        </span>
        <span>
          Services <b>{tree.services.length}</b>
        </span>
        <span>
          Depth <b>{tree.depth}</b>
        </span>
        <span>
          Spans <b>{tree.ordered.length}</b>
        </span>
        {tree.errors > 0 && (
          <span class="error-text">
            Errors <b>{tree.errors}</b>
          </span>
        )}
      </div>
      <div class="trace-services">
        {tree.services.map((s) => (
          <a key={s.name} class="svc-chip red-link" href={redLink(s.name, tree.start, tree.end)} onClick={(e) => linkClick(e, redLink(s.name, tree.start, tree.end))} style={{ borderColor: serviceColor(s.name) }} title={`RED dashboard of ${s.name}`}>
            {s.name} ({s.count}) · RED dashboard →
          </a>
        ))}
      </div>
      {(trace.warnings ?? []).map((w) => (
        <div class="query-warning" key={w}>
          {w}
        </div>
      ))}
      <div class="waterfall" role="tree">
        <div class="wf-ruler">
          <div class="wf-name-col">Service &amp; operation</div>
          <div class="wf-bar-col">
            {[0, 0.25, 0.5, 0.75, 1].map((f) => (
              <span key={f} class="wf-tick" style={{ left: `${f * 100}%` }}>
                {formatMicros(total * f)}
              </span>
            ))}
          </div>
        </div>
        {visible.map((n) => {
          const s = n.span;
          const isOpen = open.has(s.spanID);
          const kids = n.children.length;
          const isCollapsed = collapsed.has(s.spanID);
          return (
            <div key={s.spanID} class={'wf-span' + (n.error ? ' error' : '')} role="treeitem" aria-expanded={kids ? !isCollapsed : undefined} data-span-id={s.spanID}>
              <div class="wf-row" onClick={() => toggle(open, s.spanID, setOpen)}>
                <div class="wf-name-col" style={{ paddingLeft: `${n.depth * 14 + 4}px` }}>
                  {kids ? (
                    <button
                      class="wf-toggle"
                      aria-label={isCollapsed ? 'Expand' : 'Collapse'}
                      onClick={(e) => {
                        e.stopPropagation();
                        toggle(collapsed, s.spanID, setCollapsed);
                      }}
                    >
                      {isCollapsed ? '▸' : '▾'}
                    </button>
                  ) : (
                    <span class="wf-toggle-space" />
                  )}
                  <span class="wf-svc-mark" style={{ background: serviceColor(n.service) }} />
                  {n.error && <span class="wf-error-icon" title="Error">!</span>}
                  <span class="wf-svc">{n.service}</span> <span class="wf-op">{s.operationName}</span>
                  {isCollapsed && <span class="muted small"> ({kids})</span>}
                </div>
                <div class="wf-bar-col">
                  <div class="wf-bar" style={{ left: pct(s.startTime), width: width(s.duration), background: n.error ? '#F2495C' : serviceColor(n.service) }}>
                    {showCritical &&
                      n.critical.map(([a, b], i) => (
                        <span
                          key={i}
                          class="wf-critical"
                          title="Critical path"
                          style={{ left: `${((a - s.startTime) / Math.max(1, s.duration)) * 100}%`, width: `${((b - a) / Math.max(1, s.duration)) * 100}%` }}
                        />
                      ))}
                  </div>
                  <span class="wf-dur" style={{ left: `calc(${pct(s.startTime + s.duration)} + 4px)` }}>
                    {formatMicros(s.duration)}
                  </span>
                </div>
              </div>
              {isOpen && <SpanDetails node={n} trace={trace} traceStart={tree.start} />}
            </div>
          );
        })}
      </div>
    </div>
  );
}

function KvTable({ items }: { items: KeyValue[] }) {
  if (!items.length) return <div class="muted small">none</div>;
  return (
    <table class="kv">
      <tbody>
        {items.map((kv, i) => (
          <tr key={kv.key + i}>
            <td class="kv-key">{kv.key}</td>
            <td class="kv-value">{typeof kv.value === 'object' ? JSON.stringify(kv.value) : String(kv.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SpanDetails({ node, trace, traceStart }: { node: SpanNode; trace: JTrace; traceStart: number }) {
  const s = node.span;
  const process = trace.processes?.[s.processID];
  const links = (s.references ?? []).filter((r) => !(r.refType === 'CHILD_OF' && r.spanID === node.parent?.span.spanID));
  const kind = tagValue(s, 'span.kind');
  return (
    <div class="span-details">
      <div class="sd-head">
        <b>{s.operationName}</b>
        <span>
          Service: <a href={redLink(node.service, s.startTime, s.startTime + s.duration)} onClick={(e) => linkClick(e, redLink(node.service, s.startTime, s.startTime + s.duration))}>{node.service}</a>
        </span>
        <span>Duration: {formatMicros(s.duration)}</span>
        <span>Start: {formatMicros(s.startTime - traceStart)}</span>
        {kind && <span>Kind: {kind}</span>}
        <span class="muted">Span ID: {s.spanID}</span>
      </div>
      {node.critical.length > 0 && (
        <div class="small">
          On the critical path for {formatMicros(node.critical.reduce((a, [x, y]) => a + (y - x), 0))}
        </div>
      )}
      <details open>
        <summary>Attributes ({(s.tags ?? []).length})</summary>
        <KvTable items={s.tags ?? []} />
      </details>
      <details open={(s.logs ?? []).length > 0}>
        <summary>Events ({(s.logs ?? []).length})</summary>
        {(s.logs ?? []).map((l, i) => (
          <div class="sd-event" key={i}>
            <div class="muted small">{formatMicros(l.timestamp - traceStart)}</div>
            <KvTable items={l.fields} />
          </div>
        ))}
      </details>
      <details open={links.length > 0}>
        <summary>Links ({links.length})</summary>
        {links.map((r, i) => (
          <div key={i} class="small">
            {r.refType}{' '}
            <a href={`/trace/${r.traceID}`} onClick={(e) => linkClick(e, `/trace/${r.traceID}`)}>
              trace {r.traceID.slice(0, 16)}… span {r.spanID}
            </a>
          </div>
        ))}
      </details>
      <details>
        <summary>Resource ({(process?.tags ?? []).length})</summary>
        <KvTable items={process?.tags ?? []} />
      </details>
      {(s.warnings ?? []).length > 0 && (
        <details open>
          <summary>Warnings</summary>
          {s.warnings!.map((w) => (
            <div key={w} class="query-warning">
              {w}
            </div>
          ))}
        </details>
      )}
    </div>
  );
}
