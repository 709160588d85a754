//! `POST /api/v1/write`: Prometheus remote-write 1.0.

use crate::error::IngestError;
use crate::proto::{metric_type_name, WriteRequest};
use crate::rejections::Rejected;
use crate::self_metrics::metrics;
use crate::IngestState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use pharos_model::{Exemplar, Labels, MetricMetadata, Sample};
use pharos_tsdb::SeriesRow;
use prost::Message;
use std::sync::Arc;

const ENDPOINT: &str = "remote_write";

/// Checks `Content-Type` and `Content-Encoding` of a remote-write request.
///
/// Accepted: `application/x-protobuf` (optionally `;proto=prometheus.WriteRequest`), or no
/// content type; `snappy` encoding or none (Prometheus always sends snappy). Remote-write
/// 2.0 (`proto=io.prometheus.write.v2.Request`) and anything else get 415.
pub fn check_headers(headers: &HeaderMap) -> Result<(), IngestError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let mut parts = ct.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if media != "application/x-protobuf" {
            return Err(IngestError::UnsupportedMediaType(format!(
                "unsupported content type {media:?}: remote-write 1.0 needs application/x-protobuf"
            )));
        }
        for p in parts {
            if let Some(proto) = p.strip_prefix("proto=") {
                if proto != "prometheus.writerequest" {
                    return Err(IngestError::UnsupportedMediaType(format!(
                        "unsupported remote-write message {proto:?}: only remote-write 1.0 (prometheus.WriteRequest) is supported"
                    )));
                }
            }
        }
    }
    if let Some(enc) = headers.get(header::CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("").trim().to_ascii_lowercase();
        if enc != "snappy" && !enc.is_empty() {
            return Err(IngestError::UnsupportedMediaType(format!(
                "unsupported content encoding {enc:?}: remote-write bodies are snappy block-compressed"
            )));
        }
    }
    Ok(())
}

/// Decompresses (snappy block format) and decodes a remote-write body. The length the
/// snappy header claims is checked against `max_decompressed` before anything is allocated.
pub fn decode(body: &[u8], max_decompressed: usize) -> Result<WriteRequest, IngestError> {
    if body.is_empty() {
        return Err(IngestError::BadRequest(
            "empty body: expected a snappy-compressed WriteRequest".into(),
        ));
    }
    let len = snappy_claimed_len(body).ok_or_else(|| {
        IngestError::BadRequest(
            "body is not snappy block-compressed data (bad length header)".into(),
        )
    })?;
    if len > max_decompressed as u64 {
        return Err(IngestError::TooLarge(format!(
            "body decompresses to {len} bytes, more than the limit of {max_decompressed} (limits.max_decompressed_bytes)"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| IngestError::BadRequest(format!("corrupt snappy data: {e}")))?;
    WriteRequest::decode(Bytes::from(raw))
        .map_err(|e| IngestError::BadRequest(format!("invalid WriteRequest protobuf: {e}")))
}

/// The decompressed length a snappy block claims in its varint header.
fn snappy_claimed_len(body: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, b) in body.iter().take(10).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, String> {
    std::str::from_utf8(b).map_err(|_| format!("{what} is not valid UTF-8"))
}

/// Stores a decoded request; returns what was rejected (if anything).
pub fn store(state: &IngestState, req: &WriteRequest) -> Result<Rejected, IngestError> {
    let mut rejected = Rejected::default();
    let n = req.timeseries.len();
    let mut labels: Vec<Vec<(&str, &str)>> = Vec::with_capacity(n);
    let mut samples: Vec<Vec<Sample>> = Vec::with_capacity(n);
    let mut exemplars: Vec<Vec<Exemplar>> = Vec::with_capacity(n);
    for ts in &req.timeseries {
        if !ts.histograms.is_empty() {
            rejected.add(
                "native_histograms_unsupported",
                ts.histograms.len() as u64,
                "native histograms are not supported; send classic histograms".into(),
            );
        }
        let pairs: Result<Vec<(&str, &str)>, String> = ts
            .labels
            .iter()
            .map(|l| Ok((utf8(&l.name, "label name")?, utf8(&l.value, "label value")?)))
            .collect();
        let pairs = match pairs {
            Ok(p) => p,
            Err(msg) => {
                rejected.add("invalid_utf8", ts.samples.len() as u64, msg);
                continue;
            }
        };
        let mut ex = Vec::new();
        for e in &ts.exemplars {
            let el: Option<Vec<(&str, &str)>> = e
                .labels
                .iter()
                .map(|l| {
                    Some((
                        std::str::from_utf8(&l.name).ok()?,
                        std::str::from_utf8(&l.value).ok()?,
                    ))
                })
                .collect();
            if let Some(el) = el {
                ex.push(Exemplar {
                    labels: Labels::from_pairs(el),
                    value: e.value,
                    t: e.timestamp,
                });
            }
        }
        labels.push(pairs);
        samples.push(
            ts.samples
                .iter()
                .map(|s| Sample {
                    t: s.timestamp,
                    v: s.value,
                })
                .collect(),
        );
        exemplars.push(ex);
    }
    let rows: Vec<SeriesRow> = labels
        .iter()
        .zip(&samples)
        .zip(&exemplars)
        .map(|((l, s), e)| SeriesRow {
            labels: l,
            samples: s,
            exemplars: e,
        })
        .collect();
    let metadata: Vec<MetricMetadata> = req
        .metadata
        .iter()
        .filter(|m| !m.metric_family_name.is_empty())
        .map(|m| MetricMetadata {
            metric: m.metric_family_name.clone(),
            kind: metric_type_name(m.r#type).into(),
            help: m.help.clone(),
            unit: m.unit.clone(),
        })
        .collect();
    let outcome = state.tsdb.append(&rows, &metadata)?;
    metrics()
        .rows
        .with_label_values(&[ENDPOINT])
        .inc_by(outcome.samples_accepted);
    rejected.merge_outcome(&outcome);
    Ok(rejected)
}

pub async fn handler(
    State(state): State<Arc<IngestState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        check_headers(&headers)?;
        metrics()
            .bytes
            .with_label_values(&[ENDPOINT, "received"])
            .inc_by(body.len() as u64);
        let st = state.clone();
        tokio::task::spawn_blocking(move || {
            let req = decode(&body, st.max_decompressed)?;
            metrics()
                .bytes
                .with_label_values(&[ENDPOINT, "decompressed"])
                .inc_by(req.encoded_len() as u64);
            store(&st, &req)
        })
        .await
        .map_err(|e| IngestError::Internal(format!("ingest task failed: {e}")))?
    }
    .await;
    let response = match result {
        Ok(rejected) if rejected.is_empty() => StatusCode::NO_CONTENT.into_response(),
        Ok(rejected) => rejected.into_error(ENDPOINT).into_response(),
        Err(e) => e.into_response(),
    };
    metrics()
        .requests
        .with_label_values(&[ENDPOINT, response.status().as_str()])
        .inc();
    response
}
