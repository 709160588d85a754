//! `[ui]`: the embedded browser UI.

use crate::auth::Scope;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Folder of Grafana-format dashboard JSON files to provision.
    pub dashboards: PathBuf,
    /// How long a login session lasts.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// How often the senders scrape (Grafana's data-source "scrape interval"): the smallest
    /// step dashboards query, and the base of `$__rate_interval`.
    #[serde(with = "humantime_serde")]
    pub scrape_interval: Duration,
    /// People who log in to the UI with a name and password (besides tokens).
    pub users: Vec<UiUser>,
}

/// A UI login: `[[ui.users]]` with `name`, an Argon2 `password_hash` in PHC form
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, e.g. from
/// `echo -n 'secret' | argon2 "$(openssl rand -base64 12)" -id -e`) and a `scope`
/// (`read`, the default, or `admin`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiUser {
    pub name: String,
    pub password_hash: String,
    #[serde(default = "read_scope")]
    pub scope: Scope,
}

fn read_scope() -> Scope {
    Scope::Read
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            dashboards: PathBuf::from("dashboards"),
            session_ttl: Duration::from_secs(86_400),
            scrape_interval: Duration::from_secs(15),
            users: Vec::new(),
        }
    }
}
