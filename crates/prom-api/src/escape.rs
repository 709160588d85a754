//! Prometheus's "values" escaping of label names in URL paths (`U__http_2e_method`).

/// Decodes a `U__`-escaped label name; other names (and malformed escapes) come back as given.
pub fn unescape_label_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let mut out = String::with_capacity(rest.len());
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '_' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'_') {
            out.push('_');
            i += 2;
            continue;
        }
        let hex: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        let close = i + 1 + hex.len();
        match (
            hex.is_empty(),
            chars.get(close),
            u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32),
        ) {
            (false, Some('_'), Some(c)) => {
                out.push(c);
                i = close + 1;
            }
            _ => return name.to_string(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes() {
        assert_eq!(
            unescape_label_name("U__http_2e_status__code"),
            "http.status_code"
        );
        assert_eq!(unescape_label_name("U__a__b"), "a_b");
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(unescape_label_name("U__bad_zz"), "U__bad_zz");
    }
}
