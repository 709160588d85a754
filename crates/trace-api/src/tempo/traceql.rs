//! The TraceQL subset Grafana's Tempo data source sends: one spanset filter
//! `{ cond && cond || (cond) }` over span intrinsics (`name`, `status`, `kind`,
//! `duration`, `statusMessage`, `event:name`) and attributes (`.x`, `span.x`,
//! `resource.x`, `event.x`) with `= != > >= < <= =~ !~`. Pipelines and structural
//! operators are refused with a clear error.

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use pharos_tracestore::{kind_from_name, service_name, to_text, DecodedGroup};
use regex::Regex;

#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    Any,
    Span,
    Resource,
    Event,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    Name,
    Status,
    StatusMessage,
    Kind,
    Duration,
    EventName,
    Attr(Scope, String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Re,
    NotRe,
}

#[derive(Clone, Debug)]
pub enum Lit {
    Str(String),
    Num(f64),
    Dur(u64),
    Bool(bool),
    Status(i32),
    Kind(i32),
    Nil,
}

#[derive(Clone, Debug)]
pub enum Expr {
    All,
    Cond(Field, Op, Lit, Option<Regex>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// What the index can use from a query: only conditions every match must satisfy.
#[derive(Debug, Default, PartialEq)]
pub struct Hints {
    pub service: Option<String>,
    pub operation: Option<String>,
    pub min_duration_ns: Option<u64>,
    pub max_duration_ns: Option<u64>,
    pub tags: Vec<(String, String)>,
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        while self.s[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.s[self.pos..]
                .chars()
                .next()
                .map(char::len_utf8)
                .unwrap_or(1);
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn peek_char(&mut self) -> Option<char> {
        self.skip_ws();
        self.s[self.pos..].chars().next()
    }

    /// A bare word: identifiers, attribute names, numbers, durations.
    fn word(&mut self) -> &'a str {
        self.skip_ws();
        let rest = &self.s[self.pos..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "=!<>~&|(){}\"`".contains(c))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let quote = self.s[self.pos..]
            .chars()
            .next()
            .ok_or("expected a value")?;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + 1;
                return Ok(out);
            }
            if c == '\\' && quote == '"' {
                match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, other)) => out.push(other),
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        Err("unterminated string".into())
    }
}

pub fn parse(q: &str) -> Result<Expr, String> {
    let mut lx = Lexer { s: q, pos: 0 };
    if lx.peek_char().is_none() {
        return Ok(Expr::All);
    }
    if !lx.eat("{") {
        return Err(
            "TraceQL: expected a spanset filter like { resource.service.name = \"x\" }".into(),
        );
    }
    let e = if lx.eat("}") {
        Expr::All
    } else {
        let e = parse_or(&mut lx)?;
        if !lx.eat("}") {
            return Err(format!("TraceQL: expected }} at offset {}", lx.pos));
        }
        e
    };
    if lx.peek_char().is_some() {
        return Err(
            "TraceQL: only one spanset filter is supported (no pipelines or spanset operators)"
                .into(),
        );
    }
    Ok(e)
}

fn parse_or(lx: &mut Lexer<'_>) -> Result<Expr, String> {
    let mut e = parse_and(lx)?;
    while lx.eat("||") {
        e = Expr::Or(Box::new(e), Box::new(parse_and(lx)?));
    }
    Ok(e)
}

fn parse_and(lx: &mut Lexer<'_>) -> Result<Expr, String> {
    let mut e = parse_primary(lx)?;
    while lx.eat("&&") {
        e = Expr::And(Box::new(e), Box::new(parse_primary(lx)?));
    }
    Ok(e)
}

fn parse_primary(lx: &mut Lexer<'_>) -> Result<Expr, String> {
    if lx.eat("(") {
        let e = parse_or(lx)?;
        if !lx.eat(")") {
            return Err("TraceQL: expected )".into());
        }
        return Ok(e);
    }
    let field = parse_field(lx.word())?;
    let op = [
        ("=~", Op::Re),
        ("!~", Op::NotRe),
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ]
    .into_iter()
    .find(|(t, _)| lx.eat(t))
    .map(|(_, op)| op)
    .ok_or_else(|| {
        format!(
            "TraceQL: expected a comparison operator at offset {}",
            lx.pos
        )
    })?;
    let lit = match lx.peek_char() {
        Some('"') | Some('`') => Lit::Str(lx.string()?),
        _ => parse_bare(&field, lx.word())?,
    };
    let re = match (&op, &lit) {
        (Op::Re | Op::NotRe, Lit::Str(s)) => Some(
            Regex::new(&format!("^(?:{s})$")).map_err(|e| format!("TraceQL: bad regex: {e}"))?,
        ),
        (Op::Re | Op::NotRe, _) => return Err("TraceQL: =~ and !~ need a string".into()),
        _ => None,
    };
    Ok(Expr::Cond(field, op, lit, re))
}

fn parse_field(w: &str) -> Result<Field, String> {
    Ok(match w {
        "name" | "span:name" => Field::Name,
        "status" | "span:status" => Field::Status,
        "statusMessage" | "span:statusMessage" => Field::StatusMessage,
        "kind" | "span:kind" => Field::Kind,
        "duration" | "span:duration" => Field::Duration,
        "event:name" => Field::EventName,
        "" => return Err("TraceQL: expected a field".into()),
        _ => {
            let (scope, key) = if let Some(k) = w.strip_prefix("resource.") {
                (Scope::Resource, k)
            } else if let Some(k) = w.strip_prefix("span.") {
                (Scope::Span, k)
            } else if let Some(k) = w.strip_prefix("event.") {
                (Scope::Event, k)
            } else if let Some(k) = w.strip_prefix('.') {
                (Scope::Any, k)
            } else {
                return Err(format!("TraceQL: unsupported field {w:?} (use name, status, kind, duration, .attr, span.attr, resource.attr)"));
            };
            if key.is_empty() {
                return Err("TraceQL: empty attribute name".into());
            }
            Field::Attr(scope, key.to_owned())
        }
    })
}

fn parse_bare(field: &Field, w: &str) -> Result<Lit, String> {
    if w.is_empty() {
        return Err("TraceQL: expected a value".into());
    }
    match (field, w) {
        (_, "true") => return Ok(Lit::Bool(true)),
        (_, "false") => return Ok(Lit::Bool(false)),
        (_, "nil") => return Ok(Lit::Nil),
        (Field::Status, "unset") => return Ok(Lit::Status(0)),
        (Field::Status, "ok") => return Ok(Lit::Status(1)),
        (Field::Status, "error") => return Ok(Lit::Status(2)),
        (Field::Kind, k) => {
            return kind_from_name(k)
                .map(Lit::Kind)
                .ok_or(format!("TraceQL: unknown kind {k:?}"))
        }
        _ => {}
    }
    if let Ok(n) = w.parse::<f64>() {
        return Ok(Lit::Num(n));
    }
    if let Some(d) = crate::params::parse_go_duration(w) {
        return Ok(Lit::Dur(d));
    }
    Err(format!(
        "TraceQL: cannot read value {w:?} (strings need quotes)"
    ))
}

fn cmp_ord<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Re | Op::NotRe => false,
    }
}

fn value_matches(v: &AnyValue, op: Op, lit: &Lit, re: Option<&Regex>) -> bool {
    match (&v.value, lit) {
        (_, Lit::Nil) => op == Op::Ne,
        (Some(Any::StringValue(s)), Lit::Str(l)) => match op {
            Op::Re => re.is_some_and(|r| r.is_match(s)),
            Op::NotRe => re.is_some_and(|r| !r.is_match(s)),
            _ => cmp_ord(op, s.as_str(), l.as_str()),
        },
        (Some(Any::IntValue(i)), Lit::Num(n)) => cmp_ord(op, *i as f64, *n),
        (Some(Any::DoubleValue(d)), Lit::Num(n)) => cmp_ord(op, *d, *n),
        (Some(Any::BoolValue(b)), Lit::Bool(l)) => {
            matches!(op, Op::Eq if b == l) || matches!(op, Op::Ne if b != l)
        }
        (
            Some(Any::IntValue(_)) | Some(Any::DoubleValue(_)) | Some(Any::BoolValue(_)),
            Lit::Str(l),
        ) => match op {
            Op::Re => re.is_some_and(|r| r.is_match(&to_text(v))),
            Op::NotRe => re.is_some_and(|r| !r.is_match(&to_text(v))),
            Op::Eq => to_text(v) == *l,
            _ => false,
        },
        _ => false,
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

fn str_matches(s: &str, op: Op, lit: &Lit, re: Option<&Regex>) -> bool {
    value_matches(
        &AnyValue {
            value: Some(Any::StringValue(s.to_owned())),
        },
        op,
        lit,
        re,
    )
}

fn cond_matches(
    g: &DecodedGroup,
    s: &Span,
    field: &Field,
    op: Op,
    lit: &Lit,
    re: Option<&Regex>,
) -> bool {
    match field {
        Field::Name => str_matches(&s.name, op, lit, re),
        Field::StatusMessage => str_matches(
            s.status.as_ref().map(|x| x.message.as_str()).unwrap_or(""),
            op,
            lit,
            re,
        ),
        Field::Status => {
            let code = s.status.as_ref().map(|x| x.code).unwrap_or(0);
            matches!(lit, Lit::Status(want) if cmp_ord(op, code, *want) && matches!(op, Op::Eq | Op::Ne))
        }
        Field::Kind => {
            matches!(lit, Lit::Kind(want) if matches!(op, Op::Eq | Op::Ne) && cmp_ord(op, s.kind, *want))
        }
        Field::Duration => {
            let d = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano);
            match lit {
                Lit::Dur(want) => cmp_ord(op, d, *want),
                Lit::Num(n) => cmp_ord(op, d as f64, *n),
                _ => false,
            }
        }
        Field::EventName => s.events.iter().any(|e| str_matches(&e.name, op, lit, re)),
        Field::Attr(scope, key) => {
            if matches!(scope, Scope::Resource | Scope::Any)
                && key == "service.name"
                && attr(&g.resource.attributes, key).is_none()
            {
                return str_matches(service_name(&g.resource), op, lit, re);
            }
            let candidates: Vec<&AnyValue> = match scope {
                Scope::Span => attr(&s.attributes, key).into_iter().collect(),
                Scope::Resource => attr(&g.resource.attributes, key).into_iter().collect(),
                Scope::Event => s
                    .events
                    .iter()
                    .filter_map(|e| attr(&e.attributes, key))
                    .collect(),
                Scope::Any => attr(&s.attributes, key)
                    .or_else(|| attr(&g.resource.attributes, key))
                    .into_iter()
                    .collect(),
            };
            if candidates.is_empty() {
                return matches!(lit, Lit::Nil) && op == Op::Eq;
            }
            candidates
                .into_iter()
                .any(|v| value_matches(v, op, lit, re))
        }
    }
}

impl Expr {
    pub fn matches(&self, g: &DecodedGroup, s: &Span) -> bool {
        match self {
            Expr::All => true,
            Expr::Cond(f, op, lit, re) => cond_matches(g, s, f, *op, lit, re.as_ref()),
            Expr::And(a, b) => a.matches(g, s) && b.matches(g, s),
            Expr::Or(a, b) => a.matches(g, s) || b.matches(g, s),
        }
    }

    /// Attribute keys the query names (for the attributes shown with matched spans).
    pub fn attribute_keys(&self, out: &mut Vec<String>) {
        match self {
            Expr::Cond(Field::Attr(_, k), ..) if !out.contains(k) => out.push(k.clone()),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.attribute_keys(out);
                b.attribute_keys(out);
            }
            _ => {}
        }
    }

    /// Index hints from the conditions joined by `&&` at the top.
    pub fn hints(&self, indexed: &dyn Fn(&str) -> bool) -> Hints {
        let mut h = Hints::default();
        self.collect_hints(&mut h, indexed);
        h
    }

    fn collect_hints(&self, h: &mut Hints, indexed: &dyn Fn(&str) -> bool) {
        match self {
            Expr::And(a, b) => {
                a.collect_hints(h, indexed);
                b.collect_hints(h, indexed);
            }
            Expr::Cond(Field::Attr(Scope::Resource | Scope::Any, k), Op::Eq, Lit::Str(v), _)
                if k == "service.name" =>
            {
                h.service = Some(v.clone())
            }
            Expr::Cond(Field::Name, Op::Eq, Lit::Str(v), _) => h.operation = Some(v.clone()),
            Expr::Cond(Field::Duration, Op::Gt | Op::Ge, Lit::Dur(d), _) => {
                h.min_duration_ns = Some(*d)
            }
            Expr::Cond(Field::Duration, Op::Lt | Op::Le, Lit::Dur(d), _) => {
                h.max_duration_ns = Some(*d)
            }
            Expr::Cond(Field::Status, Op::Eq, Lit::Status(2), _) if indexed("error") => {
                h.tags.push(("error".into(), "true".into()))
            }
            Expr::Cond(
                Field::Attr(Scope::Span | Scope::Resource | Scope::Any, k),
                Op::Eq,
                lit,
                _,
            ) if indexed(k) => {
                let text = match lit {
                    Lit::Str(s) => Some(s.clone()),
                    Lit::Num(n) if n.fract() == 0.0 => Some(format!("{}", *n as i64)),
                    Lit::Bool(b) => Some(b.to_string()),
                    _ => None,
                };
                if let Some(t) = text {
                    h.tags.push((k.clone(), t));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grafana_queries_and_hints() {
        let e = parse(r#"{resource.service.name="cart" && name = "GET /x" && span.http.response.status_code=500 && duration>100ms && status=error}"#).unwrap();
        let h = e.hints(&|k| k == "http.response.status_code" || k == "error");
        assert_eq!(h.service.as_deref(), Some("cart"));
        assert_eq!(h.operation.as_deref(), Some("GET /x"));
        assert_eq!(h.min_duration_ns, Some(100_000_000));
        assert_eq!(
            h.tags,
            vec![
                ("http.response.status_code".into(), "500".into()),
                ("error".into(), "true".into())
            ]
        );
        let or = parse(r#"{ .a = "x" || (kind = server && .b =~ "y.*") }"#).unwrap();
        assert_eq!(or.hints(&|_| true), Hints::default());
        assert!(matches!(parse("{}").unwrap(), Expr::All));
        assert!(matches!(parse("").unwrap(), Expr::All));
        for bad in [
            "{ .a = }",
            "{ .a = \"x\" } | count() > 1",
            "{ foo = 1 }",
            "{ .a = \"x\"",
            "{ .a =~ 3 }",
            "nonsense",
            "{ .a = \"(\" && .b =~ \"(\" }",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
