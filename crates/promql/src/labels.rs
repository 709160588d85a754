//! Small label helpers shared by functions and aggregations.

/// A legacy Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)` with Prometheus's spellings of the specials.
pub fn format_float(v: f64) -> String {
    let mut out = String::with_capacity(24);
    write_float(&mut out, v);
    out
}

/// [`format_float`], appended to `out`. The shortest digits that read back as `v` come
/// from `ryu` (several times faster than `core::fmt`, which matters when a response holds
/// thousands of samples) and are laid out in plain decimal notation, as Go does.
pub fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v);
    if !text.contains('e') {
        // Already plain decimal (`123.45`, `0.001`); integers carry a `.0` Go leaves out.
        out.push_str(text.strip_suffix(".0").unwrap_or(text));
        return;
    }
    let s = text.as_bytes();
    let (neg, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    // ryu writes `d.ddd`, `ddd.d` or either followed by `e<exp>`.
    let (mant, exp) = match s.iter().position(|&b| b == b'e') {
        Some(i) => (&s[..i], parse_exp(&s[i + 1..])),
        None => (s, 0),
    };
    let point = mant.iter().position(|&b| b == b'.').unwrap_or(mant.len());
    let mut digits = [0u8; 32];
    let mut n = 0;
    for &b in mant.iter().filter(|&&b| b != b'.') {
        digits[n] = b;
        n += 1;
    }
    // Drop leading zeros (moving the point) and trailing zeros.
    let lead = digits[..n].iter().take_while(|&&d| d == b'0').count();
    let mut pos = point as i32 + exp - lead as i32;
    let digits = &digits[lead..n];
    let digits = &digits[..digits.len() - digits.iter().rev().take_while(|&&d| d == b'0').count()];
    if neg {
        out.push('-');
    }
    if digits.is_empty() {
        out.push('0');
        return;
    }
    // The digits are ASCII.
    let text = std::str::from_utf8(digits).unwrap_or("0");
    if pos <= 0 {
        out.push_str("0.");
        while pos < 0 {
            out.push('0');
            pos += 1;
        }
        out.push_str(text);
    } else if pos as usize >= digits.len() {
        out.push_str(text);
        for _ in digits.len()..pos as usize {
            out.push('0');
        }
    } else {
        out.push_str(&text[..pos as usize]);
        out.push('.');
        out.push_str(&text[pos as usize..]);
    }
}

/// The exponent ryu writes after `e` (at most three digits, maybe negative).
fn parse_exp(s: &[u8]) -> i32 {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let e = digits
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d.wrapping_sub(b'0')));
    if neg {
        -e
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_floats() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a.b"));
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
    }

    /// Plain decimal notation, the shortest digits that read back exactly; where two
    /// shortest spellings are equally close, the even one, as Go (and so Prometheus) does.
    #[test]
    fn formatting_is_gos_shortest_plain_decimal() {
        // Answers of Prometheus 2.42 to these numbers as scalar queries (the first is
        // 1658206780088562.25, halfway between two shortest spellings).
        for (v, want) in [
            (f64::from_bits(0x4317_9085_685d_83c9), "1658206780088562.2"),
            (0.3, "0.3"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (123456789012345680000.0, "123456789012345680000"),
            (2.5e-5, "0.000025"),
            (-0.0, "-0"),
            (0.0, "0"),
        ] {
            assert_eq!(format_float(v), want);
        }
        let significant = |s: &str| {
            let d: String = s.chars().filter(char::is_ascii_digit).collect();
            d.trim_start_matches('0').trim_end_matches('0').len()
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            // xorshift: arbitrary bit patterns, and decimals like those stored by exporters.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for v in [
                f64::from_bits(x),
                (x % 10_000_000) as f64 / 100.0,
                (x % 1_000_000_000_000) as f64 * 1e-9,
            ] {
                if !v.is_finite() {
                    continue;
                }
                let got = format_float(v);
                assert!(!got.contains('e'), "{got}");
                assert_eq!(got.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{got}");
                let display = format!("{v}");
                assert_eq!(
                    significant(&got),
                    significant(&display),
                    "{got} vs {display}"
                );
            }
        }
    }
}
