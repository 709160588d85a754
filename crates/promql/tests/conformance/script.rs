//! Parser for the upstream Prometheus test-script DSL (see the README beside the scripts).

use pharos_model::{stale_nan, Labels};

#[derive(Debug, Clone)]
pub enum Expect {
    /// An expected series: labels and values (`None` = omitted slot).
    Series(Labels, Vec<Option<f64>>),
    Scalar(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    Plain,
    Fail,
    Warn,
    Ordered,
}

#[derive(Debug, Clone)]
pub struct Eval {
    pub line: usize,
    pub kind: EvalKind,
    pub expr: String,
    /// Instant time, or range start.
    pub start: i64,
    /// `Some((end, step))` for range evals.
    pub range: Option<(i64, i64)>,
    pub expects: Vec<Expect>,
    /// The body uses native-histogram literals.
    pub histogram_body: bool,
}

#[derive(Debug, Clone)]
pub enum Command {
    Clear,
    /// Series with their (timestamp, value) samples; the block's label sets are unique.
    Load(Vec<(Labels, Vec<(i64, f64)>)>),
    Eval(Eval),
}

/// Prometheus duration syntax (`1h30m`, `90s`, `0`), in milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if s == "0" {
        return Ok(0);
    }
    let mut total = 0i64;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(format!("bad duration {s:?}"));
        }
        let num: i64 = rest[..n]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        rest = &rest[n..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let mult = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            u => return Err(format!("bad duration unit {u:?} in {s:?}")),
        };
        total += num * mult;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.replace('_', "");
    let lower = t.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    t.parse().ok()
}

/// A bare-number expectation: Go's ParseInt(s, 0, 64) first, then ParseFloat.
fn parse_scalar_line(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let int = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.chars().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&body[1..], 8).ok()
    } else if !body.is_empty() && body.chars().all(|c| c.is_ascii_digit()) {
        body.parse().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(if neg { -(i as f64) } else { i as f64 });
    }
    parse_number(s)
}

/// Splits a series line into its selector text and its values text.
fn split_series_line(line: &str) -> Result<(&str, &str), String> {
    if let Some(open) = line.find('{') {
        let prefix = &line[..open];
        if !prefix.contains(char::is_whitespace) {
            let mut quote: Option<char> = None;
            let mut escaped = false;
            for (i, c) in line[open..].char_indices() {
                if let Some(q) = quote {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' && q != '`' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                    continue;
                }
                match c {
                    '"' | '\'' | '`' => quote = Some(c),
                    '}' => {
                        let end = open + i + 1;
                        return Ok((&line[..end], line[end..].trim()));
                    }
                    _ => {}
                }
            }
            return Err(format!("unterminated selector in {line:?}"));
        }
    }
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    Ok((&line[..end], line[end..].trim()))
}

fn unquote(s: &str) -> Result<String, String> {
    let q = s.chars().next().ok_or("empty string")?;
    let inner = &s[1..s.len() - 1];
    if q == '`' {
        return Ok(inner.to_string());
    }
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => return Err("dangling escape".into()),
        }
    }
    Ok(out)
}

pub fn parse_labels(sel: &str) -> Result<Labels, String> {
    let (name, body) = match sel.find('{') {
        Some(i) => (&sel[..i], &sel[i + 1..sel.len() - 1]),
        None => (sel, ""),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !name.is_empty() {
        pairs.push(("__name__".into(), name.to_string()));
    }
    let mut rest = body.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("bad label list {body:?}"))?;
        let lname = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let q = after.chars().next().ok_or("missing value")?;
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                end = Some(i);
                break;
            }
        }
        let end = end.ok_or("unterminated label value")?;
        pairs.push((lname, unquote(&after[..=end])?));
        rest = after[end + 1..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    Ok(Labels::from_pairs(pairs))
}

/// Expands the values of a series line; `Err` for native-histogram literals.
fn parse_values(text: &str) -> Result<Result<Vec<Option<f64>>, ()>, String> {
    let mut out = Vec::new();
    for item in text.split_whitespace() {
        if item.contains("{{") {
            return Ok(Err(()));
        }
        if item == "_" {
            out.push(None);
            continue;
        }
        if item == "stale" {
            out.push(Some(stale_nan()));
            continue;
        }
        if let Some(n) = item.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad item {item:?}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        if let Some(v) = parse_number(item) {
            out.push(Some(v));
            continue;
        }
        let xpos = item
            .rfind('x')
            .ok_or_else(|| format!("bad item {item:?}"))?;
        let times: usize = item[xpos + 1..]
            .parse()
            .map_err(|_| format!("bad item {item:?}"))?;
        let body = &item[..xpos];
        let bytes = body.as_bytes();
        let op = (1..bytes.len()).find(|&i| {
            (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E')
        });
        let (a, b) = match op {
            Some(p) => {
                let a = parse_number(&body[..p]).ok_or_else(|| format!("bad item {item:?}"))?;
                let b = parse_number(&body[p + 1..]).ok_or_else(|| format!("bad item {item:?}"))?;
                (a, if bytes[p] == b'-' { -b } else { b })
            }
            None => (
                parse_number(body).ok_or_else(|| format!("bad item {item:?}"))?,
                0.0,
            ),
        };
        let mut v = a;
        out.push(Some(v));
        for _ in 0..times {
            v += b;
            out.push(Some(v));
        }
    }
    Ok(Ok(out))
}

/// Parses a whole script into commands.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim()).collect();
    let blank = |l: &str| l.is_empty() || l.starts_with('#');
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if blank(line) {
            i += 1;
            continue;
        }
        let lineno = i + 1;
        let mut body = Vec::new();
        let mut j = i + 1;
        let has_body = !line.starts_with("clear");
        if has_body {
            while j < lines.len() && !blank(lines[j]) {
                body.push(lines[j]);
                j += 1;
            }
        }
        i = j;
        let word = line.split_whitespace().next().unwrap_or("");
        match word {
            "clear" => cmds.push(Command::Clear),
            "load" | "load_with_nhcb" => {
                let step =
                    parse_duration(line.split_whitespace().nth(1).ok_or("load without step")?)?;
                let mut series: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
                for b in body {
                    let (sel, vals) = split_series_line(b)?;
                    let labels = parse_labels(sel)?;
                    let Ok(vals) = parse_values(vals)? else {
                        continue; // native-histogram samples: not supported
                    };
                    let samples = vals
                        .iter()
                        .enumerate()
                        .filter_map(|(k, v)| v.map(|v| (k as i64 * step, v)))
                        .collect();
                    series.retain(|(l, _)| *l != labels);
                    series.push((labels, samples));
                }
                cmds.push(Command::Load(series));
            }
            w if w.starts_with("eval") => {
                cmds.push(Command::Eval(parse_eval(line, lineno, &body)?))
            }
            other => return Err(format!("line {lineno}: unknown command {other:?}")),
        }
    }
    Ok(cmds)
}

fn parse_eval(line: &str, lineno: usize, body: &[&str]) -> Result<Eval, String> {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let kind = match cmd {
        "eval" => EvalKind::Plain,
        "eval_fail" => EvalKind::Fail,
        "eval_warn" => EvalKind::Warn,
        "eval_ordered" => EvalKind::Ordered,
        o => return Err(format!("line {lineno}: unknown eval form {o:?}")),
    };
    let mode = words.next().ok_or("eval without mode")?;
    let rest_after = |n: usize| -> String {
        // The expression is what follows the first `n` whitespace-separated tokens.
        let mut s = line;
        for _ in 0..n {
            s = s.trim_start();
            let e = s.find(char::is_whitespace).unwrap_or(s.len());
            s = &s[e..];
        }
        s.trim().to_string()
    };
    let (start, range, expr) = match mode {
        "instant" => {
            let _at = words.next();
            let t = parse_duration(words.next().ok_or("missing time")?)?;
            (t, None, rest_after(4))
        }
        "range" => {
            let _from = words.next();
            let s = parse_duration(words.next().ok_or("missing start")?)?;
            let _to = words.next();
            let e = parse_duration(words.next().ok_or("missing end")?)?;
            let _step = words.next();
            let st = parse_duration(words.next().ok_or("missing step")?)?;
            (s, Some((e, st)), rest_after(8))
        }
        o => return Err(format!("line {lineno}: unknown eval mode {o:?}")),
    };
    let mut expects = Vec::new();
    let mut histogram_body = false;
    for b in body {
        if b.starts_with("expected_fail_") {
            continue;
        }
        if let Some(v) = parse_scalar_line(b) {
            expects.push(Expect::Scalar(v));
            break;
        }
        let (sel, vals) = split_series_line(b)?;
        let labels = parse_labels(sel)?;
        match parse_values(vals)? {
            Ok(v) => expects.push(Expect::Series(labels, v)),
            Err(()) => histogram_body = true,
        }
    }
    Ok(Eval {
        line: lineno,
        kind,
        expr,
        start,
        range,
        expects,
        histogram_body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_values() {
        let v = parse_values("-2+4x3 1 _x2 stale 1-2x1").unwrap().unwrap();
        assert_eq!(v.len(), 4 + 1 + 2 + 1 + 2);
        assert_eq!(v[3], Some(10.0));
        assert_eq!(v[9], Some(-1.0));
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
    }
}
