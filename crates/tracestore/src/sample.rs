//! Realistic sample traces for tests and benchmarks: an HTTP server span in `frontend`,
//! a client call into `cart`, its server span, database spans with `db.statement`, an
//! error span with an exception event, and a link, using every attribute value type.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

pub fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

pub fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn resource(service: &str, pod: u64) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", s(service)),
            kv("service.version", s("1.4.2")),
            kv("k8s.namespace.name", s("shop")),
            kv("k8s.pod.name", s(&format!("{service}-7d9f{pod:x}"))),
            kv("deployment.environment", s("production")),
        ],
        dropped_attributes_count: 0,
        entity_refs: vec![],
    }
}

fn scope(name: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.into(),
        version: "0.48b0".into(),
        attributes: vec![],
        dropped_attributes_count: 0,
    }
}

/// Deterministic ids from a seed (splitmix64), never all zero.
pub fn ids(seed: u64) -> ([u8; 16], impl FnMut() -> [u8; 8]) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) | 1
    };
    let mut trace = [0u8; 16];
    trace[..8].copy_from_slice(&next().to_be_bytes());
    trace[8..].copy_from_slice(&next().to_be_bytes());
    (trace, move || next().to_be_bytes())
}

#[allow(clippy::too_many_arguments)]
fn span(
    trace: [u8; 16],
    id: [u8; 8],
    parent: Option<[u8; 8]>,
    name: &str,
    kind: SpanKind,
    start: u64,
    dur: u64,
    attributes: Vec<KeyValue>,
) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: id.to_vec(),
        trace_state: String::new(),
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        flags: 0x101,
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur,
        attributes,
        dropped_attributes_count: 0,
        events: vec![],
        dropped_events_count: 0,
        links: vec![],
        dropped_links_count: 0,
        status: None,
    }
}

/// One trace of 7 spans in two services starting at `start_ns`, as two requests (one per
/// service, as two SDKs would send them). `seed` picks the ids; every 10th trace fails.
pub fn trace_requests(
    seed: u64,
    start_ns: u64,
) -> ([u8; 16], Vec<ResourceSpans>, Vec<ResourceSpans>) {
    let (trace, mut next) = ids(seed);
    let failing = seed.is_multiple_of(10);
    let status = if failing { 500 } else { 200 };
    let route = ["/api/cart", "/api/checkout", "/api/products/{id}"][(seed % 3) as usize];
    let root = next();
    let client = next();
    let server = next();
    let db1 = next();
    let db2 = next();
    let cache = next();
    let render = next();
    let ms = 1_000_000u64;
    let mut root_span = span(
        trace,
        root,
        None,
        &format!("GET {route}"),
        SpanKind::Server,
        start_ns,
        120 * ms,
        vec![
            kv("http.request.method", s("GET")),
            kv("http.route", s(route)),
            kv("url.path", s(&format!("{route}?session={seed}"))),
            kv("http.response.status_code", Value::IntValue(status)),
            kv("server.address", s("shop.example.com")),
            kv("user_agent.original", s("Mozilla/5.0 (X11; Linux x86_64)")),
            kv(
                "client.address",
                s(&format!("10.1.{}.{}", seed % 200, seed % 250)),
            ),
            kv("network.protocol.version", s("1.1")),
            kv("http.request.body.size", Value::IntValue(0)),
            kv("sampled.ratio", Value::DoubleValue(0.25)),
        ],
    );
    root_span.trace_state = "vendor=abc".into();
    let mut client_span = span(
        trace,
        client,
        Some(root),
        "POST cart.GetCart",
        SpanKind::Client,
        start_ns + 5 * ms,
        90 * ms,
        vec![
            kv("rpc.system", s("grpc")),
            kv("rpc.service", s("cart.CartService")),
            kv("rpc.method", s("GetCart")),
            kv("server.address", s("cart")),
            kv("server.port", Value::IntValue(8080)),
            kv("http.request.method", s("POST")),
        ],
    );
    let mut render_span = span(
        trace,
        render,
        Some(root),
        "render page",
        SpanKind::Internal,
        start_ns + 100 * ms,
        15 * ms,
        vec![
            kv("template", s("cart.html")),
            kv("cached", Value::BoolValue(seed.is_multiple_of(2))),
            kv(
                "tags",
                Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(s("a")),
                        },
                        AnyValue {
                            value: Some(Value::IntValue(2)),
                        },
                    ],
                }),
            ),
            kv(
                "layout",
                Value::KvlistValue(KeyValueList {
                    values: vec![kv("columns", Value::IntValue(3)), kv("theme", s("dark"))],
                }),
            ),
            kv("checksum", Value::BytesValue(vec![0xde, 0xad, 0xbe, 0xef])),
        ],
    );
    render_span.links.push(Link {
        trace_id: ids(seed ^ 0xffff).0.to_vec(),
        span_id: ids(seed ^ 0xfffe).0[..8].to_vec(),
        trace_state: "linked=1".into(),
        attributes: vec![kv("link.reason", s("batch"))],
        dropped_attributes_count: 1,
        flags: 0x100,
    });
    render_span.dropped_attributes_count = 2;
    let mut server_span = span(
        trace,
        server,
        Some(client),
        "cart.CartService/GetCart",
        SpanKind::Server,
        start_ns + 8 * ms,
        80 * ms,
        vec![
            kv("rpc.system", s("grpc")),
            kv("rpc.service", s("cart.CartService")),
            kv("rpc.method", s("GetCart")),
            kv(
                "rpc.grpc.status_code",
                Value::IntValue(if failing { 13 } else { 0 }),
            ),
        ],
    );
    let db_span = |id, start, stmt: &str, table: &str| {
        span(
            trace,
            id,
            Some(server),
            &format!("SELECT shop.{table}"),
            SpanKind::Client,
            start,
            20 * ms,
            vec![
                kv("db.system", s("postgresql")),
                kv("db.namespace", s("shop")),
                kv("db.statement", s(stmt)),
                kv("db.operation.name", s("SELECT")),
                kv("db.collection.name", s(table)),
                kv("server.address", s("postgres.shop.svc")),
                kv("server.port", Value::IntValue(5432)),
            ],
        )
    };
    let db_a = db_span(
        db1,
        start_ns + 10 * ms,
        "SELECT id, qty FROM cart_items WHERE cart_id = $1",
        "cart_items",
    );
    let db_b = db_span(
        db2,
        start_ns + 35 * ms,
        "SELECT id, name, price FROM products WHERE id = ANY($1)",
        "products",
    );
    let mut cache_span = span(
        trace,
        cache,
        Some(server),
        "GET",
        SpanKind::Client,
        start_ns + 60 * ms,
        3 * ms,
        vec![
            kv("db.system", s("redis")),
            kv("db.statement", s("GET cart:session")),
        ],
    );
    if failing {
        for sp in [
            &mut root_span,
            &mut client_span,
            &mut server_span,
            &mut cache_span,
        ] {
            sp.status = Some(Status {
                message: "connection reset by peer".into(),
                code: StatusCode::Error as i32,
            });
        }
        cache_span.events.push(Event {
            time_unix_nano: start_ns + 62 * ms,
            name: "exception".into(),
            attributes: vec![
                kv("exception.type", s("ConnectionResetError")),
                kv("exception.message", s("connection reset by peer")),
                kv("exception.stacktrace", s("Traceback (most recent call last):\n  File \"cart.py\", line 42, in get\nConnectionResetError")),
                kv("exception.escaped", Value::BoolValue(false)),
            ],
            dropped_attributes_count: 0,
        });
        cache_span.dropped_events_count = 1;
    } else {
        root_span.status = Some(Status {
            message: String::new(),
            code: StatusCode::Ok as i32,
        });
        server_span.events.push(Event {
            time_unix_nano: start_ns + 9 * ms,
            name: "cart loaded".into(),
            attributes: vec![kv("items", Value::IntValue(3))],
            dropped_attributes_count: 0,
        });
    }
    let frontend = ResourceSpans {
        resource: Some(resource("frontend", seed % 3)),
        scope_spans: vec![
            ScopeSpans {
                scope: Some(scope("opentelemetry.instrumentation.flask")),
                spans: vec![root_span, render_span],
                schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
            },
            ScopeSpans {
                scope: Some(scope("opentelemetry.instrumentation.grpc")),
                spans: vec![client_span],
                schema_url: String::new(),
            },
        ],
        schema_url: String::new(),
    };
    let cart = ResourceSpans {
        resource: Some(resource("cart", seed % 2)),
        scope_spans: vec![
            ScopeSpans {
                scope: Some(scope("opentelemetry.instrumentation.grpc")),
                spans: vec![server_span],
                schema_url: String::new(),
            },
            ScopeSpans {
                scope: Some(scope("opentelemetry.instrumentation.psycopg2")),
                spans: vec![db_a, db_b, cache_span],
                schema_url: String::new(),
            },
        ],
        schema_url: String::new(),
    };
    (trace, vec![frontend], vec![cart])
}
