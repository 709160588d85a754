//! The operator CLI: `status`, `du`, `retention`, `snapshot`, `restore`.
//!
//! With a server running on the data directory (it holds the directory's lock), or with
//! `--url`, the CLI asks the server's admin API with an admin token. With the server
//! stopped, it opens the data directory itself. Either way the output says which.

use crate::cli::{EXIT_OK, EXIT_REFUSED};
use crate::settings::ServeArgs;
use crate::stores::Stores;
use crate::{datadir, ops, render};
use anyhow::Context;
use clap::{Args, Subcommand};
use pharos_config::Config;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where to find the server or the data directory.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// URL of a running server's API [default: http://<server.listen>].
    #[arg(long, env = "PHAROS_URL", global = true)]
    pub url: Option<String>,
    /// Admin token [default: the config's first admin token, else <data>/token].
    #[arg(long, env = "PHAROS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Data directory [default: ./data].
    #[arg(long, env = "PHAROS_DATA", global = true)]
    pub data: Option<PathBuf>,
    /// Config file.
    #[arg(long, env = "PHAROS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Drop expired partitions now and report what was freed.
    Apply,
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Make a consistent copy of the data directory under <data>/snapshots.
    Create,
    /// List snapshots.
    List,
    /// Delete a snapshot.
    Delete { name: String },
}

/// How the CLI reaches the data.
enum Mode {
    Server { url: String, token: String },
    Offline,
}

struct Resolved {
    config: Config,
    mode: Mode,
}

fn resolve(t: &Target) -> anyhow::Result<Resolved> {
    let args = ServeArgs {
        data: t.data.clone(),
        config: t.config.clone(),
        ..Default::default()
    };
    let config = crate::settings::load(&args, None)?.config;
    let data = &config.server.data;
    let running = datadir::is_locked(data);
    if t.url.is_none() && !running {
        return Ok(Resolved {
            config,
            mode: Mode::Offline,
        });
    }
    let url = t
        .url
        .clone()
        .or_else(|| datadir::running_server_addr(data).map(|a| format!("http://{a}")))
        .unwrap_or_else(|| format!("http://{}", config.server.listen))
        .trim_end_matches('/')
        .to_owned();
    let token = match &t.token {
        Some(tok) => tok.clone(),
        None => match config.auth.admin_tokens.first() {
            Some(tok) => tok.clone(),
            None => std::fs::read_to_string(data.join("token"))
                .map(|s| s.trim().to_owned())
                .context("no admin token: pass --token (or PHAROS_TOKEN), or configure auth.admin_tokens")?,
        },
    };
    Ok(Resolved {
        config,
        mode: Mode::Server { url, token },
    })
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3600))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client")
}

/// Calls the admin API; shows elapsed time on a terminal while a long call runs.
fn call(url: &str, token: &str, method: &str, path: &str, what: &str) -> anyhow::Result<Value> {
    let full = format!("{url}{path}");
    let rb = match method {
        "POST" => client().post(&full),
        _ => client().get(&full),
    };
    let ticker = Progress::start(what);
    let resp = rb.bearer_auth(token).send();
    ticker.finish();
    let resp = resp.with_context(|| format!("cannot reach the server at {url}"))?;
    let status = resp.status();
    let body: Value = resp.json().unwrap_or(Value::Null);
    if !status.is_success() {
        anyhow::bail!(
            "server answered {status}: {}",
            body["error"].as_str().unwrap_or("")
        );
    }
    Ok(body)
}

/// Opens the data directory for an offline command; it must exist.
fn open_offline(config: &Config) -> anyhow::Result<(datadir::DataLock, Stores)> {
    let data = &config.server.data;
    anyhow::ensure!(
        data.is_dir(),
        "data directory {} does not exist",
        data.display()
    );
    let lock = datadir::lock(data)?;
    let stores = Stores::open(config)?;
    Ok((lock, stores))
}

fn with_stores<T>(
    config: &Config,
    f: impl FnOnce(&Stores) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (_lock, stores) = open_offline(config)?;
    let out = f(&stores);
    stores.close();
    out
}

fn source_line(r: &Resolved) -> String {
    match &r.mode {
        Mode::Server { url, .. } => format!("source: running server at {url}"),
        Mode::Offline => format!(
            "source: data directory {} (no server running on it)",
            r.config.server.data.display()
        ),
    }
}

fn print(json_out: bool, v: &Value, human: impl FnOnce(&Value) -> String) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        print!("{}", human(v));
    }
}

pub fn status(t: &Target) -> anyhow::Result<u8> {
    let r = resolve(t)?;
    let v = match &r.mode {
        Mode::Server { url, token } => call(url, token, "GET", "/api/v1/admin/status", "status")?,
        Mode::Offline => with_stores(&r.config, |s| Ok(ops::status(s, &r.config, None)))?,
    };
    print(t.json, &v, |v| {
        format!("{}\n{}", source_line(&r), human_status(v))
    });
    Ok(EXIT_OK)
}

fn human_status(v: &Value) -> String {
    let m = &v["metrics"];
    let tr = &v["traces"];
    let d = &v["disk"];
    let uptime = v["uptime_seconds"]
        .as_u64()
        .map_or("- (server not running)".to_owned(), |s| format!("{s}s"));
    let rss = v["memory"]["rss_bytes"]
        .as_u64()
        .map_or("- (server not running)".to_owned(), render::bytes);
    let rows = vec![
        vec![
            "version".into(),
            v["version"].as_str().unwrap_or("").to_owned(),
        ],
        vec!["uptime".into(), uptime],
        vec![
            "listen".into(),
            v["listen"].as_str().unwrap_or("").to_owned(),
        ],
        vec![
            "data dir".into(),
            v["data_dir"].as_str().unwrap_or("").to_owned(),
        ],
        vec![
            "retention metrics".into(),
            render::duration_secs(v["retention"]["metrics_seconds"].as_u64().unwrap_or(0)),
        ],
        vec![
            "retention traces".into(),
            render::duration_secs(v["retention"]["traces_seconds"].as_u64().unwrap_or(0)),
        ],
        vec!["oldest sample".into(), render::date_v(&m["oldest_ms"])],
        vec!["newest sample".into(), render::date_v(&m["newest_ms"])],
        vec!["active series".into(), render::num(&m["active_series"])],
        vec!["total series".into(), render::num(&m["series_total"])],
        vec!["samples on disk".into(), render::num(&m["samples_on_disk"])],
        vec![
            "bytes per sample".into(),
            render::num(&m["bytes_per_sample"]),
        ],
        vec![
            "oldest span".into(),
            render::date_unix_v(&tr["oldest_unix"]),
        ],
        vec![
            "newest span".into(),
            render::date_unix_v(&tr["newest_unix"]),
        ],
        vec!["spans stored".into(), render::num(&tr["spans"])],
        vec!["bytes per span".into(), render::num(&tr["bytes_per_span"])],
        vec![
            "disk: metrics index".into(),
            render::bytes_v(&m["disk_bytes"]["index"]),
        ],
        vec![
            "disk: metrics chunks".into(),
            render::bytes_v(&m["disk_bytes"]["chunks"]),
        ],
        vec![
            "disk: metrics WAL".into(),
            render::bytes_v(&m["disk_bytes"]["wal"]),
        ],
        vec![
            "disk: traces (incl. indexes)".into(),
            render::bytes_v(&tr["disk_bytes"]),
        ],
        vec![
            "disk: data dir total".into(),
            render::bytes_v(&d["data_dir_bytes"]),
        ],
        vec!["disk: free".into(), render::bytes_v(&d["free_bytes"])],
        vec![
            "ingest per day (stored)".into(),
            d["bytes_per_day"]
                .as_f64()
                .map_or("- (under 1 h of data)".into(), |b| render::bytes(b as u64)),
        ],
        vec![
            "days until disk full".into(),
            d["days_until_full"]
                .as_f64()
                .map_or("-".into(), |x| format!("{x:.0}")),
        ],
        vec![
            "memory in use / budget".into(),
            format!("{rss} / {}", render::bytes_v(&v["memory"]["budget_bytes"])),
        ],
    ];
    render::table(&["what", "value"], &rows)
}

/// `pharos du`: disk per partition and the `top` metric names by bytes.
pub fn du(t: &Target, top: usize) -> anyhow::Result<u8> {
    let r = resolve(t)?;
    let v = match &r.mode {
        Mode::Server { url, token } => call(
            url,
            token,
            "GET",
            &format!("/api/v1/admin/du?top={top}"),
            "du",
        )?,
        Mode::Offline => with_stores(&r.config, |s| {
            ops::du(s, &r.config, top, ops::Source::DataDir)
        })?,
    };
    print(t.json, &v, |v| {
        format!("{}\n\n{}", source_line(&r), crate::du_view::human(v))
    });
    Ok(EXIT_OK)
}

pub fn retention(t: &Target, cmd: Option<&RetentionCommand>) -> anyhow::Result<u8> {
    let r = resolve(t)?;
    let v = match (&r.mode, cmd) {
        (Mode::Server { url, token }, None) => {
            call(url, token, "GET", "/api/v1/admin/retention", "retention")?
        }
        (Mode::Server { url, token }, Some(RetentionCommand::Apply)) => call(
            url,
            token,
            "POST",
            "/api/v1/admin/retention/apply",
            "retention apply",
        )?,
        (Mode::Offline, None) => with_stores(&r.config, |s| Ok(ops::retention(s, &r.config)))?,
        (Mode::Offline, Some(RetentionCommand::Apply)) => offline_retention_apply(&r.config)?,
    };
    print(t.json, &v, |v| {
        let mut out = source_line(&r) + "\n";
        if cmd.is_some() {
            for store in ["metrics", "traces"] {
                let dropped: Vec<&str> = v[store]["partitions_dropped"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                out += &format!(
                    "{store}: dropped {} partition(s) [{}], freed {}\n",
                    dropped.len(),
                    dropped.join(", "),
                    render::bytes_v(&v[store]["bytes_freed"])
                );
            }
            out += &format!("total freed: {}\n", render::bytes_v(&v["bytes_freed"]));
        } else {
            for store in ["metrics", "traces"] {
                let s = &v[store];
                let next = &s["next_deletion"];
                let next = if next.is_null() {
                    "nothing stored yet".to_owned()
                } else {
                    format!(
                        "partition {} ({}) at {}",
                        next["partition"].as_str().unwrap_or(""),
                        render::bytes_v(&next["disk_bytes"]),
                        render::date_v(&next["expires_ms"])
                    )
                };
                out += &format!(
                    "{store}: keep {}, deletes data before {}; next deletion: {next}\n",
                    render::duration_secs(s["retention_seconds"].as_u64().unwrap_or(0)),
                    render::date_v(&s["deletes_before_ms"]),
                );
            }
        }
        out
    });
    Ok(EXIT_OK)
}

/// Offline `retention apply`. Opening a store may itself drop expired partitions (as a
/// server start does), so the bytes freed are measured from before the stores open.
fn offline_retention_apply(config: &Config) -> anyhow::Result<Value> {
    let mut config = config.clone();
    // No background retention pass in this short-lived process: the explicit one reports.
    config.retention.check_interval = Duration::from_secs(100 * 365 * 86_400);
    let data = config.server.data.clone();
    let stores_bytes = || {
        ops::dir_bytes(&datadir::metrics_dir(&data)) + ops::dir_bytes(&datadir::traces_dir(&data))
    };
    let before = stores_bytes();
    let p = Progress::start("retention apply");
    let out = with_stores(&config, |s| ops::retention_apply(s, &config));
    p.finish();
    let mut v = out?;
    v["bytes_freed"] = before.saturating_sub(stores_bytes()).into();
    Ok(v)
}

pub fn snapshot(t: &Target, cmd: &SnapshotCommand) -> anyhow::Result<u8> {
    let r = resolve(t)?;
    let v = match (&r.mode, cmd) {
        (Mode::Server { url, token }, SnapshotCommand::Create) => call(
            url,
            token,
            "POST",
            "/api/v1/admin/snapshot/create",
            "snapshot",
        )?,
        (Mode::Server { url, token }, SnapshotCommand::List) => {
            call(url, token, "GET", "/api/v1/admin/snapshot/list", "list")?
        }
        (Mode::Server { url, token }, SnapshotCommand::Delete { name }) => {
            anyhow::ensure!(
                ops::valid_snapshot_name(name),
                "invalid snapshot name {name:?}"
            );
            call(
                url,
                token,
                "POST",
                &format!("/api/v1/admin/snapshot/delete?name={name}"),
                "delete",
            )?
        }
        (Mode::Offline, SnapshotCommand::Create) => with_stores(&r.config, |s| {
            let p = Progress::start("snapshot");
            let out = ops::snapshot_create(s, &r.config);
            p.finish();
            out
        })?,
        (Mode::Offline, SnapshotCommand::List) => ops::snapshot_list(&r.config)?,
        (Mode::Offline, SnapshotCommand::Delete { name }) => ops::snapshot_delete(&r.config, name)?,
    };
    print(t.json, &v, |v| {
        let mut out = source_line(&r) + "\n";
        match cmd {
            SnapshotCommand::Create => {
                out += &format!(
                    "created snapshot {} ({}) at {}\n",
                    v["name"].as_str().unwrap_or(""),
                    render::bytes_v(&v["bytes"]),
                    v["path"].as_str().unwrap_or("")
                )
            }
            SnapshotCommand::List => {
                let rows: Vec<Vec<String>> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| {
                        vec![
                            s["name"].as_str().unwrap_or("").to_owned(),
                            render::date_v(&s["created_ms"]),
                            render::bytes_v(&s["bytes"]),
                            s["path"].as_str().unwrap_or("").to_owned(),
                        ]
                    })
                    .collect();
                out += &render::table(&["name", "created", "size", "path"], &rows);
            }
            SnapshotCommand::Delete { .. } => {
                out += &format!(
                    "deleted snapshot {}, freed {}\n",
                    v["deleted"].as_str().unwrap_or(""),
                    render::bytes_v(&v["bytes_freed"])
                )
            }
        }
        out
    });
    Ok(EXIT_OK)
}

/// `pharos restore SNAPSHOT`: copies a snapshot's stores into the data directory, which no
/// server may be running on. Existing stores there are replaced only with `--force`.
pub fn restore(t: &Target, snapshot: &str, force: bool) -> anyhow::Result<u8> {
    let args = ServeArgs {
        data: t.data.clone(),
        config: t.config.clone(),
        ..Default::default()
    };
    let config = crate::settings::load(&args, None)?.config;
    let data = config.server.data.clone();
    let src = {
        let p = PathBuf::from(snapshot);
        if p.join("manifest.json").exists() {
            p
        } else {
            datadir::snapshots_dir(&data).join(snapshot)
        }
    };
    anyhow::ensure!(
        src.join("manifest.json").exists(),
        "{snapshot} is not a snapshot (no manifest.json); pass a snapshot's path, e.g. ./data/snapshots/NAME, \
         or the name of one under {}",
        datadir::snapshots_dir(&data).display()
    );
    if datadir::is_locked(&data) {
        eprintln!(
            "error: a server is running on {}; stop it before restoring",
            data.display()
        );
        return Ok(EXIT_REFUSED);
    }
    let _lock = datadir::lock(&data)?;
    let (metrics, traces) = (datadir::metrics_dir(&data), datadir::traces_dir(&data));
    if (metrics.exists() || traces.exists()) && !force {
        eprintln!(
            "error: {} already holds data; pass --force to replace it with the snapshot",
            data.display()
        );
        return Ok(EXIT_REFUSED);
    }
    let total = ops::dir_bytes(&src.join("metrics")) + ops::dir_bytes(&src.join("traces"));
    let mut progress = CopyProgress::new(total);
    for (from, to) in [(src.join("metrics"), metrics), (src.join("traces"), traces)] {
        if to.exists() {
            std::fs::remove_dir_all(&to).with_context(|| format!("removing {}", to.display()))?;
        }
        if from.exists() {
            copy_tree(&from, &to, &mut progress)?;
        }
    }
    progress.finish();
    let v = serde_json::json!({"restored": src.display().to_string(), "data_dir": data.display().to_string(), "bytes": total});
    print(t.json, &v, |_| {
        format!(
            "restored {} into {} ({})\n",
            src.display(),
            data.display(),
            render::bytes(total)
        )
    });
    Ok(EXIT_OK)
}

fn copy_tree(from: &Path, to: &Path, progress: &mut CopyProgress) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_tree(&src, &dst, progress)?;
        } else {
            let n =
                std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
            std::fs::File::open(&dst)?.sync_all()?;
            progress.add(n);
        }
    }
    Ok(())
}

/// Elapsed-time ticker on stderr while a long call runs (terminal only).
struct Progress {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(what: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                stop: None,
                thread: None,
            };
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let what = what.to_owned();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while rx.recv_timeout(Duration::from_millis(500)).is_err() {
                eprint!("\r{what}: working… {}s", started.elapsed().as_secs());
            }
            eprint!("\r\x1b[K");
        });
        Progress {
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    fn finish(mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Bytes-copied progress on stderr (terminal only).
struct CopyProgress {
    total: u64,
    done: u64,
    tty: bool,
    last: Instant,
}

impl CopyProgress {
    fn new(total: u64) -> Self {
        CopyProgress {
            total,
            done: 0,
            tty: std::io::stderr().is_terminal(),
            last: Instant::now(),
        }
    }

    fn add(&mut self, n: u64) {
        self.done += n;
        if self.tty && self.last.elapsed() > Duration::from_millis(200) {
            self.last = Instant::now();
            let pct = (self.done * 100).checked_div(self.total).unwrap_or(100);
            eprint!(
                "\rrestoring: {} / {} ({pct}%)",
                render::bytes(self.done),
                render::bytes(self.total)
            );
        }
    }

    fn finish(&self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }
}
