//! Query parameters as the clients send them: Go durations, unix times in µs, ms or
//! seconds, RFC 3339 times, repeated keys.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// All `(key, value)` pairs of a query string, percent-decoded, in order.
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding with `+` as space (form encoding), lossy on invalid UTF-8.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_digit(b[i + 1]), hex_digit(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn from_query(query: Option<&str>) -> Self {
        Params(pairs(query))
    }

    /// The last non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The first of several spellings that is present.
    pub fn get_any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn u64(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("cannot parse {key} {v:?}: not a non-negative integer")),
        }
    }

    /// A float number of seconds (Tempo's `start`/`end`), as ns.
    pub fn seconds_ns(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| Some((f * 1e9) as u64))
                .ok_or_else(|| format!("cannot parse {key} {v:?}: not unix seconds")),
        }
    }

    pub fn duration_ns(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse_go_duration(v)
                .map(Some)
                .ok_or_else(|| format!("cannot parse {key} {v:?}: not a duration like 100ms")),
        }
    }
}

/// A Go duration (`1h2m3.5s`, `100ms`, `250us`, `5µs`, `10ns`) as nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * factor;
    }
    (total.is_finite() && total >= 0.0 && total < u64::MAX as f64).then_some(total as u64)
}

/// An RFC 3339 time as unix ns.
pub fn parse_rfc3339_ns(s: &str) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    u64::try_from(t.timestamp_nanos_opt()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("100ms"), Some(100_000_000));
        assert_eq!(parse_go_duration("1h2m3.5s"), Some(3_723_500_000_000));
        assert_eq!(parse_go_duration("5µs"), Some(5_000));
        assert_eq!(parse_go_duration("1.5us"), Some(1_500));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("ms"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn query_strings() {
        let p = Params::from_query(Some(
            "service=a%20b&tags=%7B%22k%22%3A%22v%22%7D&traceID=1&traceID=2&x=%zz&y=a+b",
        ));
        assert_eq!(p.get("service"), Some("a b"));
        assert_eq!(p.get("tags"), Some(r#"{"k":"v"}"#));
        assert_eq!(p.all("traceID").collect::<Vec<_>>(), vec!["1", "2"]);
        assert_eq!(p.get("x"), Some("%zz"));
        assert_eq!(p.get("y"), Some("a b"));
        assert_eq!(
            parse_rfc3339_ns("1970-01-01T00:00:01.5Z"),
            Some(1_500_000_000)
        );
    }
}
