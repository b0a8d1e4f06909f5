//! Writing a realistic session with the cookie store: `CookieStateStore::set` in both
//! layouts, the counterpart of `cookie_read`.
//!
//! Every login and every token refresh writes the whole session back into the cookies, so
//! this is what such a response pays: the session's expiry, serialising the `StateData`,
//! sealing it (a fresh IV each time), splitting the token into chunks, building the
//! `Set-Cookie` changes, and (the store's default) keeping the written session in its read
//! cache so the browser's next request is not opened again. Every write makes a new token,
//! so in this loop that bounded cache is full and each insert also evicts, as on a busy
//! server.
//!
//! Each iteration writes into a fresh `StoreContext` with no cookies (a browser without a
//! session, as at login; with `rotate = false`, which the cookie store ignores), driven by
//! `block_on` on a current-thread tokio runtime, as `cookie_read` does. The store's key is
//! derived by a first write before measuring, as the application derives it once. The
//! session is `auth0_store_conformance::sample::realistic_session()`; the throughput is its
//! JSON length (4,206 bytes).
//!
//! Group `cookie_write`, ids `python_layout` and `rotating_layout`; criterion writes each to
//! `target/criterion/cookie_write/{id}/`.

use std::hint::black_box;
use std::sync::Arc;

use auth0_store_conformance::sample::realistic_session;
use auth0_store_cookie::CookieStateStore;
use auth0_store_core::Secrets;
use auth0_store_core::clock::SystemClock;
use auth0_store_core::seal::CookieFormat;
use auth0_store_core::store::{StateStore, StoreContext};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SECRET: &str = "bench-secret-that-is-at-least-32-chars-long";
const ID: &str = "_a0_session";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let state = realistic_session();
    let json_len = serde_json::to_vec(&state)
        .expect("the session serialises")
        .len();
    let secrets = Secrets::parse(SECRET).expect("the bench secret is valid");
    let mut group = c.benchmark_group("cookie_write");
    group.throughput(Throughput::Bytes(json_len as u64));
    for (name, format) in [
        ("python_layout", CookieFormat::Python),
        ("rotating_layout", CookieFormat::Rotating),
    ] {
        let store = CookieStateStore::new(secrets.clone())
            .with_format(format)
            .with_clock(Arc::new(SystemClock));
        // Derives the key, and checks the write round-trips, before measuring.
        let cx = StoreContext::new();
        rt.block_on(store.set(ID, &state, false, &cx))
            .expect("the session fits");
        let written = StoreContext::from_cookies(cx.cookies());
        let read = rt
            .block_on(store.get(ID, &written))
            .expect("the session reads");
        assert_eq!(read.as_ref(), Some(&state));

        group.bench_function(name, |b| {
            b.iter(|| {
                let cx = StoreContext::new();
                rt.block_on(store.set(ID, black_box(&state), false, &cx))
                    .unwrap();
                cx
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
