//! Configuration precedence (flag > env > file > default) and config errors.

mod common;
use common::{binary, free_port, ADMIN_TOKEN};
use std::process::{Command, Stdio};
use std::time::Duration;

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("pharos.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Starts `pharos serve` with the given env and args and returns the port it listens on.
fn listening_port(
    cfg: &std::path::Path,
    envs: &[(&str, String)],
    args: &[String],
    candidates: &[u16],
) -> u16 {
    let data = cfg.parent().unwrap().join("data");
    let mut cmd = Command::new(binary());
    cmd.arg("serve")
        .arg("--config")
        .arg(cfg)
        .arg("--data")
        .arg(&data)
        .arg("--token")
        .arg(ADMIN_TOKEN);
    cmd.args(args)
        .env_remove("PHAROS_LISTEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let mut found = None;
    'poll: for _ in 0..400 {
        for p in candidates {
            if c.get(format!("http://127.0.0.1:{p}/healthz"))
                .send()
                .is_ok()
            {
                found = Some(*p);
                break 'poll;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    found.expect("server listened on none of the candidate ports")
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    let (pf, pe, pl) = (free_port(), free_port(), free_port());
    let cfg = write(
        dir.path(),
        &format!("[server]\nlisten = \"127.0.0.1:{pf}\"\n"),
    );
    let all = [pf, pe, pl];
    assert_eq!(
        listening_port(&cfg, &[], &[], &all),
        pf,
        "file over default"
    );
    let env = [("PHAROS_LISTEN", format!("127.0.0.1:{pe}"))];
    assert_eq!(listening_port(&cfg, &env, &[], &all), pe, "env over file");
    let flag = ["--listen".to_owned(), format!("127.0.0.1:{pl}")];
    assert_eq!(listening_port(&cfg, &env, &flag, &all), pl, "flag over env");
}

#[test]
fn check_config_prints_sources() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "[retention]\nmetrics = \"15d\"\n[auth]\nread_tokens = [\"a-read-token-0123456789\"]\n",
    );
    let out = Command::new(binary())
        .arg("check-config")
        .arg(&cfg)
        .arg("--json")
        .env("PHAROS_LISTEN", "127.0.0.1:9999")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["retention.metrics"]["source"], "file");
    assert_eq!(v["retention.metrics"]["value"], "\"15days\"");
    assert_eq!(v["retention.traces"]["source"], "default");
    assert_eq!(v["server.listen"]["source"], "env");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("a-read-token-0123456789"),
        "tokens are redacted"
    );
}

#[test]
fn bad_config_names_the_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[server]\nlisten = \"not an address\"\n", "server.listen"),
        ("[retention]\nmetrics = \"forever\"\n", "metrics"),
        ("[server]\nlistne = \"127.0.0.1:1\"\n", "listne"),
        (
            "[limits]\ningest_concurrency = 0\n",
            "limits.ingest_concurrency",
        ),
    ] {
        let cfg = write(dir.path(), text);
        for sub in [
            vec!["check-config".to_owned(), cfg.display().to_string()],
            vec![
                "serve".to_owned(),
                "--config".to_owned(),
                cfg.display().to_string(),
                "--data".to_owned(),
                dir.path().join("d").display().to_string(),
            ],
        ] {
            let out = Command::new(binary())
                .args(&sub)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{sub:?} with {text:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(key),
                "error for {text:?} does not name {key}: {err}"
            );
        }
    }
}
