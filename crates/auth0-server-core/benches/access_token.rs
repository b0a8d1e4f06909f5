//! `ServerClient::get_access_token` when the session already holds a valid access token for
//! the audience (the cache hit: no network), next to the store's `get` of the same session,
//! with the cookie store and with the memory store behind the client.
//!
//! Most API calls an application makes on behalf of a user take this path, so its cost is
//! paid per request; the `store_get` rows show how much of it is reading the session and
//! what `get_access_token` adds on top (choosing the token set, the clone of the token).
//!
//! Why here, in core: `ServerClient` and its token cache live in core, and core already has
//! the cookie and memory stores as dev-dependencies (its integration tests use them; a
//! dev-dependency back onto core is not a cycle for cargo, and the bench links the one core
//! library both stores are built against). The facade would give the same code only behind
//! its `memory` feature, so its bench would need `--features memory` on every run.
//!
//! The client is built offline, as the application builds it: `ServerClient::builder()` with
//! a domain, client id and secret, and the two stores; `build()` contacts nobody (discovery
//! is fetched on first need), and a cache hit never needs it. The domain is under `.invalid`,
//! so if the path ever did reach for the network it would fail, not call a real host, and
//! the set-up check before measuring would stop the bench.
//!
//! The session is `auth0_store_conformance::sample::realistic_session()` (4,206 bytes of
//! JSON, two API token sets); the client's audience is the first of them. All clocks are one
//! `ManualClock` standing a minute after the session's login, so its tokens stay valid
//! whatever the date of the run (the code reads a clock either way).
//!
//! Each iteration is one request: a fresh `StoreContext` from the browser's cookies (the
//! session chunks, or the session-id cookie), then the call, driven by `block_on` on a
//! current-thread tokio runtime. That overhead is in both rows of a store, so it cancels in
//! the difference. The cookie store uses its default layout (rotating); the memory store
//! sits behind `ServerSideStateStore` (session-id cookie, XChaCha20-Poly1305 record).
//! Both stores keep their default read cache, so, as for every request of a returning
//! browser, the session is answered from it rather than opened (the memory store still
//! loads the record to check its version); what opening costs is in `cookie_read` and in
//! the `seal` bench.
//!
//! Group `access_token_hit`, ids `{store}_store_get` and `{store}_get_access_token` for store
//! `cookie` and `memory`; criterion writes each to
//! `target/criterion/access_token_hit/{id}/`.

use std::hint::black_box;
use std::sync::Arc;

use auth0_server_core::Secrets;
use auth0_server_core::client::{AccessTokenOptions, ServerClient};
use auth0_server_core::clock::{Clock, ManualClock};
use auth0_server_core::store::{ServerSideStateStore, StateStore, StoreContext, TransactionStore};
use auth0_store_conformance::sample::realistic_session;
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use criterion::{Criterion, criterion_group, criterion_main};

const SECRET: &str = "bench-secret-that-is-at-least-32-chars-long";
/// The session cookie's name (the client's default state identifier).
const ID: &str = "_a0_session";

/// A client over `store` whose audience is the session's first API, on `clock`.
fn client(
    store: Arc<dyn StateStore>,
    transactions: Arc<dyn TransactionStore>,
    audience: &str,
    clock: Arc<dyn Clock>,
) -> ServerClient {
    ServerClient::builder()
        .domain("bench-tenant.invalid")
        .client_id("bench-client")
        .client_secret("bench-client-secret")
        .secret(SECRET)
        .redirect_uri("http://localhost:5000/callback")
        .audience(audience)
        .clock(clock)
        .state_store(store)
        .transaction_store(transactions)
        .build()
        .expect("the client builds offline")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let state = realistic_session();
    let wanted = state.token_sets[0].clone();
    let clock = ManualClock::at_unix(state.internal.created_at + 60);
    let shared_clock: Arc<dyn Clock> = Arc::new(clock);
    let secrets = Secrets::parse(SECRET).expect("the bench secret is valid");

    let cookie_store: Arc<dyn StateStore> =
        Arc::new(CookieStateStore::new(secrets.clone()).with_clock(shared_clock.clone()));
    let memory_store: Arc<dyn StateStore> = Arc::new(
        ServerSideStateStore::new(
            MemoryBackend::new().with_clock(shared_clock.clone()),
            &secrets,
        )
        .with_clock(shared_clock.clone()),
    );
    let stores = [
        (
            "cookie",
            cookie_store,
            Arc::new(CookieTransactionStore::new(secrets.clone())) as Arc<dyn TransactionStore>,
        ),
        (
            "memory",
            memory_store,
            Arc::new(MemoryTransactionBackend::new().transaction_store()) as _,
        ),
    ];

    let mut group = c.benchmark_group("access_token_hit");
    for (name, store, transactions) in stores {
        // Log in once: the cookies the browser then sends with every request.
        let login = StoreContext::new();
        rt.block_on(store.set(ID, &state, true, &login))
            .expect("the session is saved");
        let cookies: Vec<(String, String)> = login
            .changes()
            .into_iter()
            .filter(|c| !c.is_removal())
            .map(|c| (c.name, c.value))
            .collect();
        let client = client(
            store.clone(),
            transactions,
            &wanted.audience,
            shared_clock.clone(),
        );
        // The path measured is the cache hit: check it once before measuring.
        let cx = StoreContext::from_cookies(cookies.clone());
        let token = rt
            .block_on(client.get_access_token(AccessTokenOptions::default(), &cx))
            .expect("the stored token is returned");
        assert_eq!(token.token, wanted.access_token);
        assert_eq!(
            rt.block_on(store.get(ID, &StoreContext::from_cookies(cookies.clone())))
                .expect("the session reads")
                .as_ref(),
            Some(&state)
        );

        group.bench_function(format!("{name}_store_get"), |b| {
            b.iter(|| {
                let cx = StoreContext::from_cookies(cookies.clone());
                rt.block_on(store.get(ID, black_box(&cx))).unwrap().unwrap()
            })
        });
        group.bench_function(format!("{name}_get_access_token"), |b| {
            b.iter(|| {
                let cx = StoreContext::from_cookies(cookies.clone());
                rt.block_on(client.get_access_token(AccessTokenOptions::default(), black_box(&cx)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
