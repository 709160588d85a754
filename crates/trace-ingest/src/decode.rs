//! Request bodies to an `ExportTraceServiceRequest`: content type and encoding checks,
//! bounded decompression (gzip, deflate), protobuf or OTLP/JSON decoding, id lengths.

use crate::json;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::io::Read;

/// The body format, from `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// `None` for content types OTLP/HTTP does not define (answered 415).
    pub fn from_content_type(value: Option<&str>) -> Option<Format> {
        let media = value?.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Format::Protobuf),
            "application/json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Protobuf => "protobuf",
            Format::Json => "json",
        }
    }
}

/// The body compression, from `Content-Encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

impl Encoding {
    /// `None` for encodings not supported (answered 415).
    pub fn from_header(value: Option<&str>) -> Option<Encoding> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("identity") => Some(Encoding::Identity),
            Some("gzip") | Some("x-gzip") => Some(Encoding::Gzip),
            Some("deflate") => Some(Encoding::Deflate),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Larger than the limit once decompressed (413).
    #[error("request body is larger than {limit} bytes after decompression")]
    TooLarge { limit: usize },
    /// Not valid for its encoding or format (400).
    #[error("{0}")]
    Invalid(String),
}

/// Decompresses `body` without ever holding more than `limit` bytes.
pub fn decompress(body: &[u8], encoding: Encoding, limit: usize) -> Result<Vec<u8>, DecodeError> {
    let reader: Box<dyn Read + '_> = match encoding {
        Encoding::Identity => {
            if body.len() > limit {
                return Err(DecodeError::TooLarge { limit });
            }
            return Ok(body.to_vec());
        }
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(body)),
        Encoding::Deflate => Box::new(flate2::read::ZlibDecoder::new(body)),
    };
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Invalid(format!("cannot decompress the body: {e}")))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

/// Decodes an uncompressed body and checks id lengths (16-byte trace ids, 8-byte span
/// ids, empty allowed) as the OpenTelemetry Collector does.
pub fn decode(body: &[u8], format: Format) -> Result<ExportTraceServiceRequest, DecodeError> {
    let req = match format {
        Format::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| DecodeError::Invalid(format!("invalid OTLP protobuf: {e}")))?,
        Format::Json => json::decode(body)?,
    };
    check_ids(&req)?;
    Ok(req)
}

fn check_ids(req: &ExportTraceServiceRequest) -> Result<(), DecodeError> {
    let bad = |what: &str, len: usize, want: usize| {
        Err(DecodeError::Invalid(format!(
            "invalid {what} length {len} bytes (must be {want} or empty)"
        )))
    };
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                if !matches!(s.trace_id.len(), 0 | 16) {
                    return bad("trace id", s.trace_id.len(), 16);
                }
                for (what, id) in [
                    ("span id", &s.span_id),
                    ("parent span id", &s.parent_span_id),
                ] {
                    if !matches!(id.len(), 0 | 8) {
                        return bad(what, id.len(), 8);
                    }
                }
                for l in &s.links {
                    if !matches!(l.trace_id.len(), 0 | 16) {
                        return bad("link trace id", l.trace_id.len(), 16);
                    }
                    if !matches!(l.span_id.len(), 0 | 8) {
                        return bad("link span id", l.span_id.len(), 8);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn content_types_and_encodings() {
        assert_eq!(
            Format::from_content_type(Some("application/x-protobuf")),
            Some(Format::Protobuf)
        );
        assert_eq!(
            Format::from_content_type(Some("Application/JSON; charset=utf-8")),
            Some(Format::Json)
        );
        assert_eq!(Format::from_content_type(Some("text/plain")), None);
        assert_eq!(Format::from_content_type(None), None);
        assert_eq!(Encoding::from_header(None), Some(Encoding::Identity));
        assert_eq!(Encoding::from_header(Some("GZIP")), Some(Encoding::Gzip));
        assert_eq!(Encoding::from_header(Some("br")), None);
    }

    #[test]
    fn decompression_is_bounded() {
        let zeros = vec![0u8; 10 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 100 << 10);
        assert_eq!(
            decompress(&bomb, Encoding::Gzip, 1 << 20),
            Err(DecodeError::TooLarge { limit: 1 << 20 })
        );
        assert_eq!(
            decompress(&bomb, Encoding::Gzip, 10 << 20).unwrap().len(),
            10 << 20
        );
        assert!(matches!(
            decompress(b"not gzip", Encoding::Gzip, 100),
            Err(DecodeError::Invalid(_))
        ));
        assert_eq!(
            decompress(b"abc", Encoding::Identity, 2),
            Err(DecodeError::TooLarge { limit: 2 })
        );
    }

    #[test]
    fn garbage_and_wrong_id_lengths_are_invalid() {
        assert!(matches!(
            decode(b"\xff\xff\xff\xff", Format::Protobuf),
            Err(DecodeError::Invalid(_))
        ));
        let json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708"}]}]}]}"#;
        let err = decode(json, Format::Json).unwrap_err();
        assert!(err.to_string().contains("trace id length 2"), "{err}");
    }
}
