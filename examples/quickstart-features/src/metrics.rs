//! `GET /metrics`: the SDK's metrics (logins, refreshes, logouts, store latency, read-cache
//! hits) in Prometheus' text format, when `AUTH0_METRICS=true`; otherwise there is no such
//! route (404). The SDK records through the `metrics` facade; this page installs the
//! Prometheus recorder and renders it on request (no listener of its own). Keep `/metrics`
//! off the public internet: serve it on an internal port, or behind the proxy's allow-list.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::App;

/// The variable that turns `/metrics` on.
pub(crate) const METRICS_VAR: &str = "AUTH0_METRICS";
/// Latency buckets of the store histogram, in seconds: 100 µs (a cached read) to 2.5 s.
const STORE_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 2.5,
];
/// How often the recorder folds recorded histogram samples in, so they never pile up
/// between two scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// Prometheus' text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The process's recorder: one per process, installed by the first app that asks.
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// `/metrics` when `AUTH0_METRICS` is `true`; no route otherwise.
pub(crate) fn routes() -> Router<Arc<App>> {
    let enabled = std::env::var(METRICS_VAR).is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let handle = enabled.then(|| RECORDER.get_or_init(install).clone());
    match handle.flatten() {
        Some(handle) => Router::new().route("/metrics", get(move || render(handle.clone()))),
        None => Router::new(),
    }
}

/// Installs the Prometheus recorder and describes the SDK's metrics to it; `None` (logged)
/// when the process has another recorder already.
fn install() -> Option<PrometheusHandle> {
    let store = auth0_server::store::STORE_OPERATION_SECONDS;
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(store.to_owned()), &STORE_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .inspect_err(|e| tracing::warn!(error = %e, "{METRICS_VAR}: no /metrics"))
        .ok()?;
    auth0_server::client::meters::describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP_EVERY).await;
            upkeep.run_upkeep();
        }
    });
    Some(handle)
}

async fn render(handle: PrometheusHandle) -> impl IntoResponse {
    ([(CONTENT_TYPE, TEXT_FORMAT)], handle.render())
}
