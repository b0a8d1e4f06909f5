//! The PostgreSQL backend against the whole conformance suite, each test in a fresh schema.

mod support;

use auth0_store_conformance::{ServerSideFixture, TEST_SECRET, conformance_tests};

/// A fixture on a fresh, migrated schema, or `None` (after a loud message; a panic under CI)
/// without a database.
async fn fixture() -> Option<ServerSideFixture> {
    let backend = support::backend().await?;
    let secrets = auth0_server_core::Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    let transactions = backend.transaction_store(&secrets);
    Some(ServerSideFixture::real_time(backend, transactions))
}

conformance_tests!(optional: fixture());
