//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's fully anchored regexes.

use crate::Labels;
use regex::Regex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid regex {pattern:?} for label {name}: {source}")]
pub struct MatcherError {
    pub name: String,
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

/// One label matcher. A label that is absent matches as the empty string, as in Prometheus.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl Matcher {
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let (name, value) = (name.into(), value.into());
        let regex = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => Some(
                Regex::new(&format!("^(?s:{value})$")).map_err(|source| MatcherError {
                    name: name.clone(),
                    pattern: value.clone(),
                    source,
                })?,
            ),
            _ => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// True if a label value (empty string for an absent label) satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::RegexMatch => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::RegexNoMatch => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// True if the matcher matches the empty string (i.e. also series without the label).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

/// True if every matcher matches the label set.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored_and_absent_is_empty() {
        let m = Matcher::new(MatchOp::RegexMatch, "job", "api|web").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("xapi"));
        let l = Labels::from_pairs([("job", "web")]);
        assert!(m.matches_labels(&l));
        let ne = Matcher::new(MatchOp::NotEqual, "env", "prod").unwrap();
        assert!(ne.matches_labels(&l));
        assert!(Matcher::new(MatchOp::RegexMatch, "x", "(").is_err());
    }
}
