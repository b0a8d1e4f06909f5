//! The PostgreSQL backend against the whole conformance suite, each test in a fresh schema,
//! on `DATABASE_URL` or else a PostgreSQL container of its own (see `support`).

mod support;

use auth0_store_conformance::{ServerSideFixture, TEST_SECRET, conformance_tests};

/// A fixture on a fresh, migrated schema, or `None` (after a loud message; a panic under CI)
/// without a database. A container started for the test lives as long as the fixture.
async fn fixture() -> Option<ServerSideFixture> {
    let database = support::database().await?;
    let backend = support::backend_on(&database, 5).await;
    let secrets = auth0_store_core::Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    let transactions = backend.transaction_store(&secrets);
    Some(ServerSideFixture::real_time(backend, transactions).keep_alive(database))
}

conformance_tests!(optional: fixture());
