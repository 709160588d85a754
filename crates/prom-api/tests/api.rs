//! The Prometheus API over an in-memory source, through the real router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use pharos_config::Config;
use pharos_model::{Labels, MemSource};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

fn source() -> Arc<MemSource> {
    let src = MemSource::new();
    for (job, inst, mul) in [("api", "a", 1.0), ("api", "b", 2.0), ("web", "c", 3.0)] {
        let l = Labels::from_pairs([
            ("__name__", "http_requests_total"),
            ("job", job),
            ("instance", inst),
        ]);
        for i in 0..=20 {
            src.add(&l, i * 15_000, i as f64 * mul);
        }
    }
    let dotted = Labels::from_pairs([("__name__", "otel_metric"), ("http.status_code", "200")]);
    src.add(&dotted, 0, 1.0);
    Arc::new(src)
}

async fn call(req: Request<Body>) -> (StatusCode, Value) {
    let router = pharos_prom_api::read_router(source(), &Config::default());
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    (status, v)
}

async fn get(uri: &str) -> (StatusCode, Value) {
    call(Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(uri: &str, form: &str) -> (StatusCode, Value) {
    call(
        Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn grafana_health_check_get_and_post() {
    let want = json!({"status":"success","data":{"resultType":"scalar","result":[4,"2"]}});
    assert_eq!(
        get("/api/v1/query?query=1%2B1&time=4").await,
        (StatusCode::OK, want.clone())
    );
    assert_eq!(
        post("/api/v1/query", "query=1%2B1&time=4&timeout=2m").await,
        (StatusCode::OK, want)
    );
}

#[tokio::test]
async fn instant_vector_and_range_matrix() {
    let (s, v) = get("/api/v1/query?query=sum%20by%20(job)(http_requests_total)&time=300").await;
    assert_eq!(s, StatusCode::OK);
    let mut r = v["data"]["result"].as_array().unwrap().clone();
    r.sort_by_key(|x| x["metric"]["job"].as_str().unwrap().to_string());
    assert_eq!(
        r,
        vec![
            json!({"metric":{"job":"api"},"value":[300,"60"]}),
            json!({"metric":{"job":"web"},"value":[300,"60"]})
        ]
    );

    let (s, v) = post(
        "/api/v1/query_range",
        "query=rate(http_requests_total%7Bjob%3D%22web%22%7D%5B1m%5D)&start=60&end=120&step=30&timeout=2m",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["resultType"], "matrix");
    assert_eq!(
        v["data"]["result"],
        json!([{"metric":{"instance":"c","job":"web"},"values":[[60,"0.2"],[90,"0.2"],[120,"0.2"]]}])
    );
}

#[tokio::test]
async fn errors_have_prometheus_shapes() {
    let (s, v) = get("/api/v1/query?query=sum(").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "bad_data");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid parameter \"query\""));

    let (s, v) = get("/api/v1/query?query=up&time=yesterday").await;
    assert_eq!(
        (s, v["errorType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_data"))
    );

    let (s, v) = get("/api/v1/query_range?query=up&start=10&end=5&step=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "end timestamp must not be before start time");

    let (s, v) = get("/api/v1/query_range?query=up&start=0&end=100000&step=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"]
        .as_str()
        .unwrap()
        .starts_with("exceeded maximum resolution of 11,000 points"));

    // Two series end up with one label set: an execution error, 422.
    let (s, v) = get("/api/v1/query?query=label_replace(http_requests_total,%22instance%22,%22x%22,%22%22,%22%22)&time=300").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errorType"], "execution");

    let (s, v) = get("/api/v1/series").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "no match[] parameter provided");

    // A request's timeout counts from its arrival: one microsecond is over before evaluation.
    let (s, v) =
        get("/api/v1/query?query=sum(http_requests_total)&time=300&timeout=0.000001").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["errorType"], "timeout");
    assert_eq!(v["error"], "query timed out in expression evaluation");
}

#[tokio::test]
async fn labels_values_and_series() {
    let (_, v) = get("/api/v1/labels").await;
    assert_eq!(
        v["data"],
        json!(["__name__", "http.status_code", "instance", "job"])
    );
    let (_, v) = post(
        "/api/v1/labels",
        "match[]=http_requests_total%7Bjob%3D%22web%22%7D",
    )
    .await;
    assert_eq!(v["data"], json!(["__name__", "instance", "job"]));
    let (_, v) = get("/api/v1/label/job/values?match[]=http_requests_total&start=0&end=400").await;
    assert_eq!(v["data"], json!(["api", "web"]));
    let (_, v) = get("/api/v1/label/U__http_2e_status__code/values").await;
    assert_eq!(v["data"], json!(["200"]));
    let (_, v) = get("/api/v1/label/nothing/values").await;
    assert_eq!(v["data"], json!([]));
    let (_, v) = get("/api/v1/label/__name__/values?limit=1").await;
    assert_eq!(v["data"], json!(["http_requests_total"]));
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
    let (_, v) = get("/api/v1/series?match[]=%7Bjob%3D%22web%22%7D&match[]=otel_metric").await;
    assert_eq!(
        v["data"],
        json!([{"__name__":"http_requests_total","instance":"c","job":"web"},{"__name__":"otel_metric","http.status_code":"200"}])
    );
}

#[tokio::test]
async fn grafana_probes() {
    // Exemplar probe with millisecond timestamps.
    let (s, v) =
        get("/api/v1/query_exemplars?query=test&start=1700000000000&end=1700000600000").await;
    assert_eq!(
        (s, v),
        (StatusCode::OK, json!({"status":"success","data":[]}))
    );
    let (_, v) = get("/api/v1/status/buildinfo").await;
    assert!(v["data"].get("features").is_none());
    assert!(v["data"]["version"].as_str().unwrap().starts_with("2."));
    let (_, v) = get("/api/v1/rules").await;
    assert_eq!(v, json!({"status":"success","data":{"groups":[]}}));
    let (_, v) = get("/api/v1/metadata").await;
    assert_eq!(v, json!({"status":"success","data":{}}));
}

#[tokio::test]
async fn status_and_formatting() {
    let (_, v) = get("/api/v1/status/tsdb?limit=1").await;
    assert_eq!(v["data"]["headStats"]["numSeries"], 4);
    assert_eq!(
        v["data"]["seriesCountByMetricName"],
        json!([{"name":"http_requests_total","value":3}])
    );
    assert_eq!(
        v["data"]["seriesCountByLabelValuePair"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, v) = get("/api/v1/format_query?query=sum(rate(x%5B5m%5D))by(job)").await;
    assert_eq!(v["data"], "sum by (job) (rate(x[5m]))");
    let (s, v) = get("/api/v1/parse_query?query=up").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["type"], "vectorSelector");
    let (_, v) = get("/api/v1/status/flags").await;
    assert_eq!(v["data"]["query.lookback-delta"], "5m");
    let (_, v) = get("/api/v1/query?query=http_requests_total&time=300&limit=2").await;
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 2);
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
}

/// A repeated query is answered the same way when it runs on the request's thread (a
/// small one, after its first run) as on the query workers; so is one too deeply nested
/// to leave the workers.
#[tokio::test]
async fn repeated_small_queries_answer_the_same_on_the_request_thread() {
    let router = pharos_prom_api::read_router(source(), &Config::default());
    let deep = format!("{}http_requests_total{}", "(".repeat(40), ")".repeat(40));
    let queries = [
        "/api/v1/query_range?query=sum%20by%20(job)(rate(http_requests_total%5B1m%5D))&start=60&end=300&step=30".to_string(),
        "/api/v1/query?query=http_requests_total%20%2B%20on(instance)%20http_requests_total&time=300".to_string(),
        format!("/api/v1/query?query={}&time=300", deep.replace('(', "%28").replace(')', "%29")),
    ];
    for uri in &queries {
        let mut answers = Vec::new();
        for _ in 0..3 {
            let resp = router
                .clone()
                .oneshot(Request::get(uri.as_str()).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{uri}");
            answers.push(resp.into_body().collect().await.unwrap().to_bytes());
        }
        assert!(answers[0].len() > 60, "{uri}: {:?}", answers[0]);
        assert_eq!(answers[0], answers[1], "{uri}");
        assert_eq!(answers[1], answers[2], "{uri}");
    }
}

/// A query that fails during evaluation fails the same way every time, whether it runs
/// on the query workers (first time) or on the request's thread (it failed fast).
#[tokio::test]
async fn repeated_failing_queries_keep_their_error_on_the_request_thread() {
    let router = pharos_prom_api::read_router(source(), &Config::default());
    // label_replace into an invalid label name: an execution error, not a parse error.
    let uri = "/api/v1/query?query=label_replace(http_requests_total%2C%20%221bad%22%2C%20%22x%22%2C%20%22job%22%2C%20%22.*%22)&time=300";
    let mut answers = Vec::new();
    for _ in 0..3 {
        let resp = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        answers.push((
            resp.status(),
            resp.into_body().collect().await.unwrap().to_bytes(),
        ));
    }
    let (status, body) = &answers[0];
    assert!(status.is_client_error(), "{status}: {body:?}");
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["status"], "error", "{v}");
    assert!(v["error"].as_str().unwrap().contains("1bad"), "{v}");
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);
}
