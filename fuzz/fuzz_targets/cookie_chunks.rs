//! Chunk joining: the cookie session store reading arbitrary cookies, one `name=value` per
//! line (names such as `_a0_session.0`, `_a0_session.01`, `_a0_session.99999`, gaps,
//! duplicates), so the chunks it joins and opens are whatever a browser could send.
//!
//! Besides "no panic": a read never fails (a bad cookie is no session), a write of what was
//! read succeeds or says why, and after `delete` a read finds no session.
#![no_main]

use auth0_server_core::store::{StateStore, StoreContext};
use auth0_server_fuzz::{STATE_IDENTIFIER, cookie_state_store, runtime};
use auth0_store_cookie::CookieStateStore;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn store() -> &'static CookieStateStore {
    static STORE: OnceLock<CookieStateStore> = OnceLock::new();
    STORE.get_or_init(cookie_state_store)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let cx = StoreContext::from_cookies(pairs);
    let store = store();
    runtime().block_on(async {
        let read = store
            .get(STATE_IDENTIFIER, &cx)
            .await
            .expect("a read of hostile cookies is `no session`, never an error");
        if let Some(state) = read {
            // What was read can be written back (or the write says why, e.g. too large).
            let _ = store.set(STATE_IDENTIFIER, &state, false, &cx).await;
        }
        store.delete(STATE_IDENTIFIER, &cx).await.expect("delete");
        assert!(
            store
                .get(STATE_IDENTIFIER, &cx)
                .await
                .expect("read")
                .is_none(),
            "a session is still read after delete"
        );
    });
});
