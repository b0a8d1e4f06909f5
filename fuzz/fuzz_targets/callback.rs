//! Callback URL parsing: `ServerClient::complete_interactive_login` on an arbitrary URL (or
//! relative reference), with the cookies of a login really started by the offline client, up
//! to the code exchange, where the offline provider fails at once with a network error.
//!
//! Two browsers each started a login at set-up. The first byte picks who opens the URL: bit
//! 0 the first or the second browser, bit 1 a browser without any cookie. In the rest (UTF-8),
//! `{state}` stands for the `state` of the login of the browser opening it and
//! `{foreign_state}` for the other browser's. Oracle: a callback never completes here, and it
//! reaches the code exchange only in a browser that started the login its URL names (no
//! login CSRF), with a code.
#![no_main]

use std::sync::{Arc, OnceLock};

use auth0_server_core::client::{Error, ServerClient, StartLoginOptions};
use auth0_server_core::store::StoreContext;
use auth0_server_fuzz::{
    REDIRECT_URI, STATE_PLACEHOLDER, cookie_state_store, cookie_transaction_store, offline_client,
    runtime,
};
use http::header::{COOKIE, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use url::Url;

/// In an input, the `state` of the other browser's login.
const FOREIGN_STATE_PLACEHOLDER: &str = "{foreign_state}";

/// A browser that started a login: its cookies and the login's `state`.
struct Browser {
    cookie_header: String,
    state: String,
}

struct Setup {
    client: ServerClient,
    browsers: [Browser; 2],
}

async fn start_login(client: &ServerClient) -> Browser {
    let cx = StoreContext::new();
    let url = client
        .start_interactive_login(StartLoginOptions::default(), &cx)
        .await
        .expect("the offline client starts a login");
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("the authorization URL has a state");
    let cookie_header = cx
        .take_changes()
        .iter()
        .filter(|c| !c.is_removal())
        .map(|c| format!("{}={}", c.name, c.value))
        .collect::<Vec<_>>()
        .join("; ");
    Browser {
        cookie_header,
        state,
    }
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        runtime().block_on(async {
            let client = offline_client(
                Arc::new(cookie_state_store()),
                Arc::new(cookie_transaction_store()),
            )
            .await;
            let browsers = [start_login(&client).await, start_login(&client).await];
            Setup { client, browsers }
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&who, rest)) = data.split_first() else {
        return;
    };
    let Ok(url) = std::str::from_utf8(rest) else {
        return;
    };
    let setup = setup();
    let own = &setup.browsers[usize::from(who & 1)];
    let other = &setup.browsers[usize::from(!who & 1)];
    let no_cookies = who & 2 != 0;
    let url = url
        .replace(FOREIGN_STATE_PLACEHOLDER, &other.state)
        .replace(STATE_PLACEHOLDER, &own.state);
    let mut headers = HeaderMap::new();
    if !no_cookies {
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&own.cookie_header).expect("cookie values are ASCII"),
        );
    }
    let cx = StoreContext::from_headers(&headers);
    let outcome = runtime().block_on(setup.client.complete_interactive_login(&url, &cx));
    match outcome {
        Ok(_) => panic!("a callback completed without a token endpoint"),
        // The code exchange: the offline provider cannot be reached.
        Err(Error::Network { .. }) => {
            assert!(!no_cookies, "a browser without cookies redeemed a code");
            // The query as a URL parser reads it (percent-decoded).
            let parsed = Url::parse(&url)
                .or_else(|_| Url::parse(REDIRECT_URI).and_then(|base| base.join(&url)))
                .expect("the client read a URL");
            let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
            assert!(
                pairs.iter().any(|(k, v)| k == "state" && *v == own.state),
                "a code was redeemed for a login this browser did not start: {url:?}"
            );
            assert!(
                pairs.iter().any(|(k, v)| k == "code" && !v.is_empty()),
                "a code exchange without a code: {url:?}"
            );
        }
        Err(_) => {}
    }
});
