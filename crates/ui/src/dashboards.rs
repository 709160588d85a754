//! Provisioned dashboards: Grafana-format JSON files in the `ui.dashboards` folder (and its
//! sub-folders, one level deep, which become folders in the list), plus the dashboards
//! shipped in the repository's `dashboards/`, built into the binary ("Built-in" folder) so a
//! copied binary has them; a file in the folder with the same uid replaces a built-in one.
//!
//! The folder is rescanned on every request, and a file is parsed again only when its size
//! or modification time changed, so edited dashboards show up without a restart.
//! Files exported with Grafana's "share externally" (`__inputs` such as
//! `${DS_PROMETHEUS}`) or through its HTTP API (`{"dashboard": …}`) are accepted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_embed::RustEmbed;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

#[derive(RustEmbed)]
#[folder = "../../dashboards/"]
struct Shipped;

pub const BUILTIN_FOLDER: &str = "Built-in";

/// The shipped dashboards, parsed once.
static BUILTIN: LazyLock<Vec<(DashboardSummary, Arc<Value>)>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for name in Shipped::iter().filter(|n| n.ends_with(".json")) {
        let Some(file) = Shipped::get(&name) else {
            continue;
        };
        let stem = name.trim_end_matches(".json");
        match parse(&file.data) {
            Ok(d) => out.push((
                summarise(&d, stem, BUILTIN_FOLDER, &format!("builtin:{name}")),
                Arc::new(d),
            )),
            Err(e) => tracing::error!(file = %name, error = %e, "built-in dashboard ignored"),
        }
    }
    out
});

const MAX_FILE_BYTES: u64 = 8 << 20;
const MAX_FILES: usize = 2000;

/// One entry of the dashboard list.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DashboardSummary {
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub folder: String,
    pub file: String,
    /// Why the file could not be used, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Parsed {
    stamp: (SystemTime, u64),
    summary: DashboardSummary,
    dashboard: Option<Arc<Value>>,
}

/// The dashboards folder and what was parsed from it.
pub struct Provisioned {
    dir: PathBuf,
    cache: Mutex<HashMap<PathBuf, Parsed>>,
}

impl Provisioned {
    pub fn new(dir: PathBuf) -> Self {
        Provisioned {
            dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// All dashboards, sorted by folder and title. A missing folder is an empty list.
    pub fn list(&self) -> std::io::Result<Vec<DashboardSummary>> {
        self.refresh()?;
        let cache = self
            .cache
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        let mut out: Vec<DashboardSummary> = cache.values().map(|p| p.summary.clone()).collect();
        for (summary, _) in BUILTIN.iter() {
            if !out
                .iter()
                .any(|d| d.uid == summary.uid && d.error.is_none())
            {
                out.push(summary.clone());
            }
        }
        out.sort_by(|a, b| (&a.folder, &a.title, &a.file).cmp(&(&b.folder, &b.title, &b.file)));
        // The first file (by folder, title, name) of a uid wins; later ones are marked.
        let mut seen = std::collections::HashSet::new();
        for d in out.iter_mut() {
            if d.error.is_none() && !seen.insert(d.uid.clone()) {
                d.error = Some(format!("uid {:?} is used by another dashboard", d.uid));
            }
        }
        Ok(out)
    }

    /// The dashboard JSON of `uid`.
    pub fn get(&self, uid: &str) -> std::io::Result<Option<Arc<Value>>> {
        let list = self.list()?;
        let Some(entry) = list.iter().find(|d| d.uid == uid && d.error.is_none()) else {
            return Ok(None);
        };
        if entry.folder == BUILTIN_FOLDER && entry.file.starts_with("builtin:") {
            return Ok(BUILTIN
                .iter()
                .find(|(s, _)| s.file == entry.file)
                .map(|(_, d)| d.clone()));
        }
        let cache = self
            .cache
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        Ok(cache
            .get(&self.dir.join(&entry.file))
            .and_then(|p| p.dashboard.clone()))
    }

    fn files(&self) -> std::io::Result<Vec<(PathBuf, String)>> {
        let mut files = Vec::new();
        let top = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
            Err(e) => return Err(e),
        };
        for entry in top.flatten() {
            let path = entry.path();
            if path.is_dir() {
                let folder = entry.file_name().to_string_lossy().into_owned();
                for sub in std::fs::read_dir(&path)?.flatten() {
                    if is_json(&sub.path()) {
                        files.push((sub.path(), folder.clone()));
                    }
                }
            } else if is_json(&path) {
                files.push((path, String::new()));
            }
            if files.len() >= MAX_FILES {
                tracing::warn!(
                    max = MAX_FILES,
                    "too many dashboard files; the rest are ignored"
                );
                break;
            }
        }
        Ok(files)
    }

    fn refresh(&self) -> std::io::Result<()> {
        let files = self.files()?;
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        cache.retain(|p, _| files.iter().any(|(f, _)| f == p));
        for (path, folder) in files {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let stamp = (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            );
            if cache.get(&path).is_some_and(|p| p.stamp == stamp) {
                continue;
            }
            let rel = path
                .strip_prefix(&self.dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let parsed = if meta.len() > MAX_FILE_BYTES {
                Err(format!("file is larger than {} MiB", MAX_FILE_BYTES >> 20))
            } else {
                std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| parse(&b))
            };
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let entry = match parsed {
                Ok(d) => {
                    let summary = summarise(&d, &stem, &folder, &rel);
                    Parsed {
                        stamp,
                        summary,
                        dashboard: Some(Arc::new(d)),
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %rel, error = %e, "dashboard file ignored");
                    Parsed {
                        stamp,
                        summary: DashboardSummary {
                            uid: stem.clone(),
                            title: stem,
                            tags: vec![],
                            folder,
                            file: rel,
                            error: Some(e),
                        },
                        dashboard: None,
                    }
                }
            };
            cache.insert(path, entry);
        }
        Ok(())
    }
}

fn is_json(p: &std::path::Path) -> bool {
    p.is_file() && p.extension().is_some_and(|e| e == "json")
}

/// Parses a dashboard file: unwraps `{"dashboard": …}`, resolves `__inputs`, sets a uid.
fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut v: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    if let Some(inner) = v.get_mut("dashboard").filter(|d| d.is_object()) {
        v = inner.take();
    }
    let Some(obj) = v.as_object_mut() else {
        return Err("a dashboard must be a JSON object".into());
    };
    if !obj.get("panels").is_some_and(Value::is_array)
        && !obj.get("rows").is_some_and(Value::is_array)
    {
        return Err("not a Grafana dashboard: no \"panels\" list".into());
    }
    let inputs: Vec<(String, String)> = obj
        .get("__inputs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|i| i.get("type").and_then(Value::as_str) == Some("datasource"))
                .filter_map(|i| {
                    let name = i.get("name")?.as_str()?;
                    let plugin = i
                        .get("pluginId")
                        .and_then(Value::as_str)
                        .unwrap_or("prometheus");
                    Some((format!("${{{name}}}"), plugin.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    if !inputs.is_empty() {
        resolve_inputs(&mut v, &inputs);
    }
    Ok(v)
}

/// Replaces `${DS_NAME}` data-source inputs by the data source of that plugin type.
fn resolve_inputs(v: &mut Value, inputs: &[(String, String)]) {
    match v {
        Value::String(s) => {
            if let Some((_, plugin)) = inputs.iter().find(|(n, _)| n == s) {
                *s = plugin.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_inputs(x, inputs)),
        Value::Object(o) => o.values_mut().for_each(|x| resolve_inputs(x, inputs)),
        _ => {}
    }
}

fn summarise(d: &Value, stem: &str, folder: &str, rel: &str) -> DashboardSummary {
    let s = |k: &str| d.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    DashboardSummary {
        uid: s("uid").unwrap_or(stem).to_string(),
        title: s("title").unwrap_or(stem).to_string(),
        tags: d
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        folder: folder.to_string(),
        file: rel.to_string(),
        error: None,
    }
}

fn io_error(e: std::io::Error) -> Response {
    tracing::warn!(error = %e, "reading the dashboards folder");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"status": "error", "error": format!("reading the dashboards folder: {e}")})),
    )
        .into_response()
}

/// `GET /api/ui/dashboards`.
pub async fn list(State(p): State<Arc<Provisioned>>) -> Response {
    match p.list() {
        Ok(l) => Json(json!({ "status": "success", "data": l })).into_response(),
        Err(e) => io_error(e),
    }
}

/// `GET /api/ui/dashboards/{uid}`.
pub async fn get_one(State(p): State<Arc<Provisioned>>, Path(uid): Path<String>) -> Response {
    match p.get(&uid) {
        Ok(Some(d)) => {
            let mut body = Map::new();
            body.insert("status".into(), "success".into());
            body.insert("data".into(), (*d).clone());
            Json(Value::Object(body)).into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"status": "error", "error": format!("no dashboard with uid {uid:?}")})),
        )
            .into_response(),
        Err(e) => io_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_wrapper() {
        let raw = br#"{"dashboard":{"__inputs":[{"name":"DS_PROM","type":"datasource","pluginId":"prometheus"}],
            "title":"T","panels":[{"datasource":"${DS_PROM}","targets":[{"datasource":{"uid":"${DS_PROM}"}}]}]}}"#;
        let d = parse(raw).unwrap();
        assert_eq!(d["panels"][0]["datasource"], "prometheus");
        assert_eq!(
            d["panels"][0]["targets"][0]["datasource"]["uid"],
            "prometheus"
        );
        let s = summarise(&d, "file", "", "file.json");
        assert_eq!((s.uid.as_str(), s.title.as_str()), ("file", "T"));
    }

    #[test]
    fn rejects_non_dashboards() {
        assert!(parse(b"[1]").unwrap_err().contains("object"));
        assert!(parse(b"{\"a\":1}").unwrap_err().contains("panels"));
        assert!(parse(b"{").unwrap_err().contains("invalid JSON"));
    }

    #[test]
    fn folder_scan_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"uid":"x","title":"A","panels":[]}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.json"),
            r#"{"uid":"x","title":"B","panels":[]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.json"), "nope").unwrap();
        std::fs::create_dir(dir.path().join("team")).unwrap();
        std::fs::write(
            dir.path().join("team/c.json"),
            r#"{"title":"C","panels":[]}"#,
        )
        .unwrap();
        let p = Provisioned::new(dir.path().to_path_buf());
        let l: Vec<_> = p
            .list()
            .unwrap()
            .into_iter()
            .filter(|d| d.folder != BUILTIN_FOLDER)
            .collect();
        assert_eq!(l.len(), 4);
        assert_eq!(l.iter().filter(|d| d.error.is_some()).count(), 2);
        let c = l.iter().find(|d| d.uid == "c").unwrap();
        assert_eq!(c.folder, "team");
        assert_eq!(p.get("x").unwrap().unwrap()["title"], "A");
        assert!(p.get("nope").unwrap().is_none());
        let missing = Provisioned::new(dir.path().join("missing")).list().unwrap();
        assert!(missing.iter().all(|d| d.folder == BUILTIN_FOLDER));
    }

    #[test]
    fn builtin_dashboards_are_embedded_and_overridable() {
        let dir = tempfile::tempdir().unwrap();
        let p = Provisioned::new(dir.path().to_path_buf());
        let uids: Vec<String> = p.list().unwrap().into_iter().map(|d| d.uid).collect();
        for uid in ["pharos-red", "pharos-self", "pharos-node"] {
            assert!(uids.contains(&uid.to_string()), "{uid} built in: {uids:?}");
        }
        assert_eq!(p.get("pharos-red").unwrap().unwrap()["uid"], "pharos-red");
        std::fs::write(
            dir.path().join("mine.json"),
            r#"{"uid":"pharos-red","title":"My RED","panels":[]}"#,
        )
        .unwrap();
        let l = p.list().unwrap();
        let red: Vec<_> = l.iter().filter(|d| d.uid == "pharos-red").collect();
        assert_eq!(red.len(), 1);
        assert_eq!(red[0].title, "My RED");
        assert_eq!(p.get("pharos-red").unwrap().unwrap()["title"], "My RED");
    }
}
