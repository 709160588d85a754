//! Builds the front end (`web/`) into `web/dist`, which `rust-embed` puts into the binary.
//!
//! Runs `npm install --no-save` (the locked versions) when `node_modules` is missing or older than `package-lock.json`, then
//! `npm run build` (type check + Vite). Cargo reruns this only when a front-end source
//! changes (the `rerun-if-changed` lines below).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let web = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("web");
    for p in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=PHAROS_UI_NPM");
    let npm = std::env::var("PHAROS_UI_NPM").unwrap_or_else(|_| "npm".into());
    if Command::new(&npm).arg("--version").output().is_err() {
        fail(&format!(
            "`{npm}` was not found. Building pharos needs Node.js (>= 20) and npm to build the \
             browser UI: install Node.js (e.g. `apt-get install nodejs npm`, or from \
             https://nodejs.org) and build again."
        ));
    }
    if needs_install(&web) {
        // `npm install --no-save` installs the locked versions without rewriting the lock
        // file. (`npm ci` refuses this lock on npm 11: it wants entries for every other
        // platform's optional rollup binary, which npm itself does not write.)
        run(
            &npm,
            &["install", "--no-save", "--no-audit", "--no-fund"],
            &web,
        );
    }
    run(&npm, &["run", "build"], &web);
    if !web.join("dist/index.html").exists() {
        fail("the front-end build finished but web/dist/index.html is missing");
    }
}

fn needs_install(web: &Path) -> bool {
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let installed = modified(&web.join("node_modules/.package-lock.json"));
    let lock = modified(&web.join("package-lock.json"));
    match (installed, lock) {
        (None, _) => true,
        (Some(i), Some(l)) => i < l,
        (Some(_), None) => false,
    }
}

fn run(npm: &str, args: &[&str], dir: &Path) {
    let status = Command::new(npm).args(args).current_dir(dir).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!(
            "`{npm} {}` in {} failed ({s}); see its output above",
            args.join(" "),
            dir.display()
        )),
        Err(e) => fail(&format!("could not run `{npm}`: {e}")),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: pharos-ui: {msg}");
    panic!("pharos-ui: {msg}");
}
