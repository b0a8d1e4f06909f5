//! The Cookie header: arbitrary bytes, split at newlines into several `Cookie` headers, read
//! by `StoreContext::from_headers_owned` (what the axum layer runs on every request before
//! any authentication: only the SDK's cookies, at most 32 pairs per prefix) and by
//! `StoreContext::from_headers` (every cookie), then looked up as the stores look cookies up.
//!
//! Besides "no panic" (and libFuzzer's timeout for work that is not linear), it checks that
//! `cookies()` and `cookie()` agree: every listed name is listed once, is not empty, holds no
//! `;`, and `cookie(name)` gives its value; a removed cookie is gone from both. And that the
//! owned reading never invents a cookie: each cookie it keeps has an owned name and the value
//! the full reading gives that name.
#![no_main]

use auth0_server_core::store::{CookieOptions, OwnedCookies, StoreContext};
use http::header::{COOKIE, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// Names the SDK looks up (plain and `__Host-`): looking them up must never fail either.
const OWN_NAMES: &[&str] = &[
    "_a0_session",
    "_a0_session.0",
    "_a0_session.1",
    "__Host-_a0_session.0",
    "_a0_tx_fuzz-state",
    "__Host-_a0_tx_fuzz-state",
];

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    let full = StoreContext::from_headers(&headers);
    check_consistent(&full);
    let owned = OwnedCookies::new()
        .with_identifier("_a0_session")
        .with_identifier("_a0_tx");
    let cx = StoreContext::from_headers_owned(&headers, &owned);
    check_consistent(&cx);
    for (name, value) in cx.cookies() {
        assert!(
            name.starts_with("_a0_session")
                || name.starts_with("_a0_tx")
                || name.starts_with("__Host-_a0_session")
                || name.starts_with("__Host-_a0_tx"),
            "the owned reading kept {name:?}"
        );
        assert_eq!(
            full.cookie(&name).as_deref(),
            Some(value.as_str()),
            "the owned reading and the full one disagree on {name:?}"
        );
    }
});

/// `cookies()` and `cookie()` agree, and a removal takes a cookie out of both.
fn check_consistent(cx: &StoreContext) {
    for name in OWN_NAMES {
        let _ = cx.cookie(name);
    }
    let cookies = cx.cookies();
    let mut seen = std::collections::HashSet::new();
    for (name, value) in &cookies {
        assert!(!name.is_empty(), "a cookie with an empty name");
        assert!(
            !name.contains(';') && !value.contains(';'),
            "a `;` inside a pair"
        );
        assert!(seen.insert(name.as_str()), "{name:?} listed twice");
        assert_eq!(
            cx.cookie(name).as_deref(),
            Some(value.as_str()),
            "cookie({name:?}) disagrees with cookies()"
        );
    }
    if let Some((name, _)) = cookies.first() {
        let cx = cx.clone();
        cx.remove_cookie(name, &CookieOptions::default());
        assert_eq!(
            cx.cookie(name),
            None,
            "{name:?} still there after its removal"
        );
        assert!(cx.cookies().iter().all(|(n, _)| n != name));
    }
}
