// Table panel: instant/table results (or the last value of each series) as rows, series of
// several queries merged by their labels into `Value #A`, `Value #B` columns; column
// overrides, cell coloring, data links, the `organize` transformation, sorting.

import { useState } from 'preact/hooks';
import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { formatDateTime } from '../lib/time';
import { navigate } from '../router';
import { display, displayText, FieldCfg, fieldConfig, thresholdColor } from './fieldConfig';
import { buildTable, Cell, transform } from './tableModel';

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
