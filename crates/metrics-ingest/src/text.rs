//! `POST /api/v1/import/prometheus`: the Prometheus text exposition format, as
//! VictoriaMetrics offers it, so curl and cron jobs can push.
//!
//! `# HELP` and `# TYPE` lines are read with `prometheus-parse`'s line parser. Sample lines
//! are parsed here: `prometheus-parse` drops metric names with colons and label values
//! containing `,`, `=` or `}`, which real exporters produce. Timestamps are optional
//! (milliseconds); lines without one get the request's arrival time. `extra_label=k=v`
//! query parameters add (or override) labels on every series.

use crate::error::IngestError;
use crate::rejections::Rejected;
use crate::self_metrics::metrics;
use crate::{request, IngestState};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use bytes::Bytes;
use pharos_model::{MetricMetadata, Sample};
use pharos_tsdb::SeriesRow;
use prometheus_parse::{LineInfo, SampleType};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

const ENDPOINT: &str = "import_prometheus";

/// One sample line.
#[derive(Debug, PartialEq)]
pub struct TextSample {
    pub labels: Vec<(String, String)>,
    pub sample: Sample,
}

#[derive(Debug, Default)]
pub struct ParsedText {
    pub samples: Vec<TextSample>,
    pub metadata: Vec<MetricMetadata>,
    /// (1-based line number, message) of lines that could not be parsed.
    pub errors: Vec<(usize, String)>,
}

/// Parses a text-format body. Bad lines are reported in `errors`; the others are kept.
pub fn parse_text(body: &str, default_t: i64, extra: &[(String, String)]) -> ParsedText {
    let mut out = ParsedText::default();
    let mut meta: BTreeMap<String, MetricMetadata> = BTreeMap::new();
    for (i, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            match LineInfo::parse(line) {
                LineInfo::Doc { metric_name, doc } => {
                    entry(&mut meta, metric_name).help = unescape_help(doc);
                }
                LineInfo::Type {
                    metric_name,
                    metric_alias,
                    sample_type,
                } => {
                    let name = metric_alias.unwrap_or(metric_name);
                    entry(&mut meta, &name).kind = match sample_type {
                        SampleType::Counter => "counter",
                        SampleType::Gauge => "gauge",
                        SampleType::Histogram => "histogram",
                        SampleType::Summary => "summary",
                        SampleType::Untyped => "unknown",
                    }
                    .into();
                }
                _ => {} // other comments
            }
            continue;
        }
        match parse_sample_line(line, default_t) {
            Ok(mut s) => {
                for (k, v) in extra {
                    match s.labels.iter_mut().find(|(n, _)| n == k) {
                        Some(l) => l.1 = v.clone(),
                        None => s.labels.push((k.clone(), v.clone())),
                    }
                }
                out.samples.push(s);
            }
            Err(e) => out.errors.push((i + 1, e)),
        }
    }
    out.metadata = meta.into_values().collect();
    out
}

fn entry<'a>(meta: &'a mut BTreeMap<String, MetricMetadata>, name: &str) -> &'a mut MetricMetadata {
    meta.entry(name.to_owned())
        .or_insert_with(|| MetricMetadata {
            metric: name.to_owned(),
            kind: "unknown".into(),
            help: String::new(),
            unit: String::new(),
        })
}

fn unescape_help(s: &str) -> String {
    s.replace("\\n", "\n").replace("\\\\", "\\")
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Parses `name{a="b",c="d"} value [timestamp]`.
pub fn parse_sample_line(line: &str, default_t: i64) -> Result<TextSample, String> {
    let b = line.as_bytes();
    let mut i = 0;
    if b.is_empty() || !is_name_start(b[0]) {
        return Err(format!(
            "expected a metric name at the start of {:?}",
            preview(line)
        ));
    }
    while i < b.len() && is_name_char(b[i]) {
        i += 1;
    }
    let name = &line[..i];
    let mut labels = vec![("__name__".to_owned(), name.to_owned())];
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            while b.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
                i += 1;
            }
            match b.get(i) {
                Some(b'}') => {
                    i += 1;
                    break;
                }
                None => return Err("unterminated label set".into()),
                _ => {}
            }
            let start = i;
            if !b
                .get(i)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            {
                return Err(format!("invalid label name at column {}", i + 1));
            }
            while b
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let lname = &line[start..i];
            while b.get(i).is_some_and(|c| *c == b' ') {
                i += 1;
            }
            if b.get(i) != Some(&b'=') {
                return Err(format!("expected '=' after label name {lname:?}"));
            }
            i += 1;
            while b.get(i).is_some_and(|c| *c == b' ') {
                i += 1;
            }
            if b.get(i) != Some(&b'"') {
                return Err(format!(
                    "expected '\"' to open the value of label {lname:?}"
                ));
            }
            i += 1;
            let mut value = String::new();
            loop {
                match b.get(i) {
                    None => return Err(format!("unterminated value of label {lname:?}")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        match b.get(i + 1) {
                            Some(b'n') => value.push('\n'),
                            Some(b'\\') => value.push('\\'),
                            Some(b'"') => value.push('"'),
                            _ => return Err(format!("invalid escape in value of label {lname:?}")),
                        }
                        i += 2;
                    }
                    Some(_) => {
                        // Copy one UTF-8 character (the input is a &str, so boundaries are valid).
                        let ch = line[i..].chars().next().ok_or("truncated label value")?;
                        value.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            if labels.iter().any(|(n, _)| n == lname) {
                return Err(format!("duplicate label name {lname:?}"));
            }
            labels.push((lname.to_owned(), value));
            while b.get(i).is_some_and(|c| *c == b' ') {
                i += 1;
            }
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => {
                    return Err(format!(
                        "expected ',' or '}}' after the value of label {lname:?}"
                    ))
                }
            }
        }
    }
    let rest = &line[i..];
    if !rest.starts_with([' ', '\t']) {
        return Err(format!(
            "expected a space and a value after {:?}",
            preview(&line[..i])
        ));
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("missing value")?;
    let v = parse_value(value).ok_or_else(|| format!("invalid value {value:?}"))?;
    let t = match fields.next() {
        Some(ts) => ts
            .parse::<i64>()
            .map_err(|_| format!("invalid timestamp {ts:?} (expected integer milliseconds)"))?,
        None => default_t,
    };
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected {extra:?} after the timestamp"));
    }
    Ok(TextSample {
        labels,
        sample: Sample { t, v },
    })
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

fn preview(s: &str) -> String {
    s.chars().take(80).collect()
}

/// `extra_label=name=value` query parameters.
fn extra_labels(params: &[(String, String)]) -> Result<Vec<(String, String)>, IngestError> {
    let mut out = Vec::new();
    for (k, v) in params {
        if k != "extra_label" {
            continue;
        }
        let (name, value) = v.split_once('=').ok_or_else(|| {
            IngestError::BadRequest(format!("extra_label {v:?} must look like name=value"))
        })?;
        if !pharos_tsdb_label_name_ok(name) {
            return Err(IngestError::BadRequest(format!(
                "extra_label name {name:?} is not a valid label name"
            )));
        }
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn pharos_tsdb_label_name_ok(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The body as text, gunzipped (bounded) if `Content-Encoding: gzip`.
pub fn body_text(
    headers: &HeaderMap,
    body: &[u8],
    max_decompressed: usize,
) -> Result<String, IngestError> {
    let enc = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let raw = match enc.as_str() {
        "" | "identity" => {
            if body.len() > max_decompressed {
                return Err(IngestError::TooLarge(format!(
                    "body of {} bytes is over the limit of {max_decompressed}",
                    body.len()
                )));
            }
            body.to_vec()
        }
        "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(max_decompressed as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| IngestError::BadRequest(format!("invalid gzip body: {e}")))?;
            if out.len() > max_decompressed {
                return Err(IngestError::TooLarge(format!(
                    "body decompresses to more than the limit of {max_decompressed} bytes (limits.max_decompressed_bytes)"
                )));
            }
            out
        }
        other => {
            return Err(IngestError::UnsupportedMediaType(format!(
                "unsupported content encoding {other:?} (gzip or none)"
            )))
        }
    };
    String::from_utf8(raw).map_err(|e| {
        IngestError::BadRequest(format!(
            "body is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Appends parsed text-format samples and their metadata to the TSDB (used by the import
/// endpoint and by the server's self-monitoring).
pub fn append_parsed(
    tsdb: &pharos_tsdb::Tsdb,
    parsed: &ParsedText,
) -> Result<pharos_tsdb::AppendOutcome, pharos_tsdb::TsdbError> {
    let labels: Vec<Vec<(&str, &str)>> = parsed
        .samples
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect()
        })
        .collect();
    let rows: Vec<SeriesRow> = labels
        .iter()
        .zip(&parsed.samples)
        .map(|(l, s)| SeriesRow {
            labels: l.into(),
            samples: std::slice::from_ref(&s.sample),
            exemplars: &[],
        })
        .collect();
    tsdb.append(&rows, &parsed.metadata)
}

fn store(state: &IngestState, parsed: &ParsedText) -> Result<Rejected, IngestError> {
    let mut rejected = Rejected::default();
    for (line, msg) in &parsed.errors {
        rejected.add("invalid_line", 1, format!("line {line}: {msg}"));
    }
    let outcome = append_parsed(&state.tsdb, parsed)?;
    metrics()
        .rows
        .with_label_values(&[ENDPOINT])
        .inc_by(outcome.samples_accepted);
    rejected.merge_outcome(&outcome);
    Ok(rejected)
}

pub async fn handler(
    State(state): State<Arc<IngestState>>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let extra = match extra_labels(&params) {
        Ok(extra) => extra,
        Err(e) => return request::answer(ENDPOINT, Err(e)),
    };
    request::decode_and_store(ENDPOINT, state, body, move |st, body| {
        let text = body_text(&headers, body, st.max_decompressed)?;
        request::count_bytes(ENDPOINT, "decompressed", text.len());
        let parsed = parse_text(&text, pharos_tsdb::now_ms(), &extra);
        store(st, &parsed)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exporter_output() {
        let body = r#"
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
# A comment
job:rate5m{path="/a,b=c}",msg="say \"hi\"\n"} 1.5e3
# TYPE rpc histogram
rpc_bucket{le="+Inf"} +Inf
nan_value NaN
bad line here
"#;
        let p = parse_text(body, 42, &[("env".into(), "prod".into())]);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(p.errors[0].0, 11);
        assert_eq!(p.samples.len(), 5);
        assert_eq!(
            p.samples[0].sample,
            Sample {
                t: 1_395_066_363_000,
                v: 1027.0
            }
        );
        let colon = &p.samples[2];
        assert_eq!(colon.labels[0], ("__name__".into(), "job:rate5m".into()));
        assert_eq!(colon.labels[1], ("path".into(), "/a,b=c}".into()));
        assert_eq!(colon.labels[2], ("msg".into(), "say \"hi\"\n".into()));
        assert_eq!(colon.labels[3], ("env".into(), "prod".into()));
        assert_eq!(colon.sample.t, 42);
        assert!(p.samples[4].sample.v.is_nan());
        let kinds: Vec<_> = p
            .metadata
            .iter()
            .map(|m| (m.metric.as_str(), m.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [("http_requests_total", "counter"), ("rpc", "histogram")]
        );
        assert_eq!(p.metadata[0].help, "The total number of HTTP requests.");
    }

    #[test]
    fn bad_lines_name_the_problem() {
        for (line, needle) in [
            ("1abc 1", "metric name"),
            ("a{b=\"1\" 1", "expected ','"),
            ("a{b=\"1\",b=\"2\"} 1", "duplicate"),
            ("a 1 2 3", "unexpected"),
            ("a x", "invalid value"),
            ("a{b=\"\\x\"} 1", "escape"),
            ("a 1 1.5", "timestamp"),
            ("a", "value"),
        ] {
            let err = parse_sample_line(line, 0).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
