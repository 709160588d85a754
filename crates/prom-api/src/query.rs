//! `/api/v1/query` and `/api/v1/query_range`.

use crate::cheap::QueryShape;
use crate::params::Params;
use crate::response::{encode_value, success_raw, ApiError};
use crate::ApiState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pharos_model::SeriesSource;
use pharos_promql::{Engine, QueryOptions, QueryResult, Value};
use std::time::Instant;

pub async fn instant(State(st): State<ApiState>, params: Params) -> Response {
    run(st, params, false)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

pub async fn range(State(st): State<ApiState>, params: Params) -> Response {
    run(st, params, true)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn run(st: ApiState, p: Params, is_range: bool) -> Result<Response, ApiError> {
    let began = Instant::now();
    let (t, start, end, step) = if is_range {
        let start = crate::params::parse_time(p.get("start").unwrap_or(""))
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"start\": {e}")))?;
        let end = crate::params::parse_time(p.get("end").unwrap_or(""))
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"end\": {e}")))?;
        if end < start {
            return Err(ApiError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        let step = crate::params::parse_duration(p.get("step").unwrap_or(""))
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"step\": {e}")))?;
        let step = step.as_millis() as i64;
        if step <= 0 {
            return Err(ApiError::bad_data(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        (0, start, end, step)
    } else {
        let t = p.time_or("time", crate::now_ms())?;
        (t, t, t, 0)
    };
    let timeout = p
        .duration("timeout")?
        .map_or(st.config.query.timeout, |t| t.min(st.config.query.timeout));
    let opts = QueryOptions {
        deadline: Some(began + timeout),
        timeout: p.duration("timeout")?,
        lookback_delta: p.duration("lookback_delta")?,
    };
    let limit = p.limit()?;
    let text = p.get("query").unwrap_or("");
    let expr = pharos_promql::parse(text)?;
    let shape = QueryShape::new(text, end - start, step);
    let inline = st.cheap.was_cheap(shape) && pharos_promql::fits_caller_stack(&expr);
    let evaluate = move |engine: &Engine, src: &dyn SeriesSource| {
        let began = Instant::now();
        let res = if is_range {
            engine.range_expr_here(src, &expr, start, end, step, &opts)
        } else {
            engine.instant_expr(src, &expr, t, &opts)
        };
        (res, began.elapsed())
    };
    let outcome = if inline {
        // Small last time: evaluate here, sparing the hand-off to a worker and back.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            evaluate(&st.engine, &*st.source)
        }))
    } else {
        let src = st.source.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        st.engine.spawn(
            move |engine| evaluate(engine, &*src),
            move |res| {
                // The receiver is gone only if the client went away; nothing to do then.
                let _ = tx.send(res);
            },
        );
        rx.await
            .map_err(|_| ApiError::internal("query worker stopped before answering"))?
    };
    let (res, took) = outcome.map_err(|_| {
        ApiError::internal("query evaluation failed unexpectedly (panic); see the server log")
    })?;
    st.cheap.record(shape, took);
    crate::metrics::observe_query(
        if is_range { "range" } else { "instant" },
        began.elapsed().as_secs_f64(),
    );
    let mut res: QueryResult = res?;
    if let Some(limit) = limit {
        truncate(&mut res, limit);
    }
    Ok(success_raw(
        &encode_value(&res.value),
        &res.warnings,
        &res.infos,
    ))
}

/// The `limit` parameter: at most `limit` series, with a warning when some were cut.
fn truncate(res: &mut QueryResult, limit: usize) {
    let cut = match &mut res.value {
        Value::Vector(v) if v.len() > limit => {
            v.truncate(limit);
            true
        }
        Value::Matrix(m) if m.len() > limit => {
            m.truncate(limit);
            true
        }
        _ => false,
    };
    if cut {
        res.warnings.push("results truncated due to limit".into());
    }
}
