//! The trace store end to end on a real sled directory: round trip of every OTLP field,
//! searches, catalog, dependencies, validation, retention that frees disk, snapshots.

use pharos_config::Config;
use pharos_tracestore::opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use pharos_tracestore::sample::trace_requests;
use pharos_tracestore::{RejectReason, TagScope, TraceQuery, TraceStore};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MS: u64 = 1_000_000;
const HOUR: u64 = 3_600_000_000_000;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn open(dir: &std::path::Path) -> Arc<TraceStore> {
    TraceStore::open(dir, &Config::default()).unwrap()
}

/// Every span with its resource and scope, keyed by span id.
fn flatten(rs: &[ResourceSpans]) -> HashMap<Vec<u8>, (Span, Vec<u8>, Vec<u8>)> {
    use prost::Message;
    let mut out = HashMap::new();
    for r in rs {
        for ss in &r.scope_spans {
            for s in &ss.spans {
                let res = r.resource.clone().unwrap_or_default().encode_to_vec();
                let scope = ss.scope.clone().unwrap_or_default().encode_to_vec();
                out.insert(s.span_id.clone(), (s.clone(), res, scope));
            }
        }
    }
    out
}

#[test]
fn every_field_survives_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (trace_id, front, cart) = trace_requests(10, now_ns() - HOUR);
    let o1 = store.write_blocking(front.clone()).unwrap();
    let o2 = store.write_blocking(cart.clone()).unwrap();
    assert_eq!((o1.accepted, o2.accepted, o1.rejected_total()), (3, 4, 0));
    let trace = store.trace(&trace_id, None).unwrap().expect("trace stored");
    let got = flatten(&trace.to_resource_spans());
    let want = flatten(&[front, cart].concat());
    assert_eq!(got.len(), 7);
    for (id, w) in &want {
        assert_eq!(got.get(id), Some(w), "span {id:?} differs");
    }
    store.close().unwrap();
    // And after reopening (dictionaries reloaded from disk).
    let store = open(dir.path());
    let again = store.trace(&trace_id, None).unwrap().unwrap();
    assert_eq!(flatten(&again.to_resource_spans()), want);
    assert!(store.trace(&[7; 16], None).unwrap().is_none());
    store.close().unwrap();
}

fn write_traces(store: &TraceStore, n: u64, base: u64) -> Vec<[u8; 16]> {
    let mut ids = Vec::new();
    for seed in 1..=n {
        let (id, front, cart) = trace_requests(seed, base + seed * 1000 * MS);
        store.write_blocking(front).unwrap();
        store.write_blocking(cart).unwrap();
        ids.push(id);
    }
    ids
}

#[test]
fn searches_use_service_operation_tags_duration_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let base = now_ns() - 2 * HOUR;
    let ids = write_traces(&store, 30, base);
    let all = TraceQuery {
        start_ns: base,
        end_ns: now_ns(),
        limit: 100,
        ..TraceQuery::default()
    };
    let q = |f: &dyn Fn(&mut TraceQuery)| {
        let mut q = all.clone();
        f(&mut q);
        store.search(&q).unwrap()
    };
    assert_eq!(q(&|_| {}).len(), 30, "no conditions: every trace");
    let by_service = q(&|q| q.service = Some("cart".into()));
    assert_eq!(by_service.len(), 30);
    // Newest first.
    assert_eq!(by_service[0].trace.trace_id, ids[29]);
    // Indexed tag, scoped by service: error=true comes from the span status.
    let errors = q(&|q| {
        q.service = Some("frontend".into());
        q.tags = vec![("error".into(), "true".into())];
    });
    assert_eq!(errors.len(), 3, "seeds 10, 20, 30 fail");
    let routes = q(&|q| {
        q.service = Some("frontend".into());
        q.tags = vec![
            ("http.route".into(), "/api/checkout".into()),
            ("http.response.status_code".into(), "200".into()),
        ];
    });
    assert_eq!(routes.len(), 9, "seeds 1, 4, …, 28 minus the failing 10");
    // Both tags must hold on one span: status 500 on a checkout root only for seed 10.
    let one_span = q(&|q| {
        q.service = Some("frontend".into());
        q.tags = vec![
            ("http.route".into(), "/api/checkout".into()),
            ("http.response.status_code".into(), "500".into()),
        ];
    });
    assert_eq!(one_span.len(), 1);
    // Not indexed: checked span by span.
    let stmt = q(&|q| {
        q.service = Some("cart".into());
        q.tags = vec![(
            "db.statement".into(),
            "SELECT id, qty FROM cart_items WHERE cart_id = $1".into(),
        )];
    });
    assert_eq!(stmt.len(), 30);
    // Resource attribute and event attribute tags.
    assert_eq!(
        q(&|q| q.tags = vec![("k8s.namespace.name".into(), "shop".into())]).len(),
        30
    );
    assert_eq!(
        q(&|q| q.tags = vec![("exception.type".into(), "ConnectionResetError".into())]).len(),
        3
    );
    // Operation + duration.
    let op = q(&|q| {
        q.service = Some("cart".into());
        q.operation = Some("SELECT shop.products".into());
        q.min_duration_ns = Some(19 * MS);
        q.max_duration_ns = Some(21 * MS);
    });
    assert_eq!(op.len(), 30);
    assert_eq!(op[0].matched.len(), 1);
    assert!(q(&|q| {
        q.service = Some("cart".into());
        q.min_duration_ns = Some(200 * MS);
    })
    .is_empty());
    // Time window: traces 1..=10 started in the first 10 s.
    let early = q(&|q| q.end_ns = base + 10_500 * MS);
    assert_eq!(early.len(), 10);
    assert_eq!(q(&|q| q.limit = 5).len(), 5);
    assert!(q(&|q| q.service = Some("nope".into())).is_empty());
    // Custom span predicate.
    let pred = q(&|q| {
        q.span_filter = Some(Arc::new(|_, s| {
            s.name == "render page" && s.links.len() == 1
        }))
    });
    assert_eq!(pred.len(), 30);
    store.close().unwrap();
}

#[test]
fn catalog_and_dependencies_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write_traces(&store, 5, now_ns() - HOUR);
    let check = |store: &TraceStore| {
        assert_eq!(store.services(), vec!["cart", "frontend"]);
        let server_ops = store.operations("cart", Some(2));
        assert_eq!(
            server_ops,
            vec![("cart.CartService/GetCart".to_string(), 2)]
        );
        assert_eq!(store.operations("cart", None).len(), 4);
        assert!(store
            .tag_names(Some(TagScope::Resource))
            .iter()
            .any(|(_, n)| n == "k8s.namespace.name"));
        assert_eq!(
            store.tag_values(Some(TagScope::Span), "db.system"),
            vec!["postgresql", "redis"]
        );
    };
    check(&store);
    let deps = store.dependencies(now_ns() - 2 * HOUR, now_ns()).unwrap();
    assert_eq!(deps, vec![("frontend".to_string(), "cart".to_string(), 5)]);
    store.close().unwrap();
    let store = open(dir.path());
    check(&store);
    assert_eq!(
        store
            .dependencies(now_ns() - 2 * HOUR, now_ns())
            .unwrap()
            .len(),
        1
    );
    let stats = store.stats();
    assert_eq!(stats.spans, 35);
    assert!(stats.disk_bytes > 0);
    assert_eq!(stats.partitions.len(), 1);
    store.close().unwrap();
}

#[test]
fn invalid_and_out_of_window_spans_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (_, mut front, _) = trace_requests(3, now_ns());
    let spans = &mut front[0].scope_spans[0].spans;
    spans[0].trace_id = vec![1, 2, 3];
    spans[1].span_id = vec![0; 8];
    front[0].scope_spans[1].spans[0].start_time_unix_nano = now_ns() + 3_600 * 1_000_000_000;
    let out = store.write_blocking(front).unwrap();
    assert_eq!(out.accepted, 0);
    assert_eq!(out.rejected.get(&RejectReason::InvalidTraceId), Some(&1));
    assert_eq!(out.rejected.get(&RejectReason::InvalidSpanId), Some(&1));
    assert_eq!(out.rejected.get(&RejectReason::TooFarInFuture), Some(&1));
    let (_, old, _) = trace_requests(4, now_ns() - 8 * 24 * HOUR);
    assert_eq!(
        store
            .write_blocking(old)
            .unwrap()
            .rejected
            .get(&RejectReason::TooOld),
        Some(&3)
    );
    assert!(!out.rejection_message().is_empty());
    store.close().unwrap();
}

/// Open file descriptors of this process that point into `dir` (deleted or not).
fn open_fds_under(dir: &std::path::Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.starts_with(&prefix))
        .collect()
}

#[test]
fn retention_drops_expired_partitions_and_frees_their_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (old_id, f, c) = trace_requests(1000, now_ns() - 3 * 24 * HOUR);
    store.write_blocking(f).unwrap();
    store.write_blocking(c).unwrap();
    let new_ids = write_traces(&store, 3, now_ns() - HOUR);
    // Enough old data that the freed space is plain to see.
    for seed in 100..400 {
        let (_, f, c) = trace_requests(seed, now_ns() - 3 * 24 * HOUR + seed * MS);
        store.write_blocking(f).unwrap();
        store.write_blocking(c).unwrap();
    }
    let before = store.stats();
    assert_eq!(before.partitions.len(), 2);
    let old_part = dir.path().join(&before.partitions[0].name);
    assert!(old_part.is_dir());
    store.close().unwrap();
    drop(store);

    let mut config = Config::default();
    config.retention.traces = Duration::from_secs(2 * 86_400);
    let store = TraceStore::open(dir.path(), &config).unwrap();
    assert!(!old_part.exists(), "expired partition directory removed");
    assert!(
        open_fds_under(&old_part).is_empty(),
        "no open file keeps the freed space: {:?}",
        open_fds_under(&old_part)
    );
    let after = store.stats();
    assert_eq!(after.partitions.len(), 1);
    assert!(
        after.disk_bytes < before.disk_bytes,
        "{} < {}",
        after.disk_bytes,
        before.disk_bytes
    );
    assert!(store.trace(&old_id, None).unwrap().is_none());
    for id in &new_ids {
        assert!(store.trace(id, None).unwrap().is_some());
    }
    let q = TraceQuery {
        start_ns: 0,
        end_ns: now_ns(),
        limit: 1000,
        ..TraceQuery::default()
    };
    assert_eq!(store.search(&q).unwrap().len(), 3);
    // Running it again finds nothing more to drop.
    assert!(store
        .apply_retention()
        .unwrap()
        .partitions_dropped
        .is_empty());
    store.close().unwrap();
}

#[test]
fn snapshot_opens_as_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids = write_traces(&store, 3, now_ns() - HOUR);
    let snap = tempfile::tempdir().unwrap();
    let bytes = store.snapshot(&snap.path().join("traces")).unwrap();
    assert!(bytes > 0);
    let copy = open(&snap.path().join("traces"));
    for id in &ids {
        assert_eq!(copy.trace(id, None).unwrap().unwrap().span_count(), 7);
    }
    copy.close().unwrap();
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_async_writes_are_all_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let base = now_ns() - HOUR;
    let mut tasks = Vec::new();
    for seed in 1..=40u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let (id, f, c) = trace_requests(seed, base + seed * MS);
            store.write(f).await.unwrap();
            store.write(c).await.unwrap();
            id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    for id in ids {
        assert_eq!(store.trace(&id, None).unwrap().unwrap().span_count(), 7);
    }
    store.close().unwrap();
}

#[test]
fn service_usage_counts_spans_and_bytes_and_follows_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(store.service_usage().is_empty());
    for seed in 1..=20 {
        let (_, f, c) = trace_requests(seed, now_ns() - 3 * 24 * HOUR + seed * MS);
        store.write_blocking(f).unwrap();
        store.write_blocking(c).unwrap();
    }
    write_traces(&store, 10, now_ns() - HOUR);
    let spans_of = |usage: &[pharos_tracestore::ServiceUsage], service: &str| {
        usage
            .iter()
            .find(|u| u.service == service)
            .map(|u| (u.spans, u.bytes))
            .unwrap_or((0, 0))
    };
    let usage = store.service_usage();
    assert_eq!(usage.len(), 2, "{usage:?}");
    assert_eq!(spans_of(&usage, "frontend").0, 30 * 3);
    assert_eq!(spans_of(&usage, "cart").0, 30 * 4);
    assert!(usage[0].bytes >= usage[1].bytes && usage[1].bytes > 0);
    let total: u64 = usage.iter().map(|u| u.bytes).sum();
    let disk = store.stats().disk_bytes;
    assert!(total <= disk && total + 64 >= disk, "{total} vs {disk}");
    store.close().unwrap();
    drop(store);

    let store = open(dir.path());
    let reopened = store.service_usage();
    assert_eq!(
        reopened.iter().map(|u| u.spans).collect::<Vec<_>>(),
        usage.iter().map(|u| u.spans).collect::<Vec<_>>()
    );
    store.close().unwrap();
    drop(store);

    let mut config = Config::default();
    config.retention.traces = Duration::from_secs(2 * 86_400);
    let store = TraceStore::open(dir.path(), &config).unwrap();
    let shrunk = store.service_usage();
    assert_eq!(spans_of(&shrunk, "frontend").0, 10 * 3);
    assert_eq!(spans_of(&shrunk, "cart").0, 10 * 4);
    store.close().unwrap();
}

/// Trace ids found by id, and the error=true search count, of a store.
fn findable(store: &TraceStore, ids: &[[u8; 16]]) -> (usize, usize) {
    let by_id = ids
        .iter()
        .filter(|id| {
            store
                .trace(id, None)
                .unwrap()
                .is_some_and(|t| t.span_count() == 7)
        })
        .count();
    let q = TraceQuery {
        start_ns: 0,
        end_ns: now_ns(),
        service: Some("cart".into()),
        tags: vec![("error".into(), "true".into())],
        limit: 1000,
        ..TraceQuery::default()
    };
    (by_id, store.search(&q).unwrap().len())
}

#[test]
fn key_runs_flush_merge_and_are_rebuilt_from_the_value_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    // A tiny key buffer: every commit writes runs, and runs merge often.
    config.traces.key_buffer_size = bytesize::ByteSize::b(1);
    let store = TraceStore::open(dir.path(), &config).unwrap();
    let ids = write_traces(&store, 60, now_ns() - 2 * HOUR);
    let stats = store.stats();
    assert_eq!(stats.partitions.len(), 1);
    let runs = stats.partitions[0].key_runs;
    // Merged in the background; however far behind, the writer keeps it at 2 × 25.
    assert!((2..=2 * 25).contains(&runs), "{runs} runs after merges");
    let want = findable(&store, &ids);
    assert_eq!(want, (60, 6), "seeds 10, 20, … 60 fail");
    store.close().unwrap();
    drop(store);

    let part = dir.path().join(&stats.partitions[0].name);
    let run_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&part)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "run"))
            .collect()
    };
    // Reopened as written.
    let store = TraceStore::open(dir.path(), &config).unwrap();
    assert_eq!(findable(&store, &ids), want);
    store.close().unwrap();
    drop(store);
    // Runs lost (as the key buffer is lost by kill -9): rebuilt from the value log.
    for p in run_files() {
        std::fs::remove_file(p).unwrap();
    }
    let store = open(dir.path());
    assert_eq!(findable(&store, &ids), want);
    store.close().unwrap();
    drop(store);
    // A truncated run: set aside, keys rebuilt.
    let victim = run_files()
        .into_iter()
        .next()
        .expect("runs written on close");
    let len = std::fs::metadata(&victim).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let store = open(dir.path());
    assert_eq!(findable(&store, &ids), want);
    assert!(victim.with_extension("corrupt").exists());
    store.close().unwrap();
}
