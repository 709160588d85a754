//! The human-readable tables of `pharos du`, from the `du` JSON of [`crate::ops::du`].

use crate::render;
use serde_json::Value;

/// Every `du` table: metrics partitions, trace partitions, top metric names, top services.
pub fn human(v: &Value) -> String {
    [
        metrics_partitions(&v["metrics"]),
        trace_partitions(&v["traces"]),
        top_metric_names(&v["metrics"]["top_metric_names"]),
        top_services(&v["traces"]["top_services"]),
    ]
    .join("\n")
}

/// The elements of a JSON array (none if it is not one).
fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
}

/// How a column shows its JSON value.
type Cell = fn(&Value) -> String;

/// A table with one row per element of the JSON array `v`; each column is a header, the
/// key of the element it shows, and how.
fn table_of(v: &Value, columns: &[(&str, &str, Cell)]) -> String {
    let header: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let rows: Vec<Vec<String>> = items(v)
        .map(|e| {
            columns
                .iter()
                .map(|(_, key, cell)| cell(&e[*key]))
                .collect()
        })
        .collect();
    render::table(&header, &rows)
}

fn metrics_partitions(m: &Value) -> String {
    let table = table_of(
        &m["partitions"],
        &[
            ("partition", "partition", text),
            ("series", "series", render::num),
            ("samples", "samples", render::num),
            ("disk", "disk_bytes", render::bytes_v),
            ("expires", "expires_ms", render::date_v),
        ],
    );
    format!(
        "Metrics partitions\n{table}chunks {}, index {}, WAL {}\n",
        render::bytes_v(&m["chunk_bytes"]),
        render::bytes_v(&m["index_bytes"]),
        render::bytes_v(&m["wal_bytes"]),
    )
}

fn trace_partitions(t: &Value) -> String {
    let table = table_of(
        &t["partitions"],
        &[
            ("partition", "partition", text),
            ("spans", "spans", render::num),
            ("disk", "disk_bytes", render::bytes_v),
            ("expires", "expires_ms", render::date_v),
        ],
    );
    format!("Trace partitions\n{table}")
}

/// `0.423` as `42.3%`.
fn percent(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "-".to_owned(), |f| format!("{:.1}%", f * 100.0))
}

fn top_metric_names(top: &Value) -> String {
    let table = table_of(
        &top["top"],
        &[
            ("metric", "metric", text),
            ("series", "series", render::num),
            ("bytes", "bytes", render::bytes_v),
            ("share", "share", percent),
        ],
    );
    format!(
        "Top metric names (by bytes in the chunk files; {} names, {} in all)\n{table}",
        render::num(&top["names"]),
        render::bytes_v(&top["chunk_bytes"]),
    )
}

fn top_services(top: &Value) -> String {
    let table = table_of(
        &top["top"],
        &[
            ("service", "service", text),
            ("spans", "spans", render::num),
            ("bytes", "bytes", render::bytes_v),
            ("bytes/span", "bytes_per_span", render::num),
        ],
    );
    format!(
        "Top services (by bytes on disk; {} services, {} spans, {} in all)\n{table}",
        render::num(&top["services"]),
        render::num(&top["spans"]),
        render::bytes_v(&top["bytes"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_metric_names_table() {
        let v = serde_json::json!({"names": 2, "chunk_bytes": 4096, "top": [
            {"metric": "big", "series": 3, "bytes": 3072, "share": 0.75},
            {"metric": "small", "series": 1, "bytes": 1024, "share": 0.25},
        ]});
        assert_eq!(
            top_metric_names(&v),
            "Top metric names (by bytes in the chunk files; 2 names, 4.0 KiB in all)\n\
             metric  series  bytes    share\n\
             big     3       3.0 KiB  75.0%\n\
             small   1       1.0 KiB  25.0%\n"
        );
    }
}
