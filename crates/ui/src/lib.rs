//! The embedded UI.
//!
//! In: browser page loads at `/` (and the single-page app's paths), login and logout form
//! posts, and reads of the provisioned dashboards.
//! Out: the built front-end assets (embedded in the binary at build time, see `build.rs`),
//! session cookies (`HttpOnly`, `SameSite=Strict`, `Secure` behind TLS) for a token or a
//! configured user's password (`[[ui.users]]`, Argon2), and the
//! Grafana-format dashboards found in `ui.dashboards`. The front end itself calls the
//! Prometheus and Jaeger query APIs with the session cookie.
//!
//! [`routes`] returns public routes (no bearer check in the front): pages check the
//! session themselves and send visitors without one to the login page; the dashboards API
//! is guarded by the front's `read` scope check.

mod assets;
mod dashboards;
mod login;
mod pages;
mod session;
mod users;

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use pharos_config::{Config, Scope};
use pharos_front::auth::{require_scope, RequireScope};
use pharos_front::Authenticator;
use std::sync::Arc;

pub use dashboards::{DashboardSummary, Provisioned};

/// Paths of the single-page app: a page load of any of them serves `index.html`.
pub const APP_PATHS: &[&str] = &[
    "/",
    "/d/{uid}",
    "/d/{uid}/{slug}",
    "/dashboards",
    "/explore",
    "/traces",
    "/trace/{id}",
];

/// The UI's routes (to be mounted as public routes).
pub fn routes(auth: Arc<Authenticator>, config: &Config) -> Router {
    let provisioned = Arc::new(Provisioned::new(config.ui.dashboards.clone()));
    match provisioned.list() {
        Ok(list) => tracing::info!(
            count = list.len(),
            folder = %config.ui.dashboards.display(),
            "dashboards provisioned"
        ),
        Err(e) => tracing::warn!(error = %e, "provisioned dashboards could not be read"),
    }
    let read_only = RequireScope {
        auth: auth.clone(),
        scope: Scope::Read,
    };
    let api = Router::new()
        .route("/api/ui/dashboards", get(dashboards::list))
        .route("/api/ui/dashboards/{uid}", get(dashboards::get_one))
        .with_state(provisioned)
        .merge(Router::new().route("/api/ui/session", get(session::whoami)))
        .layer(from_fn_with_state(read_only, require_scope));
    let page_state = pages::PageState {
        auth: auth.clone(),
        index: Arc::new(assets::index_html(config.ui.scrape_interval)),
    };
    let mut app = Router::new();
    for path in APP_PATHS {
        app = app.route(path, get(pages::app_page));
    }
    let login_state = login::LoginState {
        auth: auth.clone(),
        users: users::Users::from_config(config),
    };
    let pages = Router::new()
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .with_state(login_state)
        .merge(app.with_state(page_state));
    Router::new()
        .merge(api)
        .merge(pages)
        .route("/assets/{*file}", get(assets::asset))
        .route("/favicon.svg", get(assets::favicon))
}

#[cfg(test)]
mod tests;
