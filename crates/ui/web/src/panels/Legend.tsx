// Series legend: a list, or a table with the legend calcs; click a name to show only it.

import { useState } from 'preact/hooks';

export interface LegendItem {
  index: number;
  name: string;
  color: string;
  hidden: boolean;
  calcs: { name: string; text: string }[];
}

export function Legend({
  items,
  table,
  calcNames,
  onToggle,
}: {
  items: LegendItem[];
  table: boolean;
  calcNames: string[];
  onToggle: (index: number) => void;
}) {
  const [sortBy, setSortBy] = useState<number | null>(null);
  const [only, setOnly] = useState<number | null>(null);
  const click = (i: number) => {
    setOnly(only === i ? null : i);
    onToggle(i);
  };
  const dim = (i: number) => (only !== null && only !== i ? ' dim' : '');
  const shown = items.filter((i) => !i.hidden);
  if (table) {
    const rows = [...shown];
    if (sortBy !== null) rows.sort((a, b) => parseFloat(b.calcs[sortBy].text) - parseFloat(a.calcs[sortBy].text));
    return (
      <div class="legend legend-table">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              {calcNames.map((c, i) => (
                <th key={c} onClick={() => setSortBy(sortBy === i ? null : i)} class="sortable">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((it) => (
              <tr key={it.name} class={'legend-row' + dim(it.index)} onClick={() => click(it.index)}>
                <td>
                  <span class="swatch" style={{ background: it.color }} />
                  {it.name}
                </td>
                {it.calcs.map((c) => (
                  <td key={c.name}>{c.text}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <div class="legend legend-list">
      {shown.map((it) => (
        <span class={'legend-item' + dim(it.index)} key={it.name} onClick={() => click(it.index)}>
          <span class="swatch" style={{ background: it.color }} />
          {it.name}
          {it.calcs.map((c) => (
            <span class="legend-calc" key={c.name}>
              {' '}
              {c.name}: <b>{c.text}</b>
            </span>
          ))}
        </span>
      ))}
    </div>
  );
}
