//! Test harness: starts the real `pharos serve` binary on a free loopback port with a
//! private data directory, and stops it by its PID.
//!
//! ```ignore
//! mod common;
//! let srv = common::Server::start();                 // defaults, admin token
//! let r = srv.get("/api/v1/labels");                 // with the admin token
//! let srv = common::Server::builder().config("[retention]\nmetrics = \"2h\"\n").start();
//! ```
#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The admin token every test server gets (unless a builder sets another).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
pub const INGEST_TOKEN: &str = "test-ingest-token-0123456789abcdef";
pub const READ_TOKEN: &str = "test-read-token-0123456789abcdef";

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_pharos")
}

/// A free port on 127.0.0.1 (bound then released; the race is acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A blocking HTTP client with bounded timeouts.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

pub struct ServerBuilder {
    data: Option<PathBuf>,
    config: Option<String>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    with_scoped_tokens: bool,
    wait_ready: bool,
}

impl ServerBuilder {
    /// Use this data directory (e.g. to restart on the same data).
    pub fn data_dir(mut self, p: &Path) -> Self {
        self.data = Some(p.to_owned());
        self
    }
    /// Extra TOML appended to the generated config file.
    pub fn config(mut self, toml: &str) -> Self {
        self.config = Some(toml.to_owned());
        self
    }
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_owned());
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.to_owned(), v.to_owned()));
        self
    }
    /// Do not configure the ingest/read/admin test tokens (the config then has none).
    pub fn without_tokens(mut self) -> Self {
        self.with_scoped_tokens = false;
        self
    }
    /// Return as soon as the process is spawned.
    pub fn no_wait(mut self) -> Self {
        self.wait_ready = false;
        self
    }

    pub fn start(self) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let data = self.data.clone().unwrap_or_else(|| tmp.path().join("data"));
        let port = free_port();
        let mut config = String::new();
        if self.with_scoped_tokens {
            config.push_str(&format!(
                "[auth]\ningest_tokens = [\"{INGEST_TOKEN}\"]\nread_tokens = [\"{READ_TOKEN}\"]\nadmin_tokens = [\"{ADMIN_TOKEN}\"]\n"
            ));
        }
        if let Some(extra) = &self.config {
            config.push('\n');
            config.push_str(extra);
        }
        let config_path = tmp.path().join("pharos.toml");
        std::fs::write(&config_path, &config).unwrap();
        let log_path = tmp.path().join("server.log");
        let mut srv = Server {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data,
            config_path,
            log_path,
            args: self.args,
            envs: self.envs,
            _tmp: tmp,
        };
        srv.spawn();
        if self.wait_ready {
            srv.wait_ready(Duration::from_secs(120));
        }
        srv
    }
}

/// A running `pharos serve`. Dropping it kills the process.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
}

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            data: None,
            config: None,
            args: vec![],
            envs: vec![],
            with_scoped_tokens: true,
            wait_ready: true,
        }
    }

    pub fn start() -> Server {
        Self::builder().start()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap();
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config_path)
            .args(&self.args)
            .env_remove("PHAROS_TOKEN")
            .env_remove("PHAROS_LISTEN")
            .env_remove("PHAROS_DATA")
            .env_remove("PHAROS_CONFIG")
            .env("PHAROS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawn pharos"));
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Polls `/readyz` until 200; panics (with the server log) after `limit`.
    pub fn wait_ready(&mut self, limit: Duration) {
        let c = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("pharos exited early with {status}; log:\n{}", self.logs());
            }
            if let Ok(r) = c.get(self.url("/readyz")).send() {
                if r.status().is_success() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pharos not ready after {limit:?}; log:\n{}", self.logs());
    }

    pub fn logs(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// GET with the admin token.
    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.get_as(path, Some(ADMIN_TOKEN))
    }

    pub fn get_as(&self, path: &str, token: Option<&str>) -> reqwest::blocking::Response {
        let mut rb = client().get(self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb.send().expect("GET")
    }

    /// POST a body with the admin token and the given content type.
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::blocking::Response {
        self.post_as(path, Some(ADMIN_TOKEN), content_type, body)
    }

    pub fn post_as(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::blocking::Response {
        let mut rb = client()
            .post(self.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb.send().expect("POST")
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(sig)
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill {sig} failed");
    }

    /// Sends SIGTERM without waiting.
    pub fn sigterm(&self) {
        self.signal("-TERM");
    }

    /// SIGTERM and wait (up to 90 s) for a clean exit.
    pub fn stop(&mut self) -> ExitStatus {
        self.sigterm();
        self.wait_exit(Duration::from_secs(90))
    }

    /// Waits for the process to exit; panics after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(s) = child.try_wait().unwrap() {
                self.child = None;
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "pharos did not exit within {limit:?}; log:\n{}",
            self.logs()
        );
    }

    /// SIGKILL: no flush, no shutdown, as a crash.
    pub fn kill9(&mut self) {
        self.signal("-KILL");
        let _ = self.child.take().map(|mut c| c.wait());
    }

    /// Starts the process again on the same port, data dir and config, and waits until ready.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the server first");
        self.spawn();
        self.wait_ready(Duration::from_secs(120));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
