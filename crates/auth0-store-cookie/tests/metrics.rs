//! The cookie store records its operations' latency and its read cache's hits and misses
//! under `store="cookie"`, as the server-side stores do.

use auth0_store_cookie::CookieStateStore;
use auth0_store_cookie::CookieTransactionStore;
use auth0_store_core::Secrets;
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::store::{
    READ_CACHE_HITS, READ_CACHE_MISSES, STORE_OPERATION_SECONDS, StateStore, StoreContext,
};
use auth0_test_support::metrics::{assert_round_trip_recorded, count, recorded, store_round_trip};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const ID: &str = "_a0_session";

#[test]
fn cookie_store_operations_record_their_latency_and_cache_lookups() {
    let secrets = Secrets::parse(SECRET).unwrap();
    let writer = CookieStateStore::new(secrets.clone());
    // Another instance: it has to open the cookie once.
    let reader = CookieStateStore::new(secrets);
    let recorded = recorded(|| async move {
        let state = StateData {
            user: Some(UserClaims {
                sub: "auth0|ada".into(),
                ..UserClaims::default()
            }),
            ..StateData::default()
        };
        let cx = StoreContext::new();
        writer.set(ID, &state, true, &cx).await.unwrap();
        for store in [&writer, &reader, &reader] {
            let cx = StoreContext::from_cookies(cx.cookies());
            assert!(store.get(ID, &cx).await.unwrap().is_some());
        }
        let cx = StoreContext::from_cookies(cx.cookies());
        writer.delete(ID, &cx).await.unwrap();
    });
    let op = |operation| {
        count(
            &recorded,
            STORE_OPERATION_SECONDS,
            &[("store", "cookie"), ("operation", operation)],
        )
    };
    assert_eq!((op("set"), op("get"), op("delete")), (1, 3, 1));
    let cookie = [("store", "cookie")];
    let cache = (
        count(&recorded, READ_CACHE_HITS, &cookie),
        count(&recorded, READ_CACHE_MISSES, &cookie),
    );
    assert_eq!(
        cache,
        (2, 1),
        "the writer's read and the reader's second are hits"
    );
}

#[test]
fn cookie_stores_record_a_round_trip_as_the_server_side_ones_do() {
    let secrets = Secrets::parse(SECRET).unwrap();
    let sessions = CookieStateStore::new(secrets.clone());
    let transactions = CookieTransactionStore::new(secrets);
    let recorded = recorded(|| async move { store_round_trip(&sessions, &transactions).await });
    assert_round_trip_recorded(&recorded, "cookie");
}
