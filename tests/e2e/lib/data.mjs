// Test data, loaded through the real ingest endpoints:
// - HTTP server histograms of two services (remote-write, with exemplars pointing at traces),
// - node_exporter metrics of two hosts (text import with timestamps),
// - Pharos's own /metrics, replayed over the last hour (text import),
// - OTLP/JSON traces of the same services (some with errors, events and links).

import { encodeWriteRequest, snappyLiterals } from './remote_write.mjs';
import { TOKENS } from './server.mjs';

const HOUR = 3_600_000;
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (r, n) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

export const SERVICES = {
  frontend: { routes: ['/', '/api/search', '/product/{id}'], errorRoute: '/api/search', rate: 12 },
  checkout: { routes: ['/api/cart', '/api/checkout', '/api/items/{id}'], errorRoute: '/api/checkout', rate: 5 },
};

/** Minutes of data past `now`, so queries near "now" still find fresh samples while the
 * suite runs (the TSDB accepts samples up to 10 minutes ahead). */
const AHEAD = 5 * 60_000;

/** Timestamps: every 60 s from now-24h to now-6h, then every 15 s to now+5m. */
export function timeline(now) {
  const ts = [];
  for (let t = now - 24 * HOUR; t < now - 6 * HOUR; t += 60_000) ts.push(t);
  for (let t = now - 6 * HOUR; t <= now + AHEAD; t += 15_000) ts.push(t);
  return ts.map((t) => Math.floor(t / 1000) * 1000);
}

async function post(base, path, body, headers) {
  const r = await fetch(base + path, { method: 'POST', body, headers: { Authorization: `Bearer ${TOKENS.ingest}`, ...headers } });
  if (!r.ok) throw new Error(`POST ${path}: HTTP ${r.status} ${await r.text()}`);
}

// ---------------- traces ----------------

function attr(key, v) {
  if (typeof v === 'number') return { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  return { key, value: { stringValue: String(v) } };
}

const ns = (ms) => String(BigInt(Math.round(ms * 1000)) * 1000n);

/** 40 traces over the last 50 minutes: frontend → checkout → database. */
export function makeTraces(now) {
  const r = rng(7);
  const traces = [];
  const spans = { frontend: [], checkout: [] };
  for (let i = 0; i < 40; i++) {
    const traceId = hex(r, 32);
    const start = now - 50 * 60_000 + i * 75_000 + r() * 10_000;
    const error = i % 7 === 3;
    const total = 40 + r() * 400 + (error ? 300 : 0);
    const root = hex(r, 16);
    const client = hex(r, 16);
    const server = hex(r, 16);
    const db = hex(r, 16);
    const render = hex(r, 16);
    const route = '/api/search';
    const dbStart = start + 8;
    const dbDur = total * 0.5;
    spans.frontend.push(
      {
        traceId, spanId: root, name: `GET ${route}`, kind: 2,
        startTimeUnixNano: ns(start), endTimeUnixNano: ns(start + total),
        attributes: [attr('http.request.method', 'GET'), attr('http.route', route), attr('http.response.status_code', error ? 500 : 200), attr('url.path', '/api/search?q=lamp')],
        status: error ? { code: 2, message: 'upstream checkout failed' } : { code: 1 },
        ...(i > 0 ? { links: [{ traceId: traces[i - 1].traceId, spanId: traces[i - 1].rootSpan, attributes: [attr('link.reason', 'previous search')] }] } : {}),
      },
      {
        traceId, spanId: client, parentSpanId: root, name: 'POST checkout', kind: 3,
        startTimeUnixNano: ns(start + 3), endTimeUnixNano: ns(start + 5 + dbDur + 10),
        attributes: [attr('http.request.method', 'POST'), attr('server.address', 'checkout')],
        status: error ? { code: 2 } : { code: 0 },
      },
      {
        traceId, spanId: render, parentSpanId: root, name: 'render results', kind: 1,
        startTimeUnixNano: ns(start + 5 + dbDur + 12), endTimeUnixNano: ns(start + total - 1),
        attributes: [attr('template', 'search.html')],
      },
    );
    spans.checkout.push(
      {
        traceId, spanId: server, parentSpanId: client, name: 'POST /api/checkout', kind: 2,
        startTimeUnixNano: ns(start + 5), endTimeUnixNano: ns(start + 5 + dbDur + 8),
        attributes: [attr('http.request.method', 'POST'), attr('http.route', '/api/checkout'), attr('http.response.status_code', error ? 500 : 200)],
        status: error ? { code: 2, message: 'payment declined' } : { code: 0 },
        events: error
          ? [{ timeUnixNano: ns(start + 5 + dbDur + 4), name: 'exception', attributes: [attr('exception.type', 'PaymentError'), attr('exception.message', 'card declined')] }]
          : [{ timeUnixNano: ns(start + 6), name: 'cart loaded', attributes: [attr('items', 3)] }],
      },
      {
        traceId, spanId: db, parentSpanId: server, name: 'SELECT cart', kind: 3,
        startTimeUnixNano: ns(dbStart), endTimeUnixNano: ns(dbStart + dbDur),
        attributes: [attr('db.system', 'postgresql'), attr('db.statement', 'SELECT * FROM cart WHERE id = $1')],
      },
    );
    traces.push({ traceId, rootSpan: root, serverSpan: server, start, durationMs: total, error });
  }
  const resource = (svc) => ({
    attributes: [attr('service.name', svc), attr('service.version', '1.4.2'), attr('host.name', `${svc}-1`), attr('telemetry.sdk.language', 'go')],
  });
  const body = {
    resourceSpans: Object.entries(spans).map(([svc, list]) => ({
      resource: resource(svc),
      scopeSpans: [{ scope: { name: 'e2e', version: '1.0' }, spans: list }],
    })),
  };
  return { traces, body };
}

// ---------------- RED histograms (remote write) ----------------

function latencyFractions(route, t) {
  // Share of requests at or below each bucket bound: a log-normal-ish curve whose median
  // depends on the route and drifts over the day.
  const base = { '/': 0.02, '/api/search': 0.12, '/product/{id}': 0.05, '/api/cart': 0.03, '/api/checkout': 0.25, '/api/items/{id}': 0.015 }[route] ?? 0.05;
  const median = base * (1 + 0.4 * Math.sin(t / (3 * HOUR)));
  return BUCKETS.map((le) => 1 / (1 + Math.pow(median / le, 2.2)));
}

export function redSeries(now, traces) {
  const times = timeline(now);
  const r = rng(42);
  const out = [];
  for (const [svc, def] of Object.entries(SERVICES)) {
    const combos = def.routes.map((route) => ({ route, code: '200', method: route === '/api/checkout' ? 'POST' : 'GET' }));
    combos.push({ route: def.errorRoute, code: '500', method: def.errorRoute === '/api/checkout' ? 'POST' : 'GET' });
    for (const c of combos) {
      const labels = { job: svc, instance: `${svc}-1:9464`, http_route: c.route, http_request_method: c.method, http_response_status_code: c.code };
      const bucketSamples = BUCKETS.map(() => []);
      const inf = [];
      const sum = [];
      let count = 0;
      let total = 0;
      const cum = BUCKETS.map(() => 0);
      let prev = times[0];
      for (const t of times) {
        const dt = (t - prev) / 1000;
        prev = t;
        const rate = (c.code === '500' ? def.rate * 0.03 : def.rate / def.routes.length) * (1 + 0.5 * Math.sin(t / (4 * HOUR))) * (0.8 + 0.4 * r());
        const n = Math.round(rate * dt);
        const fr = latencyFractions(c.route, t);
        count += n;
        for (let i = 0; i < BUCKETS.length; i++) {
          cum[i] += Math.round(n * fr[i]);
          if (i > 0 && cum[i] < cum[i - 1]) cum[i] = cum[i - 1];
          bucketSamples[i].push([t, cum[i]]);
        }
        if (count < cum[BUCKETS.length - 1]) count = cum[BUCKETS.length - 1];
        inf.push([t, count]);
        total += n * fr.reduce((a, f, i) => a + (f - (fr[i - 1] ?? 0)) * BUCKETS[i], 0);
        sum.push([t, total]);
      }
      BUCKETS.forEach((le, i) => out.push({ labels: { __name__: 'http_server_request_duration_seconds_bucket', ...labels, le: String(le) }, samples: bucketSamples[i], exemplars: [] }));
      const infSeries = { labels: { __name__: 'http_server_request_duration_seconds_bucket', ...labels, le: '+Inf' }, samples: inf, exemplars: [] };
      out.push(infSeries);
      out.push({ labels: { __name__: 'http_server_request_duration_seconds_count', ...labels }, samples: inf });
      out.push({ labels: { __name__: 'http_server_request_duration_seconds_sum', ...labels }, samples: sum });
    }
  }
  // Exemplars: each trace's server span on the bucket its duration falls into.
  for (const tr of traces) {
    for (const [svc, route, spanId, dur] of [
      ['frontend', '/api/search', tr.rootSpan, tr.durationMs / 1000],
      ['checkout', '/api/checkout', tr.serverSpan, (tr.durationMs * 0.5) / 1000],
    ]) {
      const code = tr.error ? '500' : '200';
      const le = BUCKETS.find((b) => dur <= b);
      const s = out.find(
        (x) =>
          x.labels.job === svc && x.labels.http_route === route && x.labels.http_response_status_code === code && x.labels.le === String(le ?? '+Inf'),
      );
      s?.exemplars.push({ labels: { trace_id: tr.traceId, span_id: spanId }, value: dur, t: Math.round(tr.start) });
    }
  }
  return out;
}

async function remoteWrite(base, series) {
  // Batches of about 40k samples per request.
  let batch = [];
  let n = 0;
  const flush = async () => {
    if (!batch.length) return;
    const body = snappyLiterals(encodeWriteRequest(batch));
    await post(base, '/api/v1/write', body, {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    });
    batch = [];
    n = 0;
  };
  for (const s of series) {
    for (let i = 0; i < s.samples.length; i += 3000) {
      batch.push({ labels: s.labels, samples: s.samples.slice(i, i + 3000), exemplars: i === 0 ? (s.exemplars ?? []) : [] });
      n += Math.min(3000, s.samples.length - i);
      if (n >= 40_000) await flush();
    }
  }
  await flush();
}

// ---------------- node_exporter (text import) ----------------

function fmtLabels(l) {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}` : '';
}

export function nodeText(now) {
  const times = timeline(now);
  const lines = [];
  const r = rng(3);
  for (const [h, host] of ['host-a:9100', 'host-b:9100'].entries()) {
    const base = { job: 'node', instance: host };
    const total = (8 + 8 * h) * 2 ** 30;
    const cpu = { 0: { idle: 0, user: 0, system: 0, iowait: 0 }, 1: { idle: 0, user: 0, system: 0, iowait: 0 } };
    let disk = [0, 0];
    let netb = [0, 0];
    let prev = times[0];
    for (const t of times) {
      const dt = (t - prev) / 1000;
      prev = t;
      const busy = 0.25 + 0.2 * Math.sin(t / (2 * HOUR) + h) + 0.1 * r();
      for (const c of ['0', '1']) {
        cpu[c].idle += dt * (1 - busy);
        cpu[c].user += dt * busy * 0.7;
        cpu[c].system += dt * busy * 0.25;
        cpu[c].iowait += dt * busy * 0.05;
        for (const m of Object.keys(cpu[c])) lines.push(`node_cpu_seconds_total${fmtLabels({ ...base, cpu: c, mode: m })} ${cpu[c][m].toFixed(3)} ${t}`);
      }
      const avail = total * (0.45 + 0.15 * Math.sin(t / (5 * HOUR) + h));
      lines.push(`node_memory_MemTotal_bytes${fmtLabels(base)} ${total} ${t}`);
      lines.push(`node_memory_MemAvailable_bytes${fmtLabels(base)} ${Math.round(avail)} ${t}`);
      lines.push(`node_memory_Cached_bytes${fmtLabels(base)} ${Math.round(total * 0.2)} ${t}`);
      lines.push(`node_memory_Buffers_bytes${fmtLabels(base)} ${Math.round(total * 0.03)} ${t}`);
      lines.push(`node_load1${fmtLabels(base)} ${(busy * 2.5).toFixed(2)} ${t}`);
      lines.push(`node_boot_time_seconds${fmtLabels(base)} ${Math.floor((now - 9 * 86_400_000) / 1000)} ${t}`);
      lines.push(`node_uname_info${fmtLabels({ ...base, nodename: host.split(':')[0], release: '6.1.0' })} 1 ${t}`);
      disk = [disk[0] + dt * 2e6 * (1 + r()), disk[1] + dt * 5e6 * (1 + r())];
      lines.push(`node_disk_read_bytes_total${fmtLabels({ ...base, device: 'sda' })} ${Math.round(disk[0])} ${t}`);
      lines.push(`node_disk_written_bytes_total${fmtLabels({ ...base, device: 'sda' })} ${Math.round(disk[1])} ${t}`);
      netb = [netb[0] + dt * 3e5 * (1 + r()), netb[1] + dt * 1e5 * (1 + r())];
      for (const d of ['eth0', 'lo']) {
        lines.push(`node_network_receive_bytes_total${fmtLabels({ ...base, device: d })} ${Math.round(netb[0])} ${t}`);
        lines.push(`node_network_transmit_bytes_total${fmtLabels({ ...base, device: d })} ${Math.round(netb[1])} ${t}`);
      }
      for (const [mp, size] of [['/', 50 * 2 ** 30], ['/data', 200 * 2 ** 30]]) {
        const fs = { ...base, mountpoint: mp, fstype: 'ext4', device: mp === '/' ? '/dev/sda1' : '/dev/sdb1' };
        lines.push(`node_filesystem_size_bytes${fmtLabels(fs)} ${size} ${t}`);
        lines.push(`node_filesystem_avail_bytes${fmtLabels(fs)} ${Math.round(size * (mp === '/' ? 0.35 : 0.12))} ${t}`);
      }
    }
  }
  return lines;
}

async function importText(base, lines) {
  for (let i = 0; i < lines.length; i += 40_000) {
    await post(base, '/api/v1/import/prometheus', lines.slice(i, i + 40_000).join('\n') + '\n', { 'Content-Type': 'text/plain' });
  }
}

// ---------------- Pharos self-metrics ----------------

/** Scrapes /metrics once and replays it every 15 s over the last hour (counters ramp up). */
export async function selfMetrics(base, now, instance) {
  const r = await fetch(base + '/metrics', { headers: { Authorization: `Bearer ${TOKENS.read}` } });
  if (!r.ok) throw new Error(`GET /metrics: HTTP ${r.status}`);
  const text = await r.text();
  const types = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    const ty = /^# TYPE (\S+) (\S+)/.exec(line);
    if (ty) types.set(ty[1], ty[2]);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const family = m[1].replace(/_(bucket|sum|count|total)$/, '');
    const type = types.get(m[1]) ?? types.get(family) ?? 'untyped';
    const inner = m[2] ? m[2].slice(1, -1) : '';
    const labels = `{job="pharos",instance="${instance}"${inner ? ',' + inner : ''}}`;
    samples.push({ name: m[1], labels, value: parseFloat(m[3]), counter: type === 'counter' || type === 'histogram' || type === 'summary' });
  }
  const lines = [];
  const steps = 240 + AHEAD / 15_000;
  for (let i = 1; i <= steps; i++) {
    const t = Math.floor((now + AHEAD - (steps - i) * 15_000) / 1000) * 1000;
    for (const s of samples) {
      if (!isFinite(s.value)) continue;
      // Counters grow linearly to their value now (plus a floor, so rates are never all zero).
      const v = s.counter
        ? Math.round((s.value + 240) * (i / steps))
        : s.name.endsWith('_start_time_seconds')
          ? s.value
          : s.value * (0.9 + 0.1 * Math.sin(i / 20));
      lines.push(`${s.name}${s.labels} ${v} ${t}`);
    }
  }
  await importText(base, lines);
  return samples.length;
}

/** Loads everything; returns what the tests need to know (trace ids…). */
export async function loadAll(base, now) {
  const { traces, body } = makeTraces(now);
  await post(base, '/v1/traces', JSON.stringify(body), { 'Content-Type': 'application/json' });
  const red = redSeries(now, traces);
  await remoteWrite(base, red);
  await importText(base, nodeText(now));
  // One bad line, so the rejection counters have something to show.
  await fetch(base + '/api/v1/import/prometheus', {
    method: 'POST',
    body: 'bad metric line{\n',
    headers: { Authorization: `Bearer ${TOKENS.ingest}` },
  });
  // A few queries, so the query-latency histograms have samples.
  for (const q of ['up', 'sum(rate(http_server_request_duration_seconds_count[5m]))', 'node_load1']) {
    await fetch(base + '/api/v1/query?query=' + encodeURIComponent(q), { headers: { Authorization: `Bearer ${TOKENS.read}` } });
  }
  const selfSeries = await selfMetrics(base, now, base.replace('http://', ''));
  return { traces, redSeries: red.length, selfSeries };
}
