//! A protected page through the integration vs the same page without it, in requests per
//! second measured by `wrk` on loopback (the target: the layer keeps at least 80 %
//! of the bare requests per second).
//!
//! One process serves three apps on their own ports, all rendering the same profile page:
//!
//! - `bare`: the page with the user taken from a constant — no layer, no cookies read;
//! - `layer_cookie`: `Auth0::layer()` + `require_auth()` + the `User` extractor, the session
//!   (the realistic 4 KB one of `auth0_store_conformance::sample`) in the cookie store, so
//!   each request opens two sealed cookie chunks;
//! - `layer_memory`: the same with the memory backend behind `ServerSideStateStore`, so each
//!   request opens one sealed record found by its session-id cookie.
//!
//! Two measurements, in one run:
//!
//! 1. criterion, in process (group `axum_profile_page`): one request through each app's
//!    `tower` service, no sockets — what the layer adds to a request in CPU time;
//! 2. `wrk` over loopback against each app in turn, several rounds interleaved so that a noisy
//!    neighbour hurts all three alike; the best round of each counts. These results go to
//!    stdout and to `target/bench/results/axum_layer_vs_bare.json` for
//!    `scripts/bench_report.py`.
//!
//! ```text
//! cargo bench -p auth0-axum --bench layer            # needs `wrk` on PATH
//! AUTH0_BENCH_SECONDS=2 AUTH0_BENCH_ROUNDS=1 cargo bench -p auth0-axum --bench layer
//! ```

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use auth0_axum::{Auth0, User};
use auth0_server_core::Secrets;
use auth0_server_core::client::ServerClient;
use auth0_server_core::model::UserClaims;
use auth0_server_core::store::{ServerSideStateStore, StateStore, StoreContext};
use auth0_store_conformance::sample::realistic_session;
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
use auth0_store_memory::MemoryBackend;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::response::Html;
use axum::routing::get;
use criterion::Criterion;
use serde_json::json;
use tower::ServiceExt as _;

const SECRET: &str = "bench-secret-that-is-at-least-32-chars-long";
/// The cookie name the client reads its session from (the SDK's default).
const SESSION_COOKIE: &str = auth0_server_core::client::DEFAULT_STATE_IDENTIFIER;
/// wrk's connections: enough to keep the server busy, few enough for a 2-core machine.
const CONNECTIONS: u32 = 32;

/// The page every app renders: what a profile page of the quickstart shows.
fn profile_page(user: &UserClaims) -> Html<String> {
    Html(format!(
        "<!doctype html><title>Profile</title><h1>{}</h1><p>{}</p><img src=\"{}\">",
        user.name.as_deref().unwrap_or_default(),
        user.email.as_deref().unwrap_or_default(),
        user.picture.as_deref().unwrap_or_default(),
    ))
}

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

/// The protected app and the `Cookie` header of a logged-in browser.
async fn protected(state_store: Arc<dyn StateStore>) -> (Router, String) {
    let cx = StoreContext::new();
    state_store
        .set(SESSION_COOKIE, &realistic_session(), true, &cx)
        .await
        .expect("the session is stored");
    let cookie = cx
        .cookies()
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let auth0 = Auth0::new(client(state_store));
    let app = Router::new()
        .route(
            "/profile",
            get(|User(user): User| async move { profile_page(&user) })
                .route_layer(auth0.require_auth()),
        )
        .layer(auth0.layer());
    (app, cookie)
}

fn bare() -> Router {
    let user = realistic_session().user.expect("the sample has a user");
    Router::new().route(
        "/profile",
        get(move || {
            let user = user.clone();
            async move { profile_page(&user) }
        }),
    )
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the server runs") });
    addr
}

/// Checks that a request with `cookie` gets the page (not a redirect to the login).
async fn check(addr: SocketAddr, cookie: &str) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the app accepts");
    let request = format!(
        "GET /profile HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .expect("the request is sent");
    let mut answer = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
        .await
        .expect("the answer is read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("Ada Lovelace"),
        "the app at {addr} must show the profile page to the logged-in browser, got:\n{answer}"
    );
}

/// Requests per second `wrk` reaches against `addr` in `seconds`.
fn wrk(addr: SocketAddr, cookie: &str, seconds: u32) -> f64 {
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "-H",
            &format!("Cookie: {cookie}"),
            &format!("http://{addr}/profile"),
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("wrk could not run ({e}): install it (Debian: apt-get install wrk)")
        });
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed:\n{text}");
    assert!(
        !text.contains("Non-2xx"),
        "some requests did not get the page:\n{text}"
    );
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"))
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: then only check
    // that the apps serve the page, without a load generator.
    let measure = std::env::args().any(|a| a == "--bench");
    let seconds = env_number("AUTH0_BENCH_SECONDS", 5);
    let rounds = env_number("AUTH0_BENCH_ROUNDS", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let secrets = Secrets::parse(SECRET).expect("a valid secret");
    let apps = runtime.block_on(async {
        let (cookie_app, cookie_cookie) =
            protected(Arc::new(CookieStateStore::new(secrets.clone()))).await;
        let (memory_app, memory_cookie) = protected(Arc::new(ServerSideStateStore::new(
            MemoryBackend::new(),
            &secrets,
        )))
        .await;
        let routers = vec![
            ("bare", bare(), String::new()),
            ("layer_cookie", cookie_app, cookie_cookie),
            ("layer_memory", memory_app, memory_cookie),
        ];
        let mut apps = Vec::new();
        for (name, router, cookie) in &routers {
            let addr = serve(router.clone()).await;
            check(addr, cookie).await;
            apps.push((*name, addr, cookie.clone()));
        }
        (routers, apps)
    });
    let (routers, apps) = apps;
    if !measure {
        println!("the three apps serve the page; run with `cargo bench` to measure");
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("axum_profile_page");
    let biggest_cookie = routers[1].2.clone();
    for (name, router, cookie) in &routers {
        // The bare app gets the cookie-session's header too (and ignores it).
        let cookie = if cookie.is_empty() {
            &biggest_cookie
        } else {
            cookie
        };
        group.bench_function(*name, |b| {
            b.iter(|| {
                let request = Request::get("/profile")
                    .header("cookie", cookie.as_str())
                    .body(Body::empty())
                    .expect("a request");
                let response = runtime
                    .block_on(router.clone().oneshot(request))
                    .expect("infallible");
                assert_eq!(response.status(), 200);
                response
            })
        });
    }
    group.finish();
    // Each layered app against the bare one receiving the very same Cookie header, so that
    // the requests are byte for byte the same and only the layer differs.
    let bare_addr = apps[0].1;
    let pairs: Vec<(&str, SocketAddr, &str)> = apps[1..]
        .iter()
        .map(|(name, addr, cookie)| (*name, *addr, cookie.as_str()))
        .collect();
    let mut best = vec![(0.0_f64, 0.0_f64); pairs.len()];
    if rounds > 0 {
        for (_, addr, cookie) in &pairs {
            wrk(bare_addr, cookie, 1); // warm-up
            wrk(*addr, cookie, 1);
        }
    }
    for round in 1..=rounds {
        for (i, (name, addr, cookie)) in pairs.iter().enumerate() {
            let bare_rps = wrk(bare_addr, cookie, seconds);
            let layer_rps = wrk(*addr, cookie, seconds);
            println!(
                "round {round}: {name:<13} {layer_rps:>8.0} requests/s, bare {bare_rps:>8.0} requests/s"
            );
            best[i] = (best[i].0.max(bare_rps), best[i].1.max(layer_rps));
        }
    }
    if rounds == 0 {
        criterion.final_summary();
        return;
    }
    let rows: Vec<_> = pairs
        .iter()
        .zip(&best)
        .map(|((name, _, cookie), (bare_rps, layer_rps))| {
            println!(
                "{name:<13} {layer_rps:>8.0} requests/s = {:>5.1} % of bare ({bare_rps:.0} requests/s)",
                100.0 * layer_rps / bare_rps
            );
            json!({
                "app": name,
                "cookie_header_bytes": cookie.len(),
                "bare_requests_per_sec": bare_rps,
                "requests_per_sec": layer_rps,
                "share_of_bare": layer_rps / bare_rps,
            })
        })
        .collect();
    let report = json!({
        "comparison": "axum_layer_vs_bare",
        "load_generator": format!(
            "wrk -t1 -c{CONNECTIONS} -d{seconds}s, best of {rounds} interleaved rounds, the same \
             Cookie header sent to the bare app"
        ),
        "session_json_bytes": serde_json::to_vec(&realistic_session()).map(|v| v.len()).unwrap_or_default(),
        "rows": rows,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/results");
    std::fs::create_dir_all(&dir).expect("the results directory");
    std::fs::write(
        dir.join("axum_layer_vs_bare.json"),
        serde_json::to_string_pretty(&report).expect("JSON"),
    )
    .expect("the results are written");
    criterion.final_summary();
}
