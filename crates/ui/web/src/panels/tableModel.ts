// The rows and columns of a table panel, built from query frames, and the transformations
// applied to them.

import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { reduce } from './fieldConfig';

export type Cell = string | number | null;

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

