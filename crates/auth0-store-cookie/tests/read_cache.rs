//! The cookie store's read cache: a browser's unchanged cookies are opened once, and the
//! cache never answers differently from opening them (expiry, tampering, cookie names).

use std::sync::Arc;
use std::time::Duration;

use auth0_store_cookie::CookieStateStore;
use auth0_store_core::Secrets;
use auth0_store_core::clock::{Clock, ManualClock};
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::seal::CookieFormat;
use auth0_store_core::store::{SessionLifetime, StateStore, StoreContext};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const ID: &str = "_a0_session";

fn store(clock: &ManualClock) -> CookieStateStore {
    CookieStateStore::new(Secrets::parse(SECRET).unwrap()).with_clock(Arc::new(clock.clone()))
}

fn session(clock: &ManualClock) -> StateData {
    let mut state = StateData {
        user: Some(UserClaims {
            sub: "auth0|ada".into(),
            name: Some("Ada".into()),
            ..UserClaims::default()
        }),
        ..StateData::default()
    };
    state.internal.created_at = clock.unix_seconds();
    state
}

async fn login(store: &CookieStateStore, clock: &ManualClock) -> Vec<(String, String)> {
    let cx = StoreContext::new();
    store.set(ID, &session(clock), true, &cx).await.unwrap();
    cx.cookies()
}

async fn read(
    store: &CookieStateStore,
    id: &str,
    cookies: &[(String, String)],
) -> Option<StateData> {
    store
        .get(id, &StoreContext::from_cookies(cookies.to_vec()))
        .await
        .unwrap()
}

#[tokio::test]
async fn unchanged_cookies_are_opened_once() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let writer = store(&clock);
    let cookies = login(&writer, &clock).await;
    // The instance that sealed them knows them already.
    assert!(read(&writer, ID, &cookies).await.is_some());
    assert_eq!(writer.read_cache_stats().hits, 1);
    // Another instance (same secret) opens them once, then answers from its cache, alike.
    let other = store(&clock);
    let first = read(&other, ID, &cookies).await.unwrap();
    let second = read(&other, ID, &cookies).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(second.user.unwrap().name.as_deref(), Some("Ada"));
    let stats = other.read_cache_stats();
    assert_eq!((stats.misses, stats.hits, stats.entries), (1, 1, 1));
}

#[tokio::test]
async fn a_cached_session_still_expires() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let store = store(&clock).with_lifetime(SessionLifetime {
        rolling: true,
        inactivity: Duration::from_secs(60),
        absolute: Duration::from_secs(3_600),
    });
    let cookies = login(&store, &clock).await;
    assert!(read(&store, ID, &cookies).await.is_some());
    clock.advance(Duration::from_secs(61));
    assert!(
        read(&store, ID, &cookies).await.is_none(),
        "past its exp, a cached session is no session"
    );
}

#[tokio::test]
async fn a_tampered_cookie_is_not_answered_from_the_cache() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let store = store(&clock);
    let cookies = login(&store, &clock).await;
    assert!(read(&store, ID, &cookies).await.is_some());
    // Flip one character in the middle of the ciphertext; the tag (the token's tail) stays.
    let mut tampered = cookies.clone();
    let value = &mut tampered[0].1;
    let middle = value.len() / 2;
    let flipped = if &value[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    value.replace_range(middle..=middle, flipped);
    assert!(read(&store, ID, &tampered).await.is_none());
    assert!(
        read(&store, ID, &cookies).await.is_some(),
        "the real one still reads"
    );
}

#[tokio::test]
async fn cookies_renamed_to_another_identifier_stay_closed() {
    let clock = ManualClock::at_unix(1_800_000_000);
    for format in [CookieFormat::Rotating, CookieFormat::Python] {
        let store = store(&clock).with_format(format);
        let cookies = login(&store, &clock).await;
        assert!(read(&store, ID, &cookies).await.is_some());
        let renamed: Vec<(String, String)> = cookies
            .iter()
            .map(|(name, value)| (name.replacen(ID, "other", 1), value.clone()))
            .collect();
        assert!(
            read(&store, "other", &renamed).await.is_none(),
            "{format:?}: the token is sealed to {ID}, cached or not"
        );
    }
}

#[tokio::test]
async fn without_the_cache_every_read_opens_the_cookies() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let store = store(&clock).with_read_cache(0);
    let cookies = login(&store, &clock).await;
    for _ in 0..3 {
        assert!(read(&store, ID, &cookies).await.is_some());
    }
    let stats = store.read_cache_stats();
    assert_eq!((stats.hits, stats.entries), (0, 0));
}
