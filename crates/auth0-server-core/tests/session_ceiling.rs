//! A session past its ceiling (the absolute lifetime after login, or the provider's
//! `session_expiry`) is no session on any read, in every store and both cookie layouts; a
//! login whose session would already be past it fails with `session_expired`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use auth0_server_core::Secrets;
use auth0_server_core::clock::{Clock, ManualClock};
use auth0_server_core::model::{StateData, UserClaims};
use auth0_server_core::seal::CookieFormat;
use auth0_server_core::store::{ServerSideStateStore, SessionLifetime, StateStore, StoreContext};
use auth0_store_cookie::CookieStateStore;
use auth0_store_memory::MemoryBackend;
use serde_json::json;
use support::*;

const DAY: u64 = 24 * 60 * 60;

/// A lifetime far longer than the default's three days, as another instance (or an older
/// configuration, or another SDK) may have written with.
fn long_lifetime() -> SessionLifetime {
    SessionLifetime {
        rolling: false,
        inactivity: Duration::from_secs(30 * DAY),
        absolute: Duration::from_secs(30 * DAY),
    }
}

fn session(created_at: u64) -> StateData {
    let mut state = StateData {
        user: Some(UserClaims {
            sub: "auth0|ceiling".into(),
            ..UserClaims::default()
        }),
        ..StateData::default()
    };
    state.internal.sid = "sid-ceiling".into();
    state.internal.created_at = created_at;
    state
}

fn secrets() -> Secrets {
    Secrets::parse(SECRET).unwrap()
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_is_no_session_in_both_cookie_layouts() {
    for format in [CookieFormat::Python, CookieFormat::Rotating] {
        let clock = Arc::new(ManualClock::starting_now());
        let start = clock.unix_seconds();
        let writer = CookieStateStore::new(secrets())
            .with_format(format)
            .with_clock(clock.clone())
            .with_lifetime(long_lifetime());
        let reader = CookieStateStore::new(secrets())
            .with_format(format)
            .with_clock(clock.clone());
        let cx = StoreContext::new();
        writer
            .set(IDENTIFIER, &session(start), true, &cx)
            .await
            .unwrap();
        let cookies = cx.cookies();

        clock.advance(Duration::from_secs(DAY));
        let live = reader
            .get(IDENTIFIER, &StoreContext::from_cookies(cookies.clone()))
            .await
            .unwrap();
        assert!(live.is_some(), "{format:?}: a day after login it is live");

        // Past the reader's three days: the same cookie, replayed, is no session (also from
        // the read cache, which opened it a moment ago).
        clock.advance(Duration::from_secs(2 * DAY + 1));
        let over = reader
            .get(IDENTIFIER, &StoreContext::from_cookies(cookies))
            .await
            .unwrap();
        assert!(
            over.is_none(),
            "{format:?}: past its absolute lifetime it is no session"
        );
    }
}

#[tokio::test]
async fn a_session_past_the_providers_session_expiry_is_no_session_in_both_cookie_layouts() {
    for format in [CookieFormat::Python, CookieFormat::Rotating] {
        let clock = Arc::new(ManualClock::starting_now());
        let start = clock.unix_seconds();
        let store = CookieStateStore::new(secrets())
            .with_format(format)
            .with_clock(clock.clone());
        let mut state = session(start);
        state.internal.session_expires_at = Some(start + 100);
        let cx = StoreContext::new();
        store.set(IDENTIFIER, &state, true, &cx).await.unwrap();
        let cookies = cx.cookies();
        assert!(
            store
                .get(IDENTIFIER, &StoreContext::from_cookies(cookies.clone()))
                .await
                .unwrap()
                .is_some()
        );
        // A copy of the cookie kept past its Max-Age (the Python layout has no exp inside).
        clock.advance(Duration::from_secs(101));
        let over = store
            .get(IDENTIFIER, &StoreContext::from_cookies(cookies))
            .await
            .unwrap();
        assert!(
            over.is_none(),
            "{format:?}: past session_expiry it is no session"
        );
    }
}

#[tokio::test]
async fn a_server_side_session_past_its_ceiling_is_no_session_and_is_deleted() {
    let clock = Arc::new(ManualClock::starting_now());
    let start = clock.unix_seconds();
    // The backend keeps its own (system) clock: its record, written for 30 days, stays live.
    let backend = Arc::new(MemoryBackend::new());
    let writer = ServerSideStateStore::from_shared(backend.clone(), &secrets())
        .with_clock(clock.clone())
        .with_lifetime(long_lifetime());
    let reader =
        ServerSideStateStore::from_shared(backend.clone(), &secrets()).with_clock(clock.clone());
    let cx = StoreContext::new();
    writer
        .set(IDENTIFIER, &session(start), true, &cx)
        .await
        .unwrap();
    let cookies = cx.cookies();
    assert!(
        reader
            .get(IDENTIFIER, &StoreContext::from_cookies(cookies.clone()))
            .await
            .unwrap()
            .is_some()
    );
    clock.advance(Duration::from_secs(3 * DAY + 1));
    let next = StoreContext::from_cookies(cookies);
    assert!(reader.get(IDENTIFIER, &next).await.unwrap().is_none());
    assert_eq!(backend.len(), 0, "the record past its ceiling is deleted");
    // Writing it again fails with session_expired rather than storing it.
    let err = reader
        .set(IDENTIFIER, &session(start), false, &next)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "session_expired");
}

#[tokio::test]
async fn a_login_whose_session_is_already_past_its_ceiling_fails_with_session_expired() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let err = h
        .login_with_claims(json!({"session_expiry": now() - 10}), &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "session_expired", "{err}");
    let next = StoreContext::from_cookies(cx.cookies());
    assert!(h.client.get_user(&next).await.unwrap().is_none());
    assert_eq!(h.backend.len(), 0);
}

const IDENTIFIER: &str = "_a0_session";
