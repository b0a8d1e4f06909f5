//! The Redis backend against the whole conformance suite, each test with its own key prefix,
//! on `REDIS_URL` or else a Redis container of its own (see `support`).

mod support;

use auth0_store_conformance::{ServerSideFixture, TEST_SECRET, conformance_tests};

/// A fixture on real Redis, or `None` (after a loud message; a panic under CI) without one.
/// A container started for the test lives as long as the fixture.
async fn fixture() -> Option<ServerSideFixture> {
    let redis = support::redis().await?;
    let backend = support::backend_on(&redis).await;
    let secrets = auth0_store_core::Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    let transactions = backend.transaction_store(&secrets);
    Some(ServerSideFixture::real_time(backend, transactions).keep_alive(redis))
}

conformance_tests!(optional: fixture());
