//! Assembling the stage routers behind the front's layers, and serving them with a
//! graceful shutdown.
//!
//! The listener is bound before the stores are open: `/healthz` answers at once,
//! `/readyz` says 503 until [`Readiness::set_stores_open`], and every other path answers
//! 503 "starting" until the application router is put into the [`AppSlot`].

use crate::auth::{require_scope, Authenticator, RequireScope};
use crate::health::{healthz, readyz, Readiness};
use crate::limits::{limit_concurrency, limit_time, overloaded, ConcurrencyLimit, Timeout};
use crate::request_id;
use crate::self_metrics::{self, InFlightGuard};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use pharos_config::{Config, Scope};
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tower::ServiceExt;
use tower_http::limit::RequestBodyLimitLayer;

/// The routers of the stages, grouped by the scope they need. Each has its state applied.
#[derive(Default)]
pub struct StageRoutes {
    /// Write endpoints (remote-write, text import, OTLP): `ingest` scope.
    pub ingest: Router,
    /// Query APIs and UI data: `read` scope.
    pub read: Router,
    /// Admin endpoints: `admin` scope.
    pub admin: Router,
    /// No token needed (UI login page and static assets); such routes check sessions themselves.
    pub public: Router,
}

/// Where the application router goes once the stores are open.
pub type AppSlot = Arc<RwLock<Option<Router>>>;

/// Builds the application: each scope's routes behind its token check, concurrency limit
/// and timeout, then self-metrics and the body-size limit around all of them.
pub fn build_app(routes: StageRoutes, auth: Arc<Authenticator>, config: &Config) -> Router {
    self_metrics::init();
    let limits = &config.limits;
    let guard = |router: Router,
                 scope: Scope,
                 class: &'static str,
                 permits: usize,
                 status: StatusCode,
                 after: Duration| {
        router
            .layer(from_fn_with_state(Timeout { class, after }, limit_time))
            .layer(from_fn_with_state(
                ConcurrencyLimit::new(class, permits, limits.queue_wait, status),
                limit_concurrency,
            ))
            .layer(from_fn_with_state(
                RequireScope {
                    auth: auth.clone(),
                    scope,
                },
                require_scope,
            ))
    };
    let request_timeout = config.server.request_timeout;
    // The query engine enforces `query.timeout` itself with Prometheus's error; the front's
    // timeout is a backstop a little later.
    let query_timeout = config.query.timeout + Duration::from_secs(5);
    let mut read = routes.read;
    let metrics_route = Router::new().route("/metrics", get(self_metrics::metrics_handler));
    let mut public = routes.public;
    if auth.anonymous_metrics() {
        public = public.merge(metrics_route);
    } else {
        read = read.merge(metrics_route);
    }
    let app = Router::new()
        .merge(guard(
            routes.ingest,
            Scope::Ingest,
            "ingest",
            limits.ingest_concurrency,
            StatusCode::TOO_MANY_REQUESTS,
            request_timeout,
        ))
        .merge(guard(
            read,
            Scope::Read,
            "query",
            limits.query_concurrency,
            StatusCode::SERVICE_UNAVAILABLE,
            query_timeout,
        ))
        .merge(guard(
            routes.admin,
            Scope::Admin,
            "admin",
            limits.admin_concurrency,
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout.max(Duration::from_secs(600)),
        ))
        .merge(public);
    app.layer(RequestBodyLimitLayer::new(
        limits.max_body_bytes.as_u64() as usize
    ))
    .layer(from_fn(self_metrics::record))
}

#[derive(Clone)]
struct Outer {
    slot: AppSlot,
    readiness: Readiness,
    /// Requests dispatched to the app and not finished, whatever their class (the drain
    /// waits for it to reach 0). Not exported: `/metrics` shows the per-class gauges.
    in_flight: prometheus::IntGauge,
}

async fn dispatch(State(outer): State<Outer>, req: Request) -> Response {
    if outer.readiness.is_shutting_down() {
        return overloaded(StatusCode::SERVICE_UNAVAILABLE, "server is shutting down");
    }
    let app = outer.slot.read().ok().and_then(|s| s.clone());
    let Some(app) = app else {
        return overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "server is starting: stores are opening",
        );
    };
    let _in_flight = InFlightGuard::new(&outer.in_flight);
    match app.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

async fn passthrough(req: Request, next: Next) -> Response {
    next.run(req).await
}

/// Serves until `shutdown` resolves, then: readiness goes 503 and new requests are refused
/// with 503 while in-flight requests finish (up to `drain_timeout`); then the listener
/// closes and idle connections are dropped. Returns when the server has stopped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    slot: AppSlot,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let outer = Outer {
        slot,
        readiness: readiness.clone(),
        in_flight: prometheus::IntGauge::new("dispatched_in_flight", "requests in the app")
            .expect("valid gauge name"),
    };
    let in_flight = outer.in_flight.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(readiness.clone()))
        .fallback(dispatch)
        .with_state(outer)
        .layer(from_fn(passthrough))
        .layer(from_fn(request_id::with_request_id));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (hard_tx, hard_rx) = tokio::sync::oneshot::channel::<()>();
    let drain = async move {
        shutdown.await;
        readiness.begin_shutdown();
        tracing::info!("shutdown requested: readiness is 503, draining in-flight requests");
        let deadline = tokio::time::Instant::now() + drain_timeout;
        while in_flight.get() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left = in_flight.get();
        if left > 0 {
            tracing::warn!(left, "drain timeout reached with requests still in flight");
        }
        let _ = stop_tx.send(());
        let _ = hard_tx.send(());
    };
    tokio::spawn(drain);
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    // After the drain, connections still open get a short grace period, then are dropped.
    let hard_stop = async move {
        if hard_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    tokio::select! {
        r = server => r,
        _ = hard_stop => {
            tracing::warn!("connections still open after the drain; closing them");
            Ok(())
        }
    }
}
