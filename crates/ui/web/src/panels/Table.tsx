// Table panel: instant/table results (or the last value of each series) as rows, series of
// several queries merged by their labels into `Value #A`, `Value #B` columns; column
// overrides, cell coloring, data links, the `organize` transformation, sorting.

import { useState } from 'preact/hooks';
import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { formatDateTime } from '../lib/time';
import { navigate } from '../router';
import { display, displayText, FieldCfg, fieldConfig, reduce, thresholdColor } from './fieldConfig';

type Cell = string | number | null;

export interface TableModel {
  columns: string[];
  rows: Cell[][];
  /** Columns holding numbers (values), by name. */
  numeric: Set<string>;
}

/**
 * Builds the table Grafana would show for these frames with its `merge` transformation:
 * one row per value of the labels every frame has (one row per series when there is a
 * single query), one `Value #<ref>` column per query, other labels as columns.
 */
export function buildTable(frames: Frame[]): TableModel {
  const refs = [...new Set(frames.map((f) => f.refId))];
  const labelKeys = new Set<string>();
  for (const f of frames) for (const k of Object.keys(f.labels)) labelKeys.add(k);
  const keys = [...labelKeys].sort((a, b) => (a === '__name__' ? -1 : b === '__name__' ? 1 : a.localeCompare(b)));
  const join = refs.length > 1 ? keys.filter((k) => k !== '__name__' && frames.every((f) => k in f.labels)) : keys;
  const valueCol = (ref: string) => (refs.length > 1 ? `Value #${ref}` : 'Value');
  const rows = new Map<string, Cell[]>();
  const columns = ['Time', ...keys, ...refs.map(valueCol)];
  for (const f of frames) {
    const id = join.map((k) => f.labels[k] ?? '').join('\u0000') + (refs.length > 1 ? '' : '\u0000' + rows.size);
    let row = rows.get(id);
    if (!row) {
      row = [null, ...keys.map(() => ''), ...refs.map(() => null)];
      rows.set(id, row);
    }
    keys.forEach((k, i) => {
      if (!row![1 + i] && f.labels[k] !== undefined) row![1 + i] = f.labels[k];
    });
    row[1 + keys.length + refs.indexOf(f.refId)] = reduce(f.values, 'lastNotNull');
    const last = f.times[f.times.length - 1];
    if (last !== undefined) row[0] = Math.max((row[0] as number) ?? 0, last);
  }
  return { columns, rows: [...rows.values()], numeric: new Set(refs.map(valueCol)) };
}

/** Applies `organize` (exclude, rename, order); other transformations are reported. */
export function transform(t: TableModel, panel: Panel): { table: TableModel; unsupported: string[] } {
  let { columns, rows } = t;
  const numeric = new Set(t.numeric);
  const unsupported: string[] = [];
  for (const tr of panel.transformations ?? []) {
    if (tr.disabled) continue;
    if (tr.id === 'organize') {
      const o = tr.options ?? {};
      const keep = columns.map((c, i) => [c, i] as const).filter(([c]) => !o.excludeByName?.[c]);
      if (o.indexByName && Object.keys(o.indexByName).length)
        keep.sort(([a], [b]) => (o.indexByName[a] ?? 1e9) - (o.indexByName[b] ?? 1e9));
      rows = rows.map((r) => keep.map(([, i]) => r[i]));
      columns = keep.map(([c]) => {
        const n = o.renameByName?.[c];
        if (n && numeric.has(c)) numeric.add(n);
        return n || c;
      });
    } else if (!['merge', 'seriesToColumns', 'joinByField', 'labelsToFields', 'seriesToRows'].includes(tr.id)) {
      unsupported.push(tr.id);
    }
  }
  return { table: { columns, rows, numeric }, unsupported };
}

function linkUrl(url: string, value: Cell, row: Cell[], columns: string[]): string {
  return url
    .replace(/\$\{__value\.(raw|text)\}/g, encodeURIComponent(String(value ?? '')))
    .replace(/\$\{__data\.fields\[?"?([^"\]}]+)"?\]?\}/g, (_, name) => {
      const i = columns.indexOf(name);
      return encodeURIComponent(String(i >= 0 ? (row[i] ?? '') : ''));
    });
}

export function Table({ panel, frames }: { panel: Panel; frames: Frame[] }) {
  const { table, unsupported } = transform(buildTable(frames), panel);
  const initialSort = panel.options?.sortBy?.[0];
  const [sort, setSort] = useState<{ col: string; desc: boolean } | null>(
    initialSort ? { col: initialSort.displayName, desc: !!initialSort.desc } : null,
  );
  const showTime = table.columns.includes('Time') && table.rows.some((r) => r[table.columns.indexOf('Time')] !== null);
  const cfgs = new Map<string, FieldCfg>();
  for (const c of table.columns) {
    const pseudo = { ...frames[0], name: c, refId: c.startsWith('Value #') ? c.slice(7) : (frames[0]?.refId ?? 'A') };
    cfgs.set(c, fieldConfig(panel, pseudo));
  }
  const visibleCols = table.columns
    .map((c, i) => [c, i] as const)
    .filter(([c]) => !cfgs.get(c)?.custom?.hidden && (c !== 'Time' || showTime) && c !== '__name__');
  let rows = table.rows;
  if (sort) {
    const i = table.columns.indexOf(sort.col);
    if (i >= 0)
      rows = [...rows].sort((a, b) => {
        const x = a[i];
        const y = b[i];
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''), undefined, { numeric: true });
        return sort.desc ? -c : c;
      });
  }
  return (
    <div class="table-panel">
      {unsupported.length > 0 && <div class="panel-note">Transformations not applied: {unsupported.join(', ')}</div>}
      <table>
        <thead>
          <tr>
            {visibleCols.map(([c]) => {
              const cfg = cfgs.get(c)!;
              return (
                <th
                  key={c}
                  style={cfg.custom?.width ? { width: cfg.custom.width + 'px' } : undefined}
                  onClick={() => setSort(sort?.col === c ? (sort.desc ? null : { col: c, desc: true }) : { col: c, desc: false })}
                >
                  {cfg.displayName ?? c}
                  {sort?.col === c ? (sort.desc ? ' ↓' : ' ↑') : ''}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, ri) => (
            <tr key={ri}>
              {visibleCols.map(([c, i]) => {
                const v = r[i];
                const cfg = cfgs.get(c)!;
                const mode = cfg.custom?.cellOptions?.type ?? cfg.custom?.displayMode ?? 'auto';
                let text: string;
                let style: Record<string, string> | undefined;
                if (c === 'Time') text = v === null ? '' : formatDateTime(v as number);
                else if (typeof v === 'number' || (v === null && table.numeric.has(c))) {
                  const d = display(cfg, v as number | null);
                  // Grafana leaves cells without a value empty.
                  text = v === null && !d.color && !cfg.noValue ? '' : displayText(cfg, v as number | null);
                  const col = d.color ?? thresholdColor(cfg, v as number | null, cfg.min ?? 0, cfg.max ?? 100);
                  if (/color-background/.test(mode)) style = { background: col, color: '#fff' };
                  else if (/color-text/.test(mode)) style = { color: col };
                  else if (d.color) style = { color: d.color };
                } else {
                  const d = display(cfg, null);
                  text = String(v ?? '');
                  const mapped = cfg.mappings?.length ? d : null;
                  if (mapped && cfg.mappings!.some((m) => m.type === 'value' && m.options?.[text])) {
                    const hit = cfg.mappings!.find((m) => m.type === 'value' && m.options?.[text])!.options[text];
                    text = hit.text ?? text;
                  }
                }
                const link = cfg.links?.[0];
                return (
                  <td key={c} style={style}>
                    {link ? (
                      <a
                        href={linkUrl(link.url, v, r, table.columns)}
                        onClick={(e) => {
                          const href = linkUrl(link.url, v, r, table.columns);
                          if (href.startsWith('/')) {
                            e.preventDefault();
                            navigate(href);
                          }
                        }}
                      >
                        {text}
                      </a>
                    ) : (
                      text
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
