//! Human-readable output for the operator CLI: sizes in KiB/MiB/GiB, dates in UTC ISO 8601.

use crate::ops::civil_from_unix;
use serde_json::Value;

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

pub fn bytes_v(v: &Value) -> String {
    v.as_u64().map_or_else(|| "-".to_owned(), bytes)
}

/// `2026-11-21T10:05:00Z` from milliseconds since the epoch.
pub fn date_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(ms.div_euclid(1000));
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

pub fn date_v(v: &Value) -> String {
    v.as_i64().map_or_else(|| "-".to_owned(), date_ms)
}

pub fn date_unix_v(v: &Value) -> String {
    v.as_i64()
        .map_or_else(|| "-".to_owned(), |s| date_ms(s * 1000))
}

pub fn duration_secs(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub fn num(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

/// A plain aligned table: header row, then rows.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = line(header.to_vec()).trim_end().to_owned();
    out.push('\n');
    for r in rows {
        out.push_str(line(r.iter().map(String::as_str).collect()).trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(date_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(duration_secs(30 * 86_400), "30d");
        assert_eq!(duration_secs(90), "90s");
        assert_eq!(
            table(&["a", "bb"], &[vec!["xxx".into(), "y".into()]]),
            "a    bb\nxxx  y\n"
        );
    }
}
