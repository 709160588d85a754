// The benchmark dashboard: 20 panels (16 time series, 4 stats) over RED and node metrics.

export function benchDashboard() {
  const H = 'http_server_request_duration_seconds';
  const exprs = [
    [`sum by (http_route) (rate(${H}_count[$__rate_interval]))`, '{{http_route}}', 'reqps'],
    [`sum by (job) (rate(${H}_count[$__rate_interval]))`, '{{job}}', 'reqps'],
    [`sum by (http_response_status_code) (rate(${H}_count[$__rate_interval]))`, '{{http_response_status_code}}', 'reqps'],
    [`histogram_quantile(0.5, sum by (le) (rate(${H}_bucket[$__rate_interval])))`, 'p50', 's'],
    [`histogram_quantile(0.95, sum by (le) (rate(${H}_bucket[$__rate_interval])))`, 'p95', 's'],
    [`histogram_quantile(0.99, sum by (job, le) (rate(${H}_bucket[$__rate_interval])))`, 'p99 {{job}}', 's'],
    [`sum by (job) (rate(${H}_sum[$__rate_interval])) / sum by (job) (rate(${H}_count[$__rate_interval]))`, 'mean {{job}}', 's'],
    [`sum by (http_route) (rate(${H}_count{http_response_status_code="500"}[$__rate_interval]))`, '{{http_route}}', 'reqps'],
    [`1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))`, '{{instance}}', 'percentunit'],
    [`sum by (mode) (rate(node_cpu_seconds_total{mode!="idle"}[$__rate_interval]))`, '{{mode}}', 'short'],
    [`node_memory_MemAvailable_bytes`, '{{instance}}', 'bytes'],
    [`node_load1`, '{{instance}}', 'short'],
    [`rate(node_disk_read_bytes_total[$__rate_interval])`, '{{instance}}', 'Bps'],
    [`rate(node_disk_written_bytes_total[$__rate_interval])`, '{{instance}}', 'Bps'],
    [`rate(node_network_receive_bytes_total{device="eth0"}[$__rate_interval])`, '{{instance}}', 'Bps'],
    [`rate(node_network_transmit_bytes_total{device="eth0"}[$__rate_interval])`, '{{instance}}', 'Bps'],
  ];
  const panels = [];
  let id = 1;
  const stats = [
    [`sum(rate(${H}_count[$__rate_interval]))`, 'reqps', 'Requests'],
    [`sum(node_memory_MemTotal_bytes)`, 'bytes', 'Memory'],
    [`count(node_uname_info)`, 'none', 'Hosts'],
    [`histogram_quantile(0.99, sum by (le) (rate(${H}_bucket[$__rate_interval])))`, 's', 'p99'],
  ];
  stats.forEach(([expr, unit, title], i) =>
    panels.push({ id: id++, type: 'stat', title, gridPos: { x: i * 6, y: 0, w: 6, h: 4 }, targets: [{ refId: 'A', expr }], fieldConfig: { defaults: { unit }, overrides: [] } }),
  );
  exprs.forEach(([expr, legendFormat, unit], i) =>
    panels.push({
      id: id++,
      type: 'timeseries',
      title: `Panel ${i + 1}`,
      gridPos: { x: (i % 3) * 8, y: 4 + Math.floor(i / 3) * 7, w: 8, h: 7 },
      targets: [{ refId: 'A', expr, legendFormat }],
      fieldConfig: { defaults: { unit }, overrides: [] },
      options: { legend: { displayMode: 'list', calcs: ['mean'] } },
    }),
  );
  return { uid: 'bench-20', title: 'Benchmark: 20 panels', tags: ['bench'], time: { from: 'now-24h', to: 'now' }, graphTooltip: 1, panels, templating: { list: [] } };
}
