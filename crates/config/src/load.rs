//! Loading: defaults, then the file, then overrides (env, then flags), then validation.

use crate::Config;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a setting's effective value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Default,
    File,
    Env,
    Flag,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Env => "env",
            Source::Flag => "flag",
        }
    }
}

/// One value set from outside the file: `key` is dotted (`server.listen`).
#[derive(Clone, Debug)]
pub struct Override {
    pub key: String,
    pub value: toml::Value,
    pub source: Source,
}

impl Override {
    pub fn new(key: &str, value: impl Into<toml::Value>, source: Source) -> Self {
        Override {
            key: key.to_owned(),
            value: value.into(),
            source,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// A validated configuration with the source of every leaf value.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub sources: BTreeMap<String, Source>,
    pub file: Option<PathBuf>,
}

impl Loaded {
    /// The effective configuration flattened to `key = value` with sources, in key order.
    pub fn effective(&self) -> Vec<(String, toml::Value, Source)> {
        let table = to_table(&self.config);
        let mut leaves = Vec::new();
        flatten("", &toml::Value::Table(table), &mut leaves);
        leaves
            .into_iter()
            .map(|(k, v)| {
                let src = self.sources.get(&k).copied().unwrap_or(Source::Default);
                (k, v, src)
            })
            .collect()
    }
}

impl Config {
    /// Loads `file` (if any) over the defaults, applies `overrides` in order, and validates.
    pub fn load(file: Option<&Path>, overrides: &[Override]) -> Result<Loaded, ConfigError> {
        let mut table = toml::Table::new();
        let mut sources = BTreeMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            // Parse into the typed model first: toml's errors then name the line and key.
            toml::from_str::<Config>(&text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            table = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
            let mut leaves = Vec::new();
            flatten("", &toml::Value::Table(table.clone()), &mut leaves);
            for (k, _) in leaves {
                sources.insert(k, Source::File);
            }
        }
        for o in overrides {
            set_dotted(&mut table, &o.key, o.value.clone());
            sources.insert(o.key.clone(), o.source);
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    ConfigError::invalid(&overrides_keys(overrides), e.message().to_owned())
                })?;
        config.validate()?;
        Ok(Loaded {
            config,
            sources,
            file: file.map(Path::to_owned),
        })
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::invalid(
                "server.listen",
                format!(
                    "{:?} is not an address like 127.0.0.1:9400",
                    self.server.listen
                ),
            ));
        }
        if self.server.data.as_os_str().is_empty() {
            return Err(ConfigError::invalid("server.data", "must not be empty"));
        }
        let positive = [
            (
                "limits.max_body_bytes",
                self.limits.max_body_bytes.as_u64() as usize,
            ),
            (
                "limits.max_decompressed_bytes",
                self.limits.max_decompressed_bytes.as_u64() as usize,
            ),
            ("limits.ingest_concurrency", self.limits.ingest_concurrency),
            ("limits.query_concurrency", self.limits.query_concurrency),
            ("limits.admin_concurrency", self.limits.admin_concurrency),
            ("memory.budget", self.memory.budget.as_u64() as usize),
            (
                "retention.metrics",
                self.retention.metrics.as_secs() as usize,
            ),
            ("retention.traces", self.retention.traces.as_secs() as usize),
            (
                "query.max_points_per_series",
                self.query.max_points_per_series,
            ),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        for (key, tokens) in [
            ("auth.ingest_tokens", &self.auth.ingest_tokens),
            ("auth.read_tokens", &self.auth.read_tokens),
            ("auth.admin_tokens", &self.auth.admin_tokens),
        ] {
            if let Some(t) = tokens
                .iter()
                .find(|t| t.len() < 16 || t.chars().any(char::is_whitespace))
            {
                let _ = t;
                return Err(ConfigError::invalid(
                    key,
                    "every token needs at least 16 characters and no spaces",
                ));
            }
        }
        Ok(())
    }
}

fn overrides_keys(overrides: &[Override]) -> String {
    if overrides.is_empty() {
        "(file)".into()
    } else {
        overrides
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn to_table(config: &Config) -> toml::Table {
    toml::Table::try_from(config).expect("config serializes to TOML")
}

fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("non-empty key");
    let mut t = table;
    for p in parts {
        t = t
            .entry(p)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("config section is a table");
    }
    t.insert(last.to_owned(), value);
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, toml::Value)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile_lite::TempFile {
        tempfile_lite::TempFile::with(text)
    }

    mod tempfile_lite {
        use super::*;
        pub struct TempFile(pub PathBuf);
        impl TempFile {
            pub fn with(text: &str) -> Self {
                let p = std::env::temp_dir().join(format!(
                    "pharos-config-test-{}-{}.toml",
                    std::process::id(),
                    rand_suffix()
                ));
                std::fs::File::create(&p)
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
                TempFile(p)
            }
        }
        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        fn rand_suffix() -> u128 {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        }
    }

    #[test]
    fn defaults_file_then_overrides() {
        let f = file("[server]\nlisten = \"127.0.0.1:1000\"\n[retention]\nmetrics = \"2d\"\n");
        let loaded = Config::load(
            Some(&f.0),
            &[Override::new(
                "server.listen",
                "127.0.0.1:2000",
                Source::Flag,
            )],
        )
        .unwrap();
        assert_eq!(loaded.config.server.listen, "127.0.0.1:2000");
        assert_eq!(loaded.config.retention.metrics.as_secs(), 2 * 86_400);
        assert_eq!(loaded.config.retention.traces.as_secs(), 7 * 86_400);
        let eff = loaded.effective();
        let src = |k: &str| eff.iter().find(|(key, _, _)| key == k).unwrap().2;
        assert_eq!(src("server.listen"), Source::Flag);
        assert_eq!(src("retention.metrics"), Source::File);
        assert_eq!(src("retention.traces"), Source::Default);
    }

    #[test]
    fn unknown_key_is_named() {
        let f = file("[server]\nlisen = \"x\"\n");
        let err = Config::load(Some(&f.0), &[]).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn bad_value_is_named() {
        let f = file("[server]\nlisten = \"nonsense\"\n");
        let err = Config::load(Some(&f.0), &[]).unwrap_err().to_string();
        assert!(err.contains("server.listen"), "{err}");
        let f = file("[retention]\nmetrics = 5\n");
        let err = Config::load(Some(&f.0), &[]).unwrap_err().to_string();
        assert!(err.contains("metrics"), "{err}");
    }
}
