//! `pharos serve`: how the stages are put together.
//!
//! 1. Make sure at least one token exists (the embedded default creates one in the data dir).
//! 2. Bind the listener and start the front at once: `/healthz` answers, `/readyz` is 503.
//! 3. Open the stores (WAL replay can take a while) and build each stage's routes.
//! 4. Put the application into the front; `/readyz` turns 200.
//! 5. On SIGINT/SIGTERM the front drains, then the stores flush and close; exit 0.

use crate::{admin, logging, settings, token};
use anyhow::Context;
use axum::Router;
use pharos_config::{Config, Loaded};
use pharos_front::{Authenticator, Readiness, Sessions, StageRoutes};
use std::sync::{Arc, RwLock};

/// Every store the server has open, closed in order at shutdown.
#[derive(Default)]
struct Stores {
    // WIRE(metrics-store): `tsdb: Option<Arc<pharos_tsdb::Tsdb>>,`
    // WIRE(traces-store): `traces: Option<Arc<pharos_tracestore::TraceStore>>,`
}

impl Stores {
    /// Flushes and closes every store; errors are logged, not fatal, so each store gets its turn.
    fn close(self) {
        // WIRE(metrics-close)
        // WIRE(traces-close)
        let _ = self;
    }
}

/// Opens the stores and builds the routes of every stage.
///
/// (Wiring a stage: add its crate to `crates/pharos/Cargo.toml`, open its store here, keep
/// the handle in `Stores`, merge its routers into `routes.ingest` / `routes.read` /
/// `routes.admin` / `routes.public`.)
fn open_stages(
    config: &Arc<Config>,
    auth: &Arc<Authenticator>,
) -> anyhow::Result<(StageRoutes, Stores)> {
    let data = &config.server.data;
    std::fs::create_dir_all(data)
        .with_context(|| format!("creating data directory {}", data.display()))?;
    #[allow(unused_mut)]
    let mut routes = StageRoutes::default();
    #[allow(unused_mut)]
    let mut stores = Stores::default();
    routes.admin = routes.admin.merge(admin::router(config.clone()));
    // WIRE(metrics): open the TSDB under data/metrics; mount ingest + export routes.
    // WIRE(promql): mount the Prometheus API on the TSDB.
    // WIRE(traces): open the trace store under data/traces; mount OTLP ingest + Jaeger/Tempo APIs.
    // WIRE(ui): mount the UI (public) routes.
    routes.public = routes.public.merge(pharos_ui::routes(auth.clone(), config));
    routes.public = routes.public.merge(pharos_ui::routes(auth.clone(), config));
    Ok((routes, stores))
}

fn tokens_or_default(loaded: &mut Loaded) -> anyhow::Result<()> {
    if !loaded.config.auth.is_empty() {
        return Ok(());
    }
    let data = loaded.config.server.data.clone();
    let (tok, created) = token::default_token(&data)
        .with_context(|| format!("creating the default token in {}", data.display()))?;
    loaded.config.auth.admin_tokens.push(tok.clone());
    let url = format!("http://{}/", loaded.config.server.listen);
    if created {
        // Printed once, on the first start, to the terminal (not to the log).
        println!(
            "Pharos generated an admin token (kept in {}/token, mode 0600):",
            data.display()
        );
        println!("  {tok}");
        println!("Open {url} and log in with it; send data with `Authorization: Bearer <token>`.");
    } else {
        tracing::info!(file = %data.join("token").display(), "using the admin token kept in the data directory");
    }
    Ok(())
}

pub fn run(mut loaded: Loaded, log_format: Option<String>) -> anyhow::Result<()> {
    let format = log_format
        .map(|f| settings::parse_log_format(&f))
        .unwrap_or(loaded.config.server.log_format);
    logging::init(format);
    tokens_or_default(&mut loaded)?;
    let config = Arc::new(loaded.config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

async fn serve(config: Arc<Config>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data = %config.server.data.display(), "pharos listening");
    let readiness = Readiness::default();
    let slot: pharos_front::AppSlot = Arc::new(RwLock::new(None));
    let sessions = Sessions::new(10_000, config.ui.session_ttl);
    let auth = Arc::new(Authenticator::new(&config.auth, sessions));
    let server = tokio::spawn(pharos_front::serve(
        listener,
        slot.clone(),
        readiness.clone(),
        shutdown_signal(),
        config.server.shutdown_timeout,
    ));

    let open = {
        let (config, auth) = (config.clone(), auth.clone());
        tokio::task::spawn_blocking(move || open_stages(&config, &auth))
    };
    let (routes, stores) = match open.await? {
        Ok(x) => x,
        Err(e) => {
            server.abort();
            return Err(e.context("opening stores"));
        }
    };
    let app: Router = pharos_front::build_app(routes, auth, &config);
    *slot.write().expect("app slot lock") = Some(app);
    readiness.set_stores_open();
    tracing::info!("stores open; ready");

    let served = server.await;
    tracing::info!("front stopped; flushing and closing stores");
    tokio::task::spawn_blocking(move || stores.close()).await?;
    tracing::info!("stopped cleanly");
    served??;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}
