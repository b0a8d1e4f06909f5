//! Whole logins per second against the dev tenant: the app's
//! `start_interactive_login`, the browser at the tenant's `/authorize`, the callback's
//! `complete_interactive_login` (code exchange, ID token signed by the tenant and verified by
//! the SDK against the cached JWKS, the session saved in the memory store), all over loopback
//! HTTP in one process.
//!
//! Two kinds of login, group `dev_tenant_login`:
//!
//! - `returning_user`: the browser already has the tenant's session cookie, so `/authorize`
//!   answers with the code at once (single sign-on) — three HTTP round trips per login;
//! - `first_login`: a new browser each time, so the tenant shows its form and the browser
//!   submits it first.
//!
//! Each at 1 and 8 logins in flight; the time reported is the wall time per login (elapsed /
//! logins), so logins per second = 10⁹ / nanoseconds. Both the tenant (which signs with
//! RS256) and the app share this machine's cores, as they would on a developer's laptop.
//!
//! ```text
//! cargo bench -p auth0-dev-tenant --bench logins
//! ```

use auth0_test_support::dev_tenant as support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use support::{Browser, Setup};

/// Logins in flight at once.
const CONCURRENCY: [u64; 2] = [1, 8];

/// Runs `iters` logins, `concurrency` at a time, each in a browser from `browser`.
async fn logins(
    setup: &Arc<Setup>,
    iters: u64,
    concurrency: u64,
    browser: impl Fn() -> Arc<Browser>,
) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        // Spread `iters` over the tasks; the first ones take the remainder.
        let share = iters / concurrency + u64::from(task < iters % concurrency);
        let setup = setup.clone();
        let browser = browser();
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let (done, _, _) = setup.login(&browser).await;
                assert!(!done.user.sub.is_empty(), "a logged-in user");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a login task");
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let setup = Arc::new(runtime.block_on(Setup::start()));
    // The returning user's browser logs in through the form once; afterwards the tenant
    // remembers it.
    let returning = Arc::new(Browser::new(&setup.tenant));
    let (_, _, form_shown) = runtime.block_on(setup.login(&returning));
    assert!(form_shown, "the first login shows the form");
    let (_, _, form_shown) = runtime.block_on(setup.login(&returning));
    assert!(!form_shown, "a returning browser is not asked again");

    let mut group = c.benchmark_group("dev_tenant_login");
    group.sample_size(20);
    for concurrency in CONCURRENCY {
        group.bench_with_input(
            BenchmarkId::new("returning_user", format!("c{concurrency}")),
            &concurrency,
            |b, &concurrency| {
                b.iter_custom(|iters| {
                    runtime.block_on(logins(&setup, iters, concurrency, || returning.clone()))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("first_login", format!("c{concurrency}")),
            &concurrency,
            |b, &concurrency| {
                b.iter_custom(|iters| {
                    runtime.block_on(logins(&setup, iters, concurrency, || {
                        Arc::new(Browser::new(&setup.tenant))
                    }))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
