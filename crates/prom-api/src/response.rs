//! Prometheus's JSON envelope and value encoding, byte-compatible with its API.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pharos_model::Labels;
use pharos_promql::{QueryError, Value};

/// An error answered as `{"status":"error","errorType":…,"error":…}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad_data(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error_type: "bad_data",
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error_type: "internal",
            message: message.into(),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let status =
            StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError {
            status,
            error_type: e.kind.as_str(),
            message: e.message,
        }
    }
}

impl From<pharos_model::SourceError> for ApiError {
    fn from(e: pharos_model::SourceError) -> Self {
        ApiError::from(QueryError::from(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::metrics::error(self.error_type);
        if self.status.is_server_error() {
            tracing::warn!(error_type = self.error_type, error = %self.message, "query API error");
        }
        let mut body = String::from("{\"status\":\"error\",\"errorType\":");
        body.push_str(&json_str(self.error_type));
        body.push_str(",\"error\":");
        body.push_str(&json_str(&self.message));
        body.push('}');
        json_response(self.status, body)
    }
}

/// `{"status":"success","data":<data>[,"warnings":[…]][,"infos":[…]]}` with `data` already JSON.
pub fn success_raw(data: &str, warnings: &[String], infos: &[String]) -> Response {
    let mut body = String::with_capacity(data.len() + 64);
    body.push_str("{\"status\":\"success\",\"data\":");
    body.push_str(data);
    if !warnings.is_empty() {
        body.push_str(",\"warnings\":");
        body.push_str(&serde_json::to_string(warnings).unwrap_or_else(|_| "[]".into()));
    }
    if !infos.is_empty() {
        body.push_str(",\"infos\":");
        body.push_str(&serde_json::to_string(infos).unwrap_or_else(|_| "[]".into()));
    }
    body.push('}');
    json_response(StatusCode::OK, body)
}

/// Success with a serde-serialisable `data`.
pub fn success<T: serde::Serialize>(data: &T, warnings: &[String]) -> Response {
    match serde_json::to_string(data) {
        Ok(d) => success_raw(&d, warnings, &[]),
        Err(e) => ApiError::internal(format!("encoding the response: {e}")).into_response(),
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `s` as a JSON string, appended to `out`. Strings without characters to escape (label
/// names and almost all values) are copied as they are.
fn write_json_str(out: &mut String, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(&json_str(s));
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// A sample value as Prometheus writes it: a string, `NaN`, `+Inf`, `-Inf`.
pub fn write_value(out: &mut String, v: f64) {
    out.push('"');
    pharos_promql::labels::write_float(out, v);
    out.push('"');
}

/// A timestamp as Prometheus writes it: seconds with up to three decimals (`1.5` as `1.500`).
pub fn write_timestamp(out: &mut String, t_ms: i64) {
    let t = t_ms.unsigned_abs();
    if t_ms < 0 {
        out.push('-');
    }
    out.push_str(itoa::Buffer::new().format(t / 1000));
    let frac = t % 1000;
    if frac != 0 {
        out.push('.');
        for d in [frac / 100, frac / 10 % 10, frac % 10] {
            out.push(char::from(b'0' + d as u8));
        }
    }
}

pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, &l.name);
        out.push(':');
        write_json_str(out, &l.value);
    }
    out.push('}');
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push(',');
    write_value(out, v);
    out.push(']');
}

/// `{"resultType":…,"result":…}` for a query result.
pub fn encode_value(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"resultType\":\"");
    out.push_str(value.type_name());
    out.push_str("\",\"result\":");
    match value {
        Value::Scalar(p) => write_point(&mut out, p.t, p.v),
        Value::String { t, s } => {
            out.push('[');
            write_timestamp(&mut out, *t);
            out.push(',');
            write_json_str(&mut out, s);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                out.push_str(",\"value\":");
                write_point(&mut out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(&mut out, p.t, p.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_promql::{InstantSample, Point};

    #[test]
    fn encodes_like_prometheus() {
        let mut s = String::new();
        write_timestamp(&mut s, 1_435_781_451_781);
        assert_eq!(s, "1435781451.781");
        s.clear();
        write_timestamp(&mut s, 4000);
        assert_eq!(s, "4");
        s.clear();
        write_timestamp(&mut s, 1500);
        assert_eq!(s, "1.500");
        s.clear();
        write_timestamp(&mut s, -1005);
        assert_eq!(s, "-1.005");
        s.clear();
        write_timestamp(&mut s, 1_795_248_600_040);
        assert_eq!(s, "1795248600.040");
        s.clear();
        write_timestamp(&mut s, 0);
        assert_eq!(s, "0");
        s.clear();
        write_labels(
            &mut s,
            &Labels::from_pairs([("a", "x\ny"), ("b", "\\"), ("c", "é")]),
        );
        assert_eq!(s, r#"{"a":"x\ny","b":"\\","c":"é"}"#);
        assert_eq!(
            encode_value(&Value::Scalar(Point { t: 4000, v: 2.0 })),
            r#"{"resultType":"scalar","result":[4,"2"]}"#
        );
        let v = Value::Vector(vec![InstantSample {
            labels: Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]),
            t: 1000,
            v: f64::INFINITY,
        }]);
        assert_eq!(
            encode_value(&v),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[1,"+Inf"]}]}"#
        );
    }
}
