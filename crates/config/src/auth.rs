//! `[auth]`: bearer tokens by scope.

use serde::{Deserialize, Serialize};

/// What a token may do. `Admin` includes `Read` and `Ingest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Write endpoints only.
    Ingest,
    /// Query APIs and the UI.
    Read,
    /// Everything, admin endpoints included.
    Admin,
}

impl Scope {
    /// True if a token of scope `self` may call an endpoint that needs `needed`.
    pub fn allows(self, needed: Scope) -> bool {
        self == Scope::Admin || self == needed
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("unknown scope {other:?} (ingest, read, admin)")),
        }
    }
}

/// Several tokens per scope, so a token can be rotated without downtime.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub ingest_tokens: Vec<String>,
    pub read_tokens: Vec<String>,
    pub admin_tokens: Vec<String>,
    /// Serve `/metrics` without a token.
    pub anonymous_metrics: bool,
}

impl AuthConfig {
    /// All configured tokens with their scopes.
    pub fn tokens(&self) -> impl Iterator<Item = (&str, Scope)> {
        let ingest = self
            .ingest_tokens
            .iter()
            .map(|t| (t.as_str(), Scope::Ingest));
        let read = self.read_tokens.iter().map(|t| (t.as_str(), Scope::Read));
        let admin = self.admin_tokens.iter().map(|t| (t.as_str(), Scope::Admin));
        ingest.chain(read).chain(admin)
    }

    pub fn is_empty(&self) -> bool {
        self.ingest_tokens.is_empty() && self.read_tokens.is_empty() && self.admin_tokens.is_empty()
    }
}
