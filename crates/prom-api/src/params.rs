//! Request parameters as Prometheus reads them: the URL query and a form-encoded body alike,
//! with its time, duration and `match[]` syntaxes.

use crate::response::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use pharos_model::Matcher;
use promql_parser::parser::Expr;
use std::time::Duration;

/// Earliest and latest times an open-ended request covers (ms), as Prometheus's MinTime/MaxTime.
pub const MIN_TIME_MS: i64 = i64::MIN / 4;
pub const MAX_TIME_MS: i64 = i64::MAX / 4;

/// All parameters of a request: URL query first, then a form body (`application/x-www-form-urlencoded`).
#[derive(Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut pairs: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if is_form {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|e| ApiError::bad_data(format!("error reading the request body: {e}")))?;
            // Body values come first, as Go's FormValue prefers them.
            let mut body_pairs: Vec<(String, String)> =
                form_urlencoded::parse(&body).into_owned().collect();
            body_pairs.append(&mut pairs);
            pairs = body_pairs;
        }
        Ok(Params(pairs))
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value, or `None`.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter (ms), or `default` when absent.
    pub fn time_or(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.non_empty(name) {
            None => Ok(default),
            Some(v) => parse_time(v)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter {name:?}: {e}"))),
        }
    }

    pub fn duration(&self, name: &str) -> Result<Option<Duration>, ApiError> {
        match self.non_empty(name) {
            None => Ok(None),
            Some(v) => parse_duration(v)
                .map(Some)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter {name:?}: {e}"))),
        }
    }

    /// `limit`: absent or 0 means no limit; negative or non-numeric is an error.
    pub fn limit(&self) -> Result<Option<usize>, ApiError> {
        self.count("limit")
    }

    pub fn count(&self, name: &str) -> Result<Option<usize>, ApiError> {
        match self.non_empty(name) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(0) => Ok(None),
                Ok(n) if n > 0 => Ok(Some(n as usize)),
                _ => Err(ApiError::bad_data(format!("invalid parameter {name:?}: cannot parse {v:?}: must be a non-negative integer"))),
            },
        }
    }

    /// `match[]` selectors, each as one or more matcher sets (`or` alternatives).
    pub fn matchers(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        let mut out = Vec::new();
        for m in self.all("match[]") {
            out.extend(
                parse_selector(m).map_err(|e| {
                    ApiError::bad_data(format!("invalid parameter \"match[]\": {e}"))
                })?,
            );
        }
        Ok(out)
    }
}

/// A series selector (`up{job="a"}`) as matcher sets.
pub fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, String> {
    let expr = pharos_promql::parse(s).map_err(|e| {
        e.message
            .trim_start_matches("invalid parameter \"query\": ")
            .to_string()
    })?;
    match expr {
        Expr::VectorSelector(vs) => pharos_promql::selector_matchers(&vs).map_err(|e| e.message),
        _ => Err(format!(
            "1:1: parse error: unexpected expression, expected a series selector: {s}"
        )),
    }
}

/// Prometheus's `parseTime`: float seconds since the epoch, or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() {
            let secs = f.trunc();
            let ms = ((f - secs) * 1000.0).round();
            let total = secs * 1000.0 + ms;
            return Ok(total.clamp(MIN_TIME_MS as f64, MAX_TIME_MS as f64) as i64);
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    match s {
        "-292273086-05-16T16:47:06Z" => Ok(MIN_TIME_MS),
        "292277025-08-18T07:12:54.999999999Z" => Ok(MAX_TIME_MS),
        _ => Err(format!("cannot parse {s:?} to a valid timestamp")),
    }
}

/// Prometheus's `parseDuration`: float seconds, or a duration like `5m`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || f.abs() * 1e9 > i64::MAX as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        if f < 0.0 {
            return Ok(Duration::ZERO);
        }
        return Ok(Duration::from_secs_f64(f));
    }
    promql_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// Prometheus duration syntax: `1y2w3d4h5m6s7ms`, units in decreasing order.
fn promql_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let units: [(&str, u64); 7] = [
        ("y", 31_536_000_000),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = usize::MAX;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let num: u64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let ulen = rest.bytes().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..ulen];
        let idx = units.iter().position(|(u, _)| *u == unit)?;
        if last_unit != usize::MAX && idx <= last_unit {
            return None;
        }
        last_unit = idx;
        total = total.checked_add(num.checked_mul(units[idx].1)?)?;
        rest = &rest[ulen..];
    }
    Some(Duration::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(parse_time("4").unwrap(), 4000);
        assert_eq!(parse_time("1435781451.781").unwrap(), 1_435_781_451_781);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000_000);
        assert!(parse_time("abc").is_err());
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_duration("15.5").unwrap(),
            Duration::from_millis(15_500)
        );
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("30m1h").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn selectors() {
        let sets = parse_selector(r#"up{job="a"}"#).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].len(), 2);
        assert!(parse_selector("sum(up)").is_err());
        assert!(parse_selector("up{").is_err());
    }
}
