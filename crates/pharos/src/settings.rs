//! Turning flags, environment and the config file into one [`pharos_config::Loaded`].
//! Precedence: flag > env > config file > default.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use pharos_config::{Config, ConfigError, Loaded, LogFormat, Override, Source};
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9400].
    #[arg(long, env = "PHAROS_LISTEN")]
    pub listen: Option<String>,
    /// Data directory [default: ./data].
    #[arg(long, env = "PHAROS_DATA")]
    pub data: Option<PathBuf>,
    /// TOML config file (annotated example: config/pharos.toml).
    #[arg(long, env = "PHAROS_CONFIG")]
    pub config: Option<PathBuf>,
    /// An admin-scope bearer token (in addition to those in the config file).
    #[arg(long, env = "PHAROS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "PHAROS_LOG_FORMAT")]
    pub log_format: Option<String>,
}

impl ServeArgs {
    pub fn log_format_override(&self) -> Option<String> {
        self.log_format.clone()
    }
}

fn source_of(matches: Option<&ArgMatches>, id: &str) -> Source {
    match matches.and_then(|m| m.value_source(id)) {
        Some(ValueSource::EnvVariable) => Source::Env,
        _ => Source::Flag,
    }
}

/// Loads the effective configuration for `serve`.
pub fn load(args: &ServeArgs, matches: Option<&ArgMatches>) -> Result<Loaded, ConfigError> {
    let mut overrides = Vec::new();
    if let Some(l) = &args.listen {
        overrides.push(Override::new(
            "server.listen",
            l.as_str(),
            source_of(matches, "listen"),
        ));
    }
    if let Some(d) = &args.data {
        overrides.push(Override::new(
            "server.data",
            d.to_string_lossy().as_ref(),
            source_of(matches, "data"),
        ));
    }
    if let Some(f) = &args.log_format {
        overrides.push(Override::new(
            "server.log_format",
            f.as_str(),
            source_of(matches, "log_format"),
        ));
    }
    let mut loaded = Config::load(args.config.as_deref(), &overrides)?;
    if let Some(t) = &args.token {
        if t.len() < 16 || t.chars().any(char::is_whitespace) {
            return Err(ConfigError::Invalid {
                key: "--token".into(),
                message: "a token needs at least 16 characters and no spaces".into(),
            });
        }
        loaded.config.auth.admin_tokens.push(t.clone());
        loaded
            .sources
            .insert("auth.admin_tokens".into(), source_of(matches, "token"));
    }
    Ok(loaded)
}

/// `pharos check-config FILE`: prints the effective configuration with sources.
/// Environment variables that `serve` reads are applied too, so the output is what
/// `serve --config FILE` would run with.
pub fn check_config(file: &Path, json: bool) -> u8 {
    let env = |k: &str| std::env::var(k).ok();
    let args = ServeArgs {
        listen: env("PHAROS_LISTEN"),
        data: env("PHAROS_DATA").map(PathBuf::from),
        config: Some(file.to_owned()),
        token: env("PHAROS_TOKEN"),
        log_format: env("PHAROS_LOG_FORMAT"),
    };
    let loaded = match load(&args, None) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::cli::EXIT_CONFIG;
        }
    };
    // Values that came from the environment are marked as such.
    let mut loaded = loaded;
    for (key, var) in [
        ("server.listen", "PHAROS_LISTEN"),
        ("server.data", "PHAROS_DATA"),
        ("server.log_format", "PHAROS_LOG_FORMAT"),
        ("auth.admin_tokens", "PHAROS_TOKEN"),
    ] {
        if std::env::var_os(var).is_some() {
            loaded.sources.insert(key.into(), Source::Env);
        }
    }
    let rows: Vec<(String, String, Source)> = loaded
        .effective()
        .into_iter()
        .map(|(k, v, s)| {
            let shown = if k.ends_with("_tokens") {
                redact(&v)
            } else {
                v.to_string()
            };
            (k, shown, s)
        })
        .collect();
    if json {
        let obj: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(k, v, s)| {
                (
                    k.clone(),
                    serde_json::json!({"value": v, "source": s.as_str()}),
                )
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&obj).unwrap_or_default());
    } else {
        println!("# {}: valid", file.display());
        let w = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
        for (k, v, s) in rows {
            println!("{k:<w$} = {v:<40} # {}", s.as_str());
        }
    }
    crate::cli::EXIT_OK
}

/// Tokens are never printed: only how many there are.
fn redact(v: &toml::Value) -> String {
    let n = v.as_array().map_or(0, Vec::len);
    format!("[{n} token(s) redacted]")
}

pub fn parse_log_format(s: &str) -> LogFormat {
    if s.eq_ignore_ascii_case("json") {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}
