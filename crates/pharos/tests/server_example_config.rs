//! The annotated example config is valid and complete: every setting is in it.

mod common;
use common::binary;
use std::process::Command;

#[test]
fn example_config_names_every_setting() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/pharos.toml");
    let out = Command::new(binary())
        .args(["check-config", path, "--json"])
        .env_remove("PHAROS_LISTEN")
        .env_remove("PHAROS_DATA")
        .env_remove("PHAROS_TOKEN")
        .env_remove("PHAROS_LOG_FORMAT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let missing: Vec<&String> = v
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, e)| e["source"] != "file")
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty(),
        "config/pharos.toml lacks these settings: {missing:?}"
    );
}
