//! `GET /api/v1/export`: raw samples as JSON lines, VictoriaMetrics's format:
//! `{"metric":{"__name__":"up","job":"a"},"values":[1,0],"timestamps":[1700000000000,1700000015000]}`
//!
//! Parameters: `match[]` (one or more series selectors, required), `start` and `end` (unix
//! seconds with optional fraction, or RFC 3339; default: the whole retention period up to
//! now). Non-finite values are written as the strings `"NaN"`, `"+Inf"`, `"-Inf"` (JSON has
//! no such numbers); staleness markers export as `"NaN"`. The response streams series by
//! series, so exports larger than memory work.

use crate::error::IngestError;
use crate::self_metrics::metrics;
use crate::IngestState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pharos_model::{Matcher, SeriesData};
use std::collections::HashSet;
use std::sync::Arc;

const CHUNK: usize = 64 << 10;

/// Parses a time parameter into milliseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() {
            return Ok((f * 1000.0).round() as i64);
        }
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|_| format!("cannot parse {s:?} as unix seconds or RFC 3339 time"))
}

/// Each `match[]` selector as its matcher sets (one per `or` alternative).
pub fn parse_matchers(selectors: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let mut out = Vec::new();
    for s in selectors {
        let expr =
            pharos_promql::parse(s).map_err(|e| format!("invalid match[] {s:?}: {}", e.message))?;
        match expr {
            promql_parser::parser::Expr::VectorSelector(vs) => out.extend(
                pharos_promql::selector_matchers(&vs)
                    .map_err(|e| format!("invalid match[] {s:?}: {}", e.message))?,
            ),
            _ => return Err(format!("match[] {s:?} is not a series selector")),
        }
    }
    Ok(out)
}

/// Appends one series as a JSON line.
pub fn write_line(series: &SeriesData, out: &mut Vec<u8>) {
    let metric: serde_json::Map<String, serde_json::Value> = series
        .labels
        .iter()
        .map(|l| {
            (
                l.name.to_string(),
                serde_json::Value::String(l.value.to_string()),
            )
        })
        .collect();
    out.extend_from_slice(b"{\"metric\":");
    out.extend_from_slice(
        serde_json::to_string(&metric)
            .unwrap_or_else(|_| "{}".into())
            .as_bytes(),
    );
    out.extend_from_slice(b",\"values\":[");
    for (i, s) in series.samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if s.v.is_finite() {
            // serde_json writes the shortest representation that round-trips.
            out.extend_from_slice(
                serde_json::to_string(&s.v)
                    .unwrap_or_else(|_| "null".into())
                    .as_bytes(),
            );
        } else if s.v.is_nan() {
            out.extend_from_slice(b"\"NaN\"");
        } else if s.v > 0.0 {
            out.extend_from_slice(b"\"+Inf\"");
        } else {
            out.extend_from_slice(b"\"-Inf\"");
        }
    }
    out.extend_from_slice(b"],\"timestamps\":[");
    for (i, s) in series.samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(s.t.to_string().as_bytes());
    }
    out.extend_from_slice(b"]}\n");
}

pub async fn handler(
    State(state): State<Arc<IngestState>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let prepared = (|| -> Result<(Vec<Vec<Matcher>>, i64, i64), IngestError> {
        let selectors: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == "match[]")
            .map(|(_, v)| v.as_str())
            .collect();
        if selectors.is_empty() {
            return Err(IngestError::BadRequest(
                "missing match[] parameter: give at least one series selector".into(),
            ));
        }
        let sets = parse_matchers(&selectors).map_err(IngestError::BadRequest)?;
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let start = get("start")
            .map(parse_time)
            .transpose()
            .map_err(|e| IngestError::BadRequest(format!("start: {e}")))?
            .unwrap_or(i64::MIN);
        let end = get("end")
            .map(parse_time)
            .transpose()
            .map_err(|e| IngestError::BadRequest(format!("end: {e}")))?
            .unwrap_or_else(pharos_tsdb::now_ms);
        if start > end {
            return Err(IngestError::BadRequest("start is after end".into()));
        }
        Ok((sets, start, end))
    })();
    let (sets, start, end) = match prepared {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let tsdb = state.tsdb.clone();
    tokio::task::spawn_blocking(move || {
        let mut seen = HashSet::new();
        let mut buf = Vec::with_capacity(CHUNK * 2);
        let mut n = 0u64;
        for matchers in &sets {
            let result = tsdb.export(matchers, start, end, |series| {
                if sets.len() > 1 && !seen.insert(series.labels.clone()) {
                    return true;
                }
                write_line(&series, &mut buf);
                n += 1;
                if buf.len() >= CHUNK {
                    let chunk = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK * 2));
                    // A closed channel means the client went away: stop reading.
                    return tx.blocking_send(Ok(chunk)).is_ok();
                }
                true
            });
            if let Err(e) = result {
                tracing::warn!(error = %e, "export failed mid-stream");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        }
        if !buf.is_empty() {
            let _ = tx.blocking_send(Ok(buf));
        }
        metrics()
            .exported_series
            .with_label_values(&["jsonl"])
            .inc_by(n);
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/stream+json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_model::{Labels, Sample};

    #[test]
    fn line_format_matches_victoriametrics() {
        let s = SeriesData {
            labels: Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]),
            samples: vec![
                Sample { t: 1000, v: 1.0 },
                Sample { t: 2000, v: 0.25 },
                Sample {
                    t: 3000,
                    v: f64::NAN,
                },
            ],
        };
        let mut out = Vec::new();
        write_line(&s, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\\\"b\"},\"values\":[1.0,0.25,\"NaN\"],\"timestamps\":[1000,2000,3000]}\n"
        );
        assert_eq!(parse_time("1.5").unwrap(), 1500);
        assert_eq!(
            parse_time("2026-11-21T00:00:00Z").unwrap(),
            1_795_219_200_000
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_matchers(&["up{job=~\"a|b\"}"]).unwrap()[0].len(), 2);
        assert!(parse_matchers(&["rate(x[5m])"]).is_err());
    }
}
