//! `POST /api/v1/write`: Prometheus remote-write 1.0.

use crate::error::IngestError;
use crate::proto::{metric_type_name, WriteRequest};
use crate::rejections::Rejected;
use crate::self_metrics::metrics;
use crate::{request, wire, IngestState};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use bytes::Bytes;
use pharos_model::{Exemplar, Labels, MetricMetadata};
use pharos_tsdb::{RowLabels, SeriesRow};
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

/// Decompresses a snappy block-format body. The length the snappy header claims is checked
/// against `max_decompressed` before anything is allocated.
pub fn decompress(body: &[u8], max_decompressed: usize) -> Result<Vec<u8>, IngestError> {
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
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| IngestError::BadRequest(format!("corrupt snappy data: {e}")))
}

/// Decompresses and decodes a remote-write body (the entry point the fuzz target drives).
pub fn decode(body: &[u8], max_decompressed: usize) -> Result<WriteRequest, IngestError> {
    let raw = decompress(body, max_decompressed)?;
    WriteRequest::decode(bytes::Bytes::from(raw))
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

/// Stores a decompressed request; returns what was rejected (if anything).
///
/// Series labels go to the store as raw bytes with a key over their wire encoding: the
/// store checks them (UTF-8 included) only for series it has not seen in those bytes.
pub fn store(state: &IngestState, raw: &[u8]) -> Result<Rejected, IngestError> {
    let req = wire::decode(raw)
        .map_err(|e| IngestError::BadRequest(format!("invalid WriteRequest protobuf: {}", e.0)))?;
    let mut rejected = Rejected::default();
    // Exemplars per series (an empty vector allocates nothing).
    let exemplars: Vec<Vec<Exemplar>> = req
        .series
        .iter()
        .map(|s| {
            req.exemplars[s.exemplars.clone()]
                .iter()
                .filter_map(|e| {
                    let mut el = Vec::new();
                    pharos_tsdb::utf8_label_pairs(&req.labels[e.labels.clone()], &mut el).ok()?;
                    Some(Exemplar {
                        labels: Labels::from_pairs(el),
                        value: e.value,
                        t: e.t,
                    })
                })
                .collect()
        })
        .collect();
    let mut scratch = Vec::new();
    let mut rows: Vec<SeriesRow> = Vec::with_capacity(req.series.len());
    for (s, exemplars) in req.series.iter().zip(&exemplars) {
        if s.histograms > 0 {
            rejected.add(
                "native_histograms_unsupported",
                s.histograms as u64,
                "native histograms are not supported; send classic histograms".into(),
            );
        }
        let pairs = &req.labels[s.labels.clone()];
        let key = match &s.label_bytes {
            Some(r) => pharos_tsdb::wire_key(&raw[r.clone()]),
            None => {
                // Label fields interleaved with others (legal, but no sender does it):
                // key the pairs themselves.
                scratch.clear();
                for (n, v) in pairs {
                    scratch.extend_from_slice(&(n.len() as u64).to_le_bytes());
                    scratch.extend_from_slice(n);
                    scratch.extend_from_slice(&(v.len() as u64).to_le_bytes());
                    scratch.extend_from_slice(v);
                }
                pharos_tsdb::wire_key(&scratch)
            }
        };
        rows.push(SeriesRow {
            labels: RowLabels::Wire { key, pairs },
            samples: &req.samples[s.samples.clone()],
            exemplars,
        });
    }
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
    if let Err(e) = check_headers(&headers) {
        return request::answer(ENDPOINT, Err(e));
    }
    request::decode_and_store(ENDPOINT, state, body, |st, body| {
        let raw = decompress(body, st.max_decompressed)?;
        request::count_bytes(ENDPOINT, "decompressed", raw.len());
        store(st, &raw)
    })
    .await
}
