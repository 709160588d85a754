//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Ready once every store is open; not ready again as soon as shutdown begins.
#[derive(Clone, Default)]
pub struct Readiness {
    stores_open: Arc<AtomicBool>,
    shutting_down: Arc<AtomicBool>,
}

impl Readiness {
    pub fn set_stores_open(&self) {
        self.stores_open.store(true, Ordering::SeqCst);
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.stores_open.load(Ordering::SeqCst) && !self.shutting_down.load(Ordering::SeqCst)
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 only when every store is open and no shutdown is under way.
pub async fn readyz(State(r): State<Readiness>) -> (StatusCode, &'static str) {
    if r.is_ready() {
        (StatusCode::OK, "ready\n")
    } else if r.is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: opening stores\n",
        )
    }
}
