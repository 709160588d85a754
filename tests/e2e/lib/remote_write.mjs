// Prometheus remote-write 1.0 bodies without dependencies: protobuf `WriteRequest`
// (timeseries with labels, samples and exemplars) in snappy block format (literals only,
// which every snappy decoder accepts).

function varint(out, n) {
  // Non-negative integers up to 2^53.
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function tag(out, field, wire) {
  varint(out, (field << 3) | wire);
}

function bytesField(out, field, bytes) {
  tag(out, field, 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function doubleField(out, field, v) {
  tag(out, field, 1);
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, v, true);
  for (let i = 0; i < 8; i++) out.push(buf.getUint8(i));
}

function int64Field(out, field, v) {
  tag(out, field, 0);
  varint(out, v);
}

const enc = new TextEncoder();

function labelMsg(name, value) {
  const m = [];
  bytesField(m, 1, enc.encode(name));
  bytesField(m, 2, enc.encode(value));
  return m;
}

/**
 * series: [{ labels: {__name__, ...}, samples: [[tMs, value]], exemplars: [{labels, value, t}] }]
 */
export function encodeWriteRequest(series) {
  const out = [];
  for (const s of series) {
    const ts = [];
    const names = Object.keys(s.labels).sort();
    for (const k of names) bytesField(ts, 1, labelMsg(k, s.labels[k]));
    for (const [t, v] of s.samples ?? []) {
      const m = [];
      doubleField(m, 1, v);
      int64Field(m, 2, t);
      bytesField(ts, 2, m);
    }
    for (const e of s.exemplars ?? []) {
      const m = [];
      for (const [k, v] of Object.entries(e.labels)) bytesField(m, 1, labelMsg(k, v));
      doubleField(m, 2, e.value);
      int64Field(m, 3, e.t);
      bytesField(ts, 3, m);
    }
    bytesField(out, 1, ts);
  }
  return Uint8Array.from(out);
}

/** Snappy block format with literal elements only. */
export function snappyLiterals(data) {
  const out = [];
  varint(out, data.length);
  for (let i = 0; i < data.length; i += 65536) {
    const chunk = data.subarray(i, Math.min(data.length, i + 65536));
    const n = chunk.length - 1;
    if (n < 60) out.push(n << 2);
    else if (n < 256) out.push(60 << 2, n);
    else out.push(61 << 2, n & 0xff, n >> 8);
    for (const b of chunk) out.push(b);
  }
  return Uint8Array.from(out);
}
