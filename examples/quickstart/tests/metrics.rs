//! `/metrics`: with `AUTH0_METRICS=true` the quickstart serves the SDK's metrics as
//! Prometheus text, and a login through it moves the login counters and the store's latency
//! histogram; without it there is no such page. The quickstart runs as its own process
//! here (`env_clear`: only the variables below), so the recorder it installs is its own.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use prometheus_parse::{Scrape, Value};
use support::{Browser, finish_login};

/// How long the quickstart may take to answer its home page.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The quickstart process, stopped when dropped.
struct Quickstart {
    child: Child,
    base: String,
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the quickstart (its own dev tenant, the memory store) on a free port with
/// `AUTH0_METRICS` set to `metrics`, and waits until it answers.
async fn quickstart(metrics: Option<&str>) -> Quickstart {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!("quickstart-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickstart"));
    command
        .current_dir(&dir) // no .env of the developer's
        .env_clear()
        .env("PORT", port.to_string())
        .env("AUTH0_REDIRECT_URI", format!("{base}/callback"))
        .env("AUTH0_SESSION_STORE", "memory")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(value) = metrics {
        command.env("AUTH0_METRICS", value);
    }
    let app = Quickstart {
        child: command.spawn().unwrap(),
        base,
    };
    let started = std::time::Instant::now();
    while get(format!("{}/", app.base)).await.is_err() {
        assert!(
            started.elapsed() < START_TIMEOUT,
            "the quickstart did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app
}

/// A plain GET of `url` (the test browser's client: rustls with its provider set up).
async fn get(url: String) -> reqwest::Result<reqwest::Response> {
    Browser::new().http.get(url).send().await
}

/// `/metrics`, parsed as Prometheus text.
async fn scrape(base: &str) -> Scrape {
    let response = get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let body = response.text().await.unwrap();
    // Nothing of a user: no e-mail, no user id, no session.
    for personal in ["ada@example.com", "auth0|", "email|", "_a0_session"] {
        assert!(!body.contains(personal), "{personal} at /metrics: {body}");
    }
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of counter `name` in the series whose labels include all of `labels` (0 when
/// there is none yet).
fn counter(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            Value::Counter(n) | Value::Untyped(n) => n,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn a_login_moves_the_counters_at_metrics() {
    let app = quickstart(Some("true")).await;
    let before = scrape(&app.base).await;
    assert_eq!(counter(&before, "auth0_logins_completed_total", &[]), 0.0);

    let mut browser = Browser::new();
    let start = format!("{}/profile", app.base);
    let response = browser.get(&start).await;
    let (url, profile) = finish_login(&mut browser, start, response).await;
    assert!(url.ends_with("/profile"), "{url}");
    assert!(profile.contains("ada@example.com"), "{profile}");

    let after = scrape(&app.base).await;
    let interactive = [("flow", "interactive")];
    assert_eq!(
        counter(&after, "auth0_logins_started_total", &interactive),
        1.0
    );
    assert_eq!(
        counter(&after, "auth0_logins_completed_total", &interactive),
        1.0
    );
    assert!(
        after.docs.contains_key("auth0_logins_completed_total"),
        "the SDK's metrics are described (# HELP)"
    );
    // The profile page read the session from the memory store: its latency histogram.
    let store_gets = after.samples.iter().find(|s| {
        s.metric == "auth0_store_operation_duration_seconds"
            && s.labels.get("store") == Some("memory")
            && s.labels.get("operation") == Some("get")
    });
    match store_gets.map(|s| &s.value) {
        Some(Value::Histogram(buckets)) => {
            let all = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
            assert!(all >= 1.0, "{buckets:?}");
        }
        other => panic!("no memory get latency histogram: {other:?}"),
    }
}

#[tokio::test]
async fn without_auth0_metrics_there_is_no_metrics_page() {
    for value in [None, Some("false")] {
        let app = quickstart(value).await;
        let response = get(format!("{}/metrics", app.base)).await.unwrap();
        assert_eq!(response.status(), 404, "AUTH0_METRICS={value:?}");
    }
}
