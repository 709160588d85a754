// The list of provisioned dashboards, by folder, with a search box and tag filter.

import { useEffect, useState } from 'preact/hooks';
import * as api from './lib/api';
import { linkClick } from './router';

export function DashboardList() {
  const [list, setList] = useState<api.DashboardSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  useEffect(() => {
    api
      .listDashboards()
      .then(setList)
      .catch((e: Error) => setError(e.message));
  }, []);
  if (error) return <div class="page page-error">{error}</div>;
  if (!list) return <div class="page muted">Loading…</div>;
  const f = filter.toLowerCase();
  const shown = list.filter((d) => !f || d.title.toLowerCase().includes(f) || d.tags.some((t) => t.toLowerCase().includes(f)));
  const folders = [...new Set(shown.map((d) => d.folder))];
  return (
    <div class="page">
      <div class="toolbar">
        <h1>Dashboards</h1>
        <input class="search" placeholder="Search dashboards by name or tag" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      </div>
      {list.length === 0 && (
        <p class="muted">
          No dashboards are provisioned. Put Grafana dashboard JSON files in the folder set by <code>ui.dashboards</code>.
        </p>
      )}
      {folders.map((folder) => (
        <div class="dash-folder" key={folder}>
          <h2>{folder || 'General'}</h2>
          <ul class="dash-list">
            {shown
              .filter((d) => d.folder === folder)
              .map((d) => (
                <li key={d.file}>
                  {d.error ? (
                    <span class="dash-broken" title={d.error}>
                      {d.title} <span class="error-text">— {d.error} ({d.file})</span>
                    </span>
                  ) : (
                    <a href={'/d/' + encodeURIComponent(d.uid)} onClick={(e) => linkClick(e, '/d/' + encodeURIComponent(d.uid))}>
                      {d.title}
                    </a>
                  )}
                  {d.tags.map((t) => (
                    <span class="tag" key={t} onClick={() => setFilter(t)}>
                      {t}
                    </span>
                  ))}
                </li>
              ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
