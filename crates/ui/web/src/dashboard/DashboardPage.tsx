// A dashboard: variables, time and refresh pickers, rows (collapsible) of panels, URL state
// (`from`, `to`, `var-x`, `refresh`, `viewPanel`) so a link reproduces the view.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { RefreshPicker, TimePicker } from '../components/TimePicker';
import { VariableBar } from '../components/VariableBar';
import * as api from '../lib/api';
import { parseDuration, resolveRange, TimeRange } from '../lib/time';
import { Panel } from '../panels/Panel';
import { linkClick, pushQuery, replaceQuery, useLocation } from '../router';
import { CELL_GAP, CELL_HEIGHT, heightPx, place } from './layout';
import { Dashboard, normalise, Section } from './model';
import { dependents, effectiveScope, initState, interpolate, loadOptions, pickValue, Scope, VarState } from './variables';

export function DashboardPage({ uid }: { uid: string }) {
  const [dash, setDash] = useState<Dashboard | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A layout effect starts the request right after the first render, not after a paint.
  useLayoutEffect(() => {
    setDash(null);
    setError(null);
    api
      .getDashboard(uid)
      .then((raw) => setDash(normalise(raw)))
      .catch((e: Error) => setError(e.message));
  }, [uid]);
  if (error)
    return (
      <div class="page">
        <div class="page-error">{error}</div>
      </div>
    );
  if (!dash) return <div class="page muted">Loading dashboard…</div>;
  return <DashboardView key={uid} dash={dash} />;
}

function urlVars(q: URLSearchParams): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const [k, v] of q) if (k.startsWith('var-')) m.set(k.slice(4), [...(m.get(k.slice(4)) ?? []), v]);
  return m;
}

function DashboardView({ dash }: { dash: Dashboard }) {
  const { query } = useLocation();
  const from = query.get('from') ?? dash.time.from;
  const to = query.get('to') ?? dash.time.to;
  const refresh = query.get('refresh') ?? dash.refresh;
  const viewPanel = query.get('viewPanel');
  const [tick, setTick] = useState(0);
  const range: TimeRange = useMemo(() => resolveRange(from, to) ?? resolveRange('now-6h', 'now')!, [from, to, tick]);
  const badRange = !resolveRange(from, to);

  // ---- variables ----
  const [vars, setVars] = useState<VarState[]>(() => dash.templating.filter((m) => m?.name).map(initState));
  const [ready, setReady] = useState(vars.length === 0);
  const varsRef = useRef(vars);
  varsRef.current = vars;

  const scopeOf = (vs: VarState[], r: TimeRange): Scope =>
    effectiveScope(vs, r, { __dashboard: dash.title });

  /** Reloads the options of the variables at `indexes` (in order), keeping or picking values. */
  const reload = async (indexes: number[], wanted: Map<string, string[]>, r: TimeRange) => {
    let vs = [...varsRef.current];
    for (const i of indexes) {
      const v: VarState = { ...vs[i], loading: true, error: undefined };
      try {
        v.options = await loadOptions(v, scopeOf(vs, r), r);
      } catch (e) {
        v.options = [];
        v.error = (e as Error).message;
      }
      v.loading = false;
      v.value = pickValue(v, wanted.get(v.name) ?? (v.value.length ? v.value : null));
      vs = vs.map((x, j) => (j === i ? v : x));
      varsRef.current = vs;
      setVars(vs);
    }
    return vs;
  };

  const writeVarsToUrl = (vs: VarState[]) => {
    const q = new URLSearchParams(location.search);
    for (const k of [...q.keys()]) if (k.startsWith('var-')) q.delete(k);
    for (const v of vs) if (v.type !== 'constant') for (const val of v.value) q.append('var-' + v.name, val);
    replaceQuery(q);
  };

  useLayoutEffect(() => {
    const wanted = urlVars(new URLSearchParams(location.search));
    reload(
      vars.map((_, i) => i),
      wanted,
      range,
    ).then((vs) => {
      setReady(true);
      writeVarsToUrl(vs);
    });
  }, []);

  // Variables with `refresh: 2` reload when the time range changes.
  const lastRaw = useRef(`${from}|${to}`);
  useEffect(() => {
    if (!ready || lastRaw.current === `${from}|${to}`) return;
    lastRaw.current = `${from}|${to}`;
    const idx = varsRef.current.map((v, i) => (v.model.refresh === 2 ? i : -1)).filter((i) => i >= 0);
    if (idx.length) reload(idx, new Map(), range);
  }, [from, to, ready]);

  const onVarChange = async (name: string, value: string[]) => {
    const vs = varsRef.current.map((v) => (v.name === name ? { ...v, value } : v));
    varsRef.current = vs;
    setVars(vs);
    const after = await reload(dependents(vs, name), new Map(), range);
    writeVarsToUrl(after);
  };

  // ---- time and refresh ----
  const setTime = (f: string, t: string) => {
    const q = new URLSearchParams(location.search);
    q.set('from', f);
    q.set('to', t);
    pushQuery(q);
  };
  const setRefresh = (r: string) => {
    const q = new URLSearchParams(location.search);
    if (r) q.set('refresh', r);
    else q.delete('refresh');
    replaceQuery(q);
  };
  useEffect(() => {
    const ms = refresh ? parseDuration(refresh) : null;
    if (!ms || ms < 1000) return;
    const id = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(id);
  }, [refresh]);

  // ---- layout ----
  const grid = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1200);
  useEffect(() => {
    const el = grid.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, [ready]);
  const [collapsed, setCollapsed] = useState<Record<number, boolean>>(() =>
    Object.fromEntries(dash.sections.filter((s) => s.row).map((s) => [s.row!.id, !!s.row!.collapsed])),
  );
  const scope = useMemo(() => scopeOf(vars, range), [vars, range]);
  const colWidth = (width - 23 * CELL_GAP) / 24;
  const chart = {
    syncKey: dash.graphTooltip > 0 ? 'dash-' + dash.uid : null,
    sharedTooltip: dash.graphTooltip === 2,
    onZoom: (f: number, t: number) => setTime(String(f), String(t)),
  };
  const setView = (id: number | null) => {
    const q = new URLSearchParams(location.search);
    if (id === null) q.delete('viewPanel');
    else q.set('viewPanel', String(id));
    pushQuery(q);
  };

  const renderSection = (s: Section, si: number) => {
    const isCollapsed = s.row ? collapsed[s.row.id] : false;
    const placed = isCollapsed ? [] : place(s.panels, scope);
    const rows = placed.reduce((m, p) => Math.max(m, p.y + p.h), 0);
    return (
      <div class="dash-section" key={s.row?.id ?? 'top-' + si}>
        {s.row && (
          <button
            class={'row-header' + (isCollapsed ? ' collapsed' : '')}
            onClick={() => setCollapsed({ ...collapsed, [s.row!.id]: !isCollapsed })}
            aria-expanded={!isCollapsed}
          >
            <span class="row-caret">{isCollapsed ? '▸' : '▾'}</span> {interpolate(s.row.title ?? '', scope, false)}
            {isCollapsed && <span class="muted small"> ({s.panels.length} panels)</span>}
          </button>
        )}
        {placed.length > 0 && (
          <div class="dash-grid" style={{ gridTemplateRows: `repeat(${rows}, ${CELL_HEIGHT}px)` }}>
            {placed.map((p) => (
              <div key={p.key} class="grid-item" style={{ gridColumn: `${p.x + 1} / span ${p.w}`, gridRow: `${p.y + 1} / span ${p.h}` }}>
                <Panel
                  panel={p.panel}
                  range={range}
                  scope={p.scope}
                  tick={tick}
                  chart={chart}
                  heightPx={heightPx(p.h)}
                  widthPx={colWidth * p.w}
                  onView={() => setView(p.panel.id)}
                />
              </div>
            ))}
          </div>
        )}
      </div>
    );
  };

  const viewed = viewPanel ? dash.sections.flatMap((s) => s.panels).find((p) => String(p.id) === viewPanel) : null;
  return (
    <div class="page dashboard" data-uid={dash.uid}>
      <div class="toolbar">
        <h1 class="dash-title">
          <a href="/dashboards" onClick={(e) => linkClick(e, '/dashboards')} class="muted">
            Dashboards
          </a>{' '}
          / {dash.title}
        </h1>
        <div class="toolbar-right">
          <DashLinks dash={dash} scope={scope} />
          <TimePicker range={range} onChange={setTime} />
          <RefreshPicker value={refresh} onChange={setRefresh} onRefresh={() => setTick((t) => t + 1)} intervals={dash.timepickerIntervals} />
        </div>
      </div>
      {badRange && <div class="page-error">The time range {from} to {to} is not valid; showing the last 6 hours.</div>}
      <VariableBar vars={vars} onChange={onVarChange} />
      <div ref={grid} class="dash-body">
        {!ready ? (
          <div class="muted">Loading variables…</div>
        ) : viewed ? (
          <Panel
            panel={viewed}
            range={range}
            scope={scope}
            tick={tick}
            chart={chart}
            heightPx={Math.max(300, window.innerHeight - 200)}
            widthPx={width}
            onView={() => setView(null)}
            viewing
          />
        ) : (
          dash.sections.map(renderSection)
        )}
      </div>
    </div>
  );
}

/** Dashboard links: `link` (a URL, variables interpolated) and `dashboards` (by tags). */
function DashLinks({ dash, scope }: { dash: Dashboard; scope: Scope }) {
  const [list, setList] = useState<api.DashboardSummary[]>([]);
  const byTags = dash.links.filter((l) => l.type === 'dashboards');
  useEffect(() => {
    if (byTags.length) api.listDashboards().then(setList).catch(() => setList([]));
  }, [dash.uid]);
  const out: { title: string; url: string; blank: boolean }[] = [];
  for (const l of dash.links) {
    if (l.type === 'link' && l.url) out.push({ title: l.title || l.url, url: interpolate(l.url, scope, false), blank: !!l.targetBlank });
    if (l.type === 'dashboards') {
      const tags: string[] = l.tags ?? [];
      for (const d of list)
        if (d.uid !== dash.uid && !d.error && tags.every((t) => d.tags.includes(t)))
          out.push({ title: d.title, url: '/d/' + encodeURIComponent(d.uid), blank: !!l.targetBlank });
    }
  }
  return (
    <>
      {out.map((l) => (
        <a
          class="btn dash-link"
          href={l.url}
          key={l.url}
          target={l.blank ? '_blank' : undefined}
          onClick={(e) => !l.blank && l.url.startsWith('/') && linkClick(e, l.url)}
        >
          {l.title}
        </a>
      ))}
    </>
  );
}
