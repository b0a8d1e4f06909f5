//! What a hostile Cookie header costs: a protected page requested by a logged-in
//! browser with a normal Cookie header (a few cookies of other pages and the session) beside
//! the same request whose Cookie header also carries 400 KB of distinct short names
//! (`c0=v; c1=v; …`, about 50,000 cookies). Target: the hostile request costs under 10× the
//! normal one.
//!
//! Measured in one run, for the memory store (one session-id cookie) and the cookie store
//! (the session in two sealed chunks), with criterion (group `axum_cookie_header`):
//!
//! - `in_process/…`: one request through the app's `tower` service, no sockets: the layer's
//!   own work (reading the header, materialising the SDK's cookies), the store and the page;
//! - `loopback/…`: one request over a kept-alive loopback TCP connection to the app served by
//!   `axum::serve`: what a client sees, hyper's own reading of the request head included in
//!   both the normal and the hostile request;
//! - `baseline/split_400kb`: only splitting the hostile header's bytes on `;` and counting
//!   the pieces: what any reader that looks at every cookie does before parsing one.
//!
//! A second hostile header, `*_owned_names_400kb`, is made of names that look like the SDK's
//! own login cookies (`__Host-_a0_tx_x0=v; …`): the worst case for a reader that materialises
//! only the SDK's cookies, as every pair is a candidate.
//!
//! The ratios go to stdout and to `target/bench/results/hostile_cookie_header.json` for
//! `scripts/bench_report.py`.
//!
//! ```text
//! cargo bench -p auth0-axum --bench cookie_header
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use auth0_axum::{Auth0, User};
use auth0_server_core::Secrets;
use auth0_server_core::client::ServerClient;
use auth0_server_core::store::{ServerSideStateStore, StateStore, StoreContext};
use auth0_store_conformance::sample::realistic_session;
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
use auth0_store_memory::MemoryBackend;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header::COOKIE};
use axum::routing::get;
use criterion::Criterion;
use serde_json::json;
use tower::ServiceExt as _;

const SECRET: &str = "bench-secret-that-is-at-least-32-chars-long";
/// The cookie name the client reads its session from (the SDK's default).
const SESSION_COOKIE: &str = auth0_server_core::client::DEFAULT_STATE_IDENTIFIER;
/// The hostile Cookie header's size: under hyper's default limit for a request head
/// (~408 KB), so that it reaches the app.
const HOSTILE_BYTES: usize = 400 * 1024;
/// Cookies of other pages of the site, in every request.
const OTHER_COOKIES: &str = "_ga=GA1.2.1234567890.1700000000; theme=dark; lang=en-GB";

fn client(state_store: Arc<dyn StateStore>) -> ServerClient {
    ServerClient::builder()
        .domain("tenant.example.com")
        .client_id("bench-client")
        .client_secret("bench-client-secret")
        .secret(SECRET)
        .redirect_uri("https://app.example.com/callback")
        .state_store(state_store)
        .transaction_store(Arc::new(CookieTransactionStore::new(
            Secrets::parse(SECRET).expect("a valid secret"),
        )))
        .build()
        .expect("a valid client configuration")
}

/// The protected app and the normal Cookie header of a logged-in browser.
async fn protected(state_store: Arc<dyn StateStore>) -> (Router, String) {
    let cx = StoreContext::new();
    state_store
        .set(SESSION_COOKIE, &realistic_session(), true, &cx)
        .await
        .expect("the session is stored");
    let mut cookie = OTHER_COOKIES.to_owned();
    for (name, value) in cx.cookies() {
        cookie.push_str(&format!("; {name}={value}"));
    }
    let auth0 = Auth0::new(client(state_store));
    let app = Router::new()
        .route(
            "/profile",
            get(|User(user): User| async move { format!("<h1>{}</h1>", user.sub) })
                .route_layer(auth0.require_auth()),
        )
        .layer(auth0.layer());
    (app, cookie)
}

/// `normal` followed by distinct short names `{prefix}0`, `{prefix}1`, … up to
/// [`HOSTILE_BYTES`].
fn hostile(normal: &str, prefix: &str) -> String {
    let mut header = normal.to_owned();
    let mut i = 0_u32;
    while header.len() < HOSTILE_BYTES {
        header.push_str(&format!("; {prefix}{i}=v"));
        i += 1;
    }
    header
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the server runs") });
    addr
}

/// One request through the service; checks the page was served to the logged-in user.
async fn in_process(app: &Router, cookie: &HeaderValue) {
    let request = Request::get("/profile")
        .header(COOKIE, cookie.clone())
        .body(Body::empty())
        .expect("a request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(
        response.status(),
        200,
        "the logged-in browser gets the page"
    );
}

/// One request over loopback; checks the page was served to the logged-in user.
async fn over_loopback(http: &reqwest::Client, url: &str, cookie: &HeaderValue) {
    let response = http
        .get(url)
        .header(COOKIE, cookie.clone())
        .send()
        .await
        .expect("the app answers");
    assert_eq!(
        response.status(),
        200,
        "the logged-in browser gets the page"
    );
    response.bytes().await.expect("the page is read");
}

/// The median of a criterion benchmark of this group, in nanoseconds, found by its id in
/// criterion's `benchmark.json` files (as `scripts/bench_report.py` does).
fn median_ns(id: &str) -> Option<f64> {
    let group = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/criterion/axum_cookie_header");
    let read = |path: std::path::PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let full_id = format!("axum_cookie_header/{id}");
    std::fs::read_dir(group).ok()?.flatten().find_map(|entry| {
        let new = entry.path().join("new");
        let benchmark = read(new.join("benchmark.json"))?;
        (benchmark["full_id"].as_str() == Some(full_id.as_str()))
            .then(|| read(new.join("estimates.json")))??["median"]["point_estimate"]
            .as_f64()
    })
}

struct App {
    name: &'static str,
    router: Router,
    url: String,
    normal: HeaderValue,
    hostile: HeaderValue,
    owned_names: HeaderValue,
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: then only check
    // that both requests get the page.
    let measure = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let secrets = Secrets::parse(SECRET).expect("a valid secret");
    // This client is built before the SDK's: install the same TLS provider first.
    auth0_server_core::tls::ensure_crypto_provider();
    let http = reqwest::Client::new();
    let apps: Vec<App> = runtime.block_on(async {
        let stores: [(&str, Arc<dyn StateStore>); 2] = [
            (
                "memory",
                Arc::new(ServerSideStateStore::new(MemoryBackend::new(), &secrets)),
            ),
            ("cookie", Arc::new(CookieStateStore::new(secrets.clone()))),
        ];
        let mut apps = Vec::new();
        for (name, store) in stores {
            let (router, normal) = protected(store).await;
            let addr = serve(router.clone()).await;
            let app = App {
                name,
                url: format!("http://{addr}/profile"),
                hostile: HeaderValue::from_str(&hostile(&normal, "c")).expect("a header"),
                owned_names: HeaderValue::from_str(&hostile(&normal, "__Host-_a0_tx_x"))
                    .expect("a header"),
                normal: HeaderValue::from_str(&normal).expect("a header"),
                router,
            };
            for cookie in [&app.normal, &app.hostile, &app.owned_names] {
                in_process(&app.router, cookie).await;
                over_loopback(&http, &app.url, cookie).await;
            }
            apps.push(app);
        }
        apps
    });
    if !measure {
        println!(
            "every request gets the page, in process and over loopback; run with `cargo bench` to measure"
        );
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("axum_cookie_header");
    let floor = apps[0].hostile.as_bytes().to_vec();
    group.bench_function("baseline/split_400kb", |b| {
        b.iter(|| {
            std::hint::black_box(&floor)
                .split(|b| *b == b';')
                .filter(|piece| !piece.is_empty())
                .count()
        })
    });
    for app in &apps {
        for (kind, cookie) in [
            ("normal", &app.normal),
            ("hostile_400kb", &app.hostile),
            ("hostile_owned_names_400kb", &app.owned_names),
        ] {
            group.bench_function(format!("in_process/{}_{kind}", app.name), |b| {
                b.iter(|| runtime.block_on(in_process(&app.router, cookie)))
            });
            group.bench_function(format!("loopback/{}_{kind}", app.name), |b| {
                b.iter(|| runtime.block_on(over_loopback(&http, &app.url, cookie)))
            });
        }
    }
    group.finish();
    criterion.final_summary();

    let mut rows = Vec::new();
    for app in &apps {
        for way in ["in_process", "loopback"] {
            let normal = median_ns(&format!("{way}/{}_normal", app.name));
            let hostile = median_ns(&format!("{way}/{}_hostile_400kb", app.name));
            let owned = median_ns(&format!("{way}/{}_hostile_owned_names_400kb", app.name));
            let (Some(normal), Some(hostile), Some(owned)) = (normal, hostile, owned) else {
                println!("{way}/{}: no criterion result to compare", app.name);
                continue;
            };
            println!(
                "{way:<10} {:<6} normal {:>8.1} µs, 400 KB of distinct names {:>8.1} µs ({:.1}×), \
                 of SDK-like names {:>8.1} µs ({:.1}×)",
                app.name,
                normal / 1000.0,
                hostile / 1000.0,
                hostile / normal,
                owned / 1000.0,
                owned / normal,
            );
            rows.push(json!({
                "store": app.name,
                "way": way,
                "normal_ns": normal,
                "hostile_ns": hostile,
                "ratio": hostile / normal,
                "owned_names_ns": owned,
                "owned_names_ratio": owned / normal,
                "normal_header_bytes": app.normal.len(),
                "hostile_header_bytes": app.hostile.len(),
            }));
        }
    }
    let report = json!({
        "comparison": "hostile_cookie_header",
        "baseline_split_400kb_ns": median_ns("baseline/split_400kb"),
        "rows": rows,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/results");
    std::fs::create_dir_all(&dir).expect("the results directory");
    std::fs::write(
        dir.join("hostile_cookie_header.json"),
        serde_json::to_string_pretty(&report).expect("JSON"),
    )
    .expect("the results are written");
}
