//! Every function, aggregation and operator, with odd arguments and odd data (NaN, ±Inf,
//! staleness markers, huge offsets, negative times): each query must give a value or an
//! error, never a panic.

use pharos_model::{stale_nan, Labels, MemSource};
use pharos_promql::{Engine, EngineOptions, Value};

fn source() -> MemSource {
    let src = MemSource::new();
    let values = [
        1.0,
        f64::NAN,
        f64::INFINITY,
        -2.5,
        f64::NEG_INFINITY,
        0.0,
        1e308,
        stale_nan(),
        3.0,
    ];
    for (i, le) in ["0.1", "1", "+Inf", "bad"].iter().enumerate() {
        let l = Labels::from_pairs([("__name__", "m_bucket"), ("job", "j"), ("le", le)]);
        for k in 0..60i64 {
            src.add(
                &l,
                k * 10_000 - 100_000,
                values[(k as usize + i) % values.len()] * (k as f64),
            );
        }
    }
    let plain = Labels::from_pairs([("__name__", "g"), ("instance", "a")]);
    for k in 0..60i64 {
        src.add(&plain, k * 10_000, values[k as usize % values.len()]);
    }
    src
}

const FUNCTIONS_VECTOR: &[&str] = &[
    "abs",
    "ceil",
    "floor",
    "exp",
    "sqrt",
    "ln",
    "log2",
    "log10",
    "sgn",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "cos",
    "cosh",
    "sin",
    "sinh",
    "tan",
    "tanh",
    "deg",
    "rad",
    "timestamp",
    "absent",
    "sort",
    "sort_desc",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "hour",
    "minute",
    "month",
    "year",
    "scalar",
    "histogram_count",
    "histogram_sum",
    "histogram_avg",
    "histogram_stddev",
    "histogram_stdvar",
];
const FUNCTIONS_RANGE: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "changes",
    "resets",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "absent_over_time",
    "mad_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
];

fn queries() -> Vec<String> {
    let mut q = Vec::new();
    let selectors = [
        "m_bucket",
        "g",
        "nothing",
        "{__name__=~\".+\"}",
        "m_bucket offset -5m",
        "g @ 100",
        "g @ -1000",
    ];
    for f in FUNCTIONS_VECTOR {
        for s in selectors {
            q.push(format!("{f}({s})"));
        }
    }
    for f in FUNCTIONS_RANGE {
        for s in [
            "m_bucket[1m]",
            "g[5m] offset 1h",
            "g[1s]",
            "rate(m_bucket[1m])[5m:7s]",
            "nothing[5m]",
            "g[10y] @ 0",
        ] {
            q.push(format!("{f}({s})"));
        }
    }
    for op in [
        "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
    ] {
        q.push(format!("{op} by (le) (m_bucket)"));
        q.push(format!("{op} without (job) ({{__name__=~\".+\"}})"));
    }
    for p in ["0", "-1", "1e300", "NaN", "0.5", "2", "scalar(g)"] {
        for op in ["topk", "bottomk", "limitk", "limit_ratio", "quantile"] {
            q.push(format!("{op}({p}, m_bucket)"));
        }
        q.push(format!("histogram_quantile({p}, m_bucket)"));
        q.push(format!("histogram_quantile({p}, rate(m_bucket[1m]))"));
        q.push(format!("quantile_over_time({p}, g[5m])"));
        q.push(format!("predict_linear(g[5m], {p})"));
        q.push(format!("round(g, {p})"));
        q.push(format!("clamp(g, {p}, 1)"));
        q.push(format!("clamp_min(g, {p})"));
        q.push(format!("clamp_max(g, {p})"));
        q.push(format!("holt_winters(g[5m], {p}, 0.5)"));
        q.push(format!("double_exponential_smoothing(g[5m], 0.5, {p})"));
    }
    for op in [
        "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "> bool", "and",
        "or", "unless",
    ] {
        q.push(format!("m_bucket {op} on(le) group_left(instance) g"));
        q.push(format!("m_bucket {op} ignoring(le) m_bucket"));
        q.push(format!("g {op} g"));
        q.push(format!("g {op} on() group_right m_bucket"));
        if !matches!(op, "and" | "or" | "unless") {
            q.push(format!("1 {op} g"));
            q.push(format!("g {op} NaN"));
        }
    }
    q.extend(
        [
            r#"count_values("v", g)"#,
            r#"count_values("1bad", g)"#,
            r#"label_replace(g, "dst", "$1-$2", "instance", "(.*)")"#,
            r#"label_replace(g, "1bad", "x", "instance", "(.*)")"#,
            r#"label_replace(g, "dst", "x", "instance", "(")"#,
            r#"label_join(m_bucket, "dst", ",", "job", "le")"#,
            r#"sort_by_label(m_bucket, "le")"#,
            r#"sort_by_label_desc(m_bucket, "le", "job")"#,
            "vector(time())",
            "time() + pi()",
            "-g",
            "-(-(g))",
            "g[5m]",
            "rate(g[5m])[30m:1m]",
            "max_over_time(rate(g[1m])[5m:] offset 10000000y)",
            "g offset 9000000000y",
            "g @ end() offset -1y",
            "sum(g) @ start()",
            "\"a string\"",
            "1 > bool 2",
            "absent_over_time(nothing{a=\"b\",a=\"c\"}[1m])",
            "g{instance=\"a\" or instance=\"b\"}",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    q
}

#[test]
fn no_query_panics() {
    let src = source();
    let engine = Engine::with_options(EngineOptions::default());
    let mut values = 0;
    for q in queries() {
        for t in [-500_000, 0, 300_000] {
            if let Ok(r) = engine.instant(&src, &q, t) {
                values += usize::from(!matches!(r.value, Value::Vector(ref v) if v.is_empty()));
            }
        }
        let _ = engine.range(&src, &q, -600_000, 600_000, 7_000);
    }
    assert!(
        values > 100,
        "most queries should produce values, only {values} did"
    );
}
