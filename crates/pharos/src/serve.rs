//! `pharos serve`: how the stages are put together.
//!
//! 1. Make sure at least one token exists (the embedded default creates one in the data dir).
//! 2. Bind the listener and start the front at once: `/healthz` answers, `/readyz` is 503.
//! 3. Open the stores (WAL replay can take a while) and build each stage's routes.
//! 4. Put the application into the front; `/readyz` turns 200.
//! 5. On SIGINT/SIGTERM the front drains, then the stores flush and close; exit 0.

use crate::stores::Stores;
use crate::{admin, allocator, datadir, logging, self_scrape, settings, token};
use anyhow::Context;
use axum::Router;
use pharos_config::{Config, Loaded};
use pharos_front::{Authenticator, Readiness, Sessions, StageRoutes};
use std::sync::{Arc, RwLock};

/// Opens the stores and builds the routes of every stage.
///
/// (Wiring a stage: add its crate to `crates/pharos/Cargo.toml` and merge its routers into
/// `routes.ingest` / `routes.read` / `routes.admin` / `routes.public`; the stores are in
/// `stores`, see `stores.rs`.)
fn open_stages(
    config: &Arc<Config>,
    auth: &Arc<Authenticator>,
) -> anyhow::Result<(StageRoutes, Arc<Stores>)> {
    let stores = Arc::new(Stores::open(config)?);
    let mut routes = StageRoutes::default();
    routes.admin = routes
        .admin
        .merge(admin::router(config.clone(), stores.clone()));
    routes.ingest = routes.ingest.merge(pharos_metrics_ingest::ingest_router(
        stores.tsdb.clone(),
        config,
    ));
    routes.read = routes.read.merge(pharos_metrics_ingest::read_router(
        stores.tsdb.clone(),
        config,
    ));
    routes.read = routes
        .read
        .merge(pharos_prom_api::read_router(stores.tsdb.clone(), config));
    routes.ingest = routes.ingest.merge(pharos_trace_ingest::ingest_router(
        stores.traces.clone(),
        config,
    ));
    routes.read = routes
        .read
        .merge(pharos_trace_api::read_router(stores.traces.clone(), config));
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
    // Held until the process exits: one server per data directory.
    let data_lock = datadir::lock(&config.server.data)?;
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    data_lock.record_listen(&addr.to_string())?;
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
    let every = config.server.self_scrape_interval;
    let self_scrape =
        (!every.is_zero()).then(|| tokio::spawn(self_scrape::run(stores.tsdb.clone(), every)));

    let trimmer = tokio::spawn(allocator::trim_free_heap());

    let served = server.await;
    trimmer.abort();
    if let Some(task) = self_scrape {
        task.abort();
    }
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
