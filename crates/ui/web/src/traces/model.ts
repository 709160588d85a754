// Jaeger's trace JSON turned into a span tree with depths, error flags and the critical path.

export interface KeyValue {
  key: string;
  type?: string;
  value: unknown;
}

export interface JSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags?: KeyValue[];
  logs?: { timestamp: number; fields: KeyValue[] }[];
  processID: string;
  warnings?: string[] | null;
}

export interface JTrace {
  traceID: string;
  spans: JSpan[];
  processes: Record<string, { serviceName: string; tags?: KeyValue[] }>;
  warnings?: string[] | null;
}

export interface SpanNode {
  span: JSpan;
  service: string;
  parent: SpanNode | null;
  children: SpanNode[];
  depth: number;
  error: boolean;
  /** Parts of this span on the critical path, [start, end] in µs. */
  critical: [number, number][];
}

export interface Tree {
  traceID: string;
  roots: SpanNode[];
  /** Depth-first order (children by start time). */
  ordered: SpanNode[];
  byId: Map<string, SpanNode>;
  start: number;
  end: number;
  services: { name: string; count: number }[];
  errors: number;
  depth: number;
}

export function isError(s: JSpan): boolean {
  return (s.tags ?? []).some(
    (t) =>
      (t.key === 'error' && (t.value === true || t.value === 'true')) ||
      (t.key === 'otel.status_code' && String(t.value).toUpperCase() === 'ERROR'),
  );
}

export function parentId(s: JSpan): string | null {
  const refs = s.references ?? [];
  const r = refs.find((r) => r.refType === 'CHILD_OF' && r.traceID === s.traceID) ?? refs.find((r) => r.traceID === s.traceID);
  return r ? r.spanID : null;
}

export function buildTree(t: JTrace): Tree {
  const byId = new Map<string, SpanNode>();
  for (const s of t.spans)
    byId.set(s.spanID, {
      span: s,
      service: t.processes?.[s.processID]?.serviceName ?? 'unknown',
      parent: null,
      children: [],
      depth: 0,
      error: isError(s),
      critical: [],
    });
  const roots: SpanNode[] = [];
  for (const n of byId.values()) {
    const p = parentId(n.span);
    const parent = p && p !== n.span.spanID ? byId.get(p) : undefined;
    if (parent) {
      n.parent = parent;
      parent.children.push(n);
    } else roots.push(n);
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.span.startTime - b.span.startTime;
  roots.sort(byStart);
  const ordered: SpanNode[] = [];
  let maxDepth = 0;
  // Iterative depth-first walk (bounded by the span count, cycles cannot loop).
  const stack: [SpanNode, number][] = roots.map((r) => [r, 0] as [SpanNode, number]).reverse();
  const seen = new Set<SpanNode>();
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    n.depth = d;
    maxDepth = Math.max(maxDepth, d);
    ordered.push(n);
    n.children.sort(byStart);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i], d + 1]);
  }
  let start = Infinity;
  let end = -Infinity;
  const services = new Map<string, number>();
  let errors = 0;
  for (const n of ordered) {
    start = Math.min(start, n.span.startTime);
    end = Math.max(end, n.span.startTime + n.span.duration);
    services.set(n.service, (services.get(n.service) ?? 0) + 1);
    if (n.error) errors++;
  }
  const tree: Tree = {
    traceID: t.traceID,
    roots,
    ordered,
    byId,
    start,
    end,
    services: [...services].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count),
    errors,
    depth: maxDepth + 1,
  };
  markCriticalPath(tree);
  return tree;
}

/**
 * The critical path (Jaeger UI's algorithm): from the end of the root span, go to the
 * child that finished last (before the point we came back from); time not covered by such
 * a child is the span's own. Children are clipped to their parent's end.
 */
export function markCriticalPath(tree: Tree) {
  const root = tree.roots.reduce<SpanNode | null>((best, r) => (!best || r.span.duration > best.span.duration ? r : best), null);
  if (!root) return;
  const ownEnd = (n: SpanNode) => n.span.startTime + n.span.duration;
  // Effective end of a node: clipped to every ancestor's end.
  const effEnd = (n: SpanNode) => {
    let e = ownEnd(n);
    for (let p = n.parent; p; p = p.parent) e = Math.min(e, ownEnd(p));
    return e;
  };
  let node: SpanNode = root;
  let returning: number | null = null;
  let guard = tree.ordered.length * 3 + 10;
  while (guard-- > 0) {
    const limit: number = returning ?? effEnd(node);
    const nodeEnd = effEnd(node);
    const candidates = node.children.filter((c) => c.span.startTime < nodeEnd && (returning === null || effEnd(c) < returning));
    const last = candidates.reduce<SpanNode | null>((b, c) => (!b || effEnd(c) > effEnd(b) ? c : b), null);
    if (last) {
      if (effEnd(last) < limit) node.critical.push([effEnd(last), limit]);
      node = last;
      returning = null;
      continue;
    }
    if (node.span.startTime < limit) node.critical.push([node.span.startTime, limit]);
    if (node === root || !node.parent) break;
    returning = node.span.startTime;
    node = node.parent;
  }
  for (const n of tree.ordered) n.critical.sort((a, b) => a[0] - b[0]);
}

export function tagValue(s: JSpan, key: string): string | undefined {
  const t = (s.tags ?? []).find((t) => t.key === key);
  return t === undefined ? undefined : String(t.value);
}

/** Search result summary of a trace. */
export interface TraceSummary {
  traceID: string;
  rootService: string;
  rootOperation: string;
  start: number;
  duration: number;
  spans: number;
  errors: number;
  services: { name: string; count: number }[];
}

export function summarise(t: JTrace): TraceSummary {
  const tree = buildTree(t);
  const root = tree.roots.reduce<SpanNode | null>((best, r) => (!best || r.span.startTime < best.span.startTime ? r : best), null);
  return {
    traceID: t.traceID,
    rootService: root?.service ?? 'unknown',
    rootOperation: root?.span.operationName ?? '',
    start: tree.start,
    duration: tree.end - tree.start,
    spans: t.spans.length,
    errors: tree.errors,
    services: tree.services,
  };
}

/** Parses logfmt tags (`http.status_code=500 error=true k="a b"`) as Jaeger UI does. */
export function parseTags(s: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/y;
  let pos = 0;
  const t = s.trim();
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) return `cannot parse tags near "${t.slice(pos, pos + 20)}": write key=value pairs separated by spaces`;
    out[m[1]] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2];
    pos = re.lastIndex;
    while (t[pos] === ' ') pos++;
  }
  return out;
}

/** Stable color per service. */
export function serviceColor(name: string): string {
  const colors = ['#17B8BE', '#F8DCA1', '#B7885E', '#FFCB99', '#F89570', '#829AE3', '#E79FD5', '#1E96BE', '#89DAC1', '#B3AD9E', '#12939A', '#DDB27C', '#88572C', '#FF9833', '#EF5D28', '#162A65', '#DA70BF', '#125C77', '#4DC19C', '#776E57'];
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return colors[h % colors.length];
}
