//! A login's way back opened in another browser than the one that started it, over HTTP
//! through the quickstart, on every store and both transaction stores: a passwordless magic
//! link (another device, a mail scanner that follows links) and an account link's callback
//! (a URL passed on). Neither logs that browser in nor links anything to its session, and
//! neither consumes nor breaks the app's login in progress of the browser that started it,
//! which is bound to that browser's cookie: the same callback still completes there. A magic
//! link works once at the tenant, though: once another browser opened it, the asker opening
//! it is refused by the tenant, whose page says to ask for a new link, and a new one works.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use support::{
    Browser, SAME_ORIGIN, element, finish_login, location, log_in_as, started_app, text,
};

const ASKER: &str = "grace@example.com";

/// The quickstart's stores, each with cookie login transactions, and the server stores with
/// server-side ones too.
fn every_setup() -> Vec<(StoreChoice, TransactionChoice)> {
    let mut setups = Vec::new();
    for store in support::stores() {
        if store != StoreChoice::Cookie {
            setups.push((store.clone(), TransactionChoice::Server));
        }
        setups.push((store, TransactionChoice::Cookie));
    }
    setups
}

/// Whether `browser` holds a session cookie of the app.
fn has_session(browser: &Browser) -> bool {
    browser.jar.keys().any(|n| n.contains("_a0_session"))
}

/// Whether `browser` is sent to log in when it asks for its profile.
async fn is_anonymous(browser: &mut Browser, base: &str) -> bool {
    let profile = browser.get(&format!("{base}/profile")).await;
    profile.status().is_redirection() && !has_session(browser)
}

/// The `href` of the element with `id` in `html`.
fn href(html: &str, id: &str) -> String {
    let value = html
        .split(&format!("id=\"{id}\" href=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no #{id} link in {html}"));
    text(value)
}

/// `asker` asks the app at `base` for a magic link; returns the link the dev tenant "sent".
async fn ask_for_a_link(asker: &mut Browser, base: &str) -> String {
    let url = format!("{base}/passwordless");
    let form = [("email", ASKER), ("send", "link")];
    let response = asker.post_form_with(&url, &form, SAME_ORIGIN).await;
    assert!(response.status().is_success(), "{}", response.status());
    let page = response.text().await.unwrap();
    href(&page, "dev-link")
}

#[tokio::test]
async fn a_magic_link_opened_in_another_browser_logs_nobody_in_and_does_not_consume_the_transaction()
 {
    for (store, transactions) in every_setup() {
        magic_link_opened_elsewhere(store, transactions).await;
    }
}

async fn magic_link_opened_elsewhere(store: StoreChoice, transactions: TransactionChoice) {
    let (base, _settings) = started_app(store, transactions).await;
    let mut asker = Browser::new();
    let link = ask_for_a_link(&mut asker, &base).await;

    // Another browser opens the link: the tenant sends it to the app's callback, which finds
    // no login in progress there and says so.
    let mut other = Browser::new();
    let response = other.get(&link).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let callback = location(&link, &response);
    assert!(
        callback.starts_with(&format!("{base}/callback?")),
        "{callback}"
    );
    let response = other.get(&callback).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refusal = response.text().await.unwrap();
    assert!(
        refusal.contains("cannot be completed in this browser"),
        "{refusal}"
    );
    assert!(
        is_anonymous(&mut other, &base).await,
        "{transactions:?}: the other browser was logged in"
    );

    // The asking browser's login in progress is untouched: the same callback completes
    // there.
    let response = asker.get(&callback).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let (landed, profile) = asker.follow(callback.clone(), response).await;
    assert_eq!(landed, format!("{base}/profile"), "{transactions:?}");
    assert_eq!(element(&profile, "email"), ASKER, "{profile}");
    // The link works once: opened again, the tenant refuses it.
    assert!(other.get(&link).await.status().is_client_error());
}

/// What a user sees after a mail scanner (or another device) opened the link first: the
/// tenant refuses the used link and says to ask for a new one; the new one logs the asker in.
#[tokio::test]
async fn a_magic_link_another_browser_opened_first_is_refused_to_the_asker_who_asks_a_new_one() {
    for (store, transactions) in every_setup() {
        magic_link_opened_first_elsewhere(store, transactions).await;
    }
}

async fn magic_link_opened_first_elsewhere(store: StoreChoice, transactions: TransactionChoice) {
    let (base, _settings) = started_app(store, transactions).await;
    let mut asker = Browser::new();
    let link = ask_for_a_link(&mut asker, &base).await;
    let mut scanner = Browser::new();
    let response = scanner.get(&link).await;
    let callback = location(&link, &response);
    assert_eq!(
        scanner.get(&callback).await.status(),
        reqwest::StatusCode::BAD_REQUEST
    );

    // The asker opens the same link: the tenant refuses it, and says what to do.
    let response = asker.get(&link).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refusal = text(&response.text().await.unwrap());
    assert!(refusal.contains("already used"), "{refusal}");
    assert!(refusal.contains("ask for a new link"), "{refusal}");
    assert!(is_anonymous(&mut asker, &base).await, "{transactions:?}");

    // A new link, opened by the asker: logged in.
    let link = ask_for_a_link(&mut asker, &base).await;
    let response = asker.get(&link).await;
    let (landed, profile) = asker.follow(link, response).await;
    assert_eq!(landed, format!("{base}/profile"), "{transactions:?}");
    assert_eq!(element(&profile, "email"), ASKER, "{profile}");
}

/// The connections of the `identities` in the profile's claims (none when there are none).
async fn linked_connections(browser: &mut Browser, base: &str) -> Vec<String> {
    let url = format!("{base}/profile");
    let response = browser.get(&url).await;
    let (_, profile) = browser.follow(url, response).await;
    let claims: serde_json::Value = serde_json::from_str(&element(&profile, "claims")).unwrap();
    let identities = claims["identities"].as_array().cloned().unwrap_or_default();
    identities
        .iter()
        .filter_map(|i| i["connection"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_account_link_callback_opened_in_another_browser_links_nothing() {
    for (store, transactions) in every_setup() {
        link_callback_opened_elsewhere(store, transactions).await;
    }
}

async fn link_callback_opened_elsewhere(store: StoreChoice, transactions: TransactionChoice) {
    let (base, _settings) = started_app(store, transactions).await;
    let mut owner = Browser::new();
    let start = format!("{base}/login");
    let response = owner.get(&start).await;
    finish_login(&mut owner, start, response).await;
    // The link starts, and the tenant answers to its callback; the owner does not go there.
    let link = format!("{base}/link");
    let response = owner.post_form_with(&link, &[], SAME_ORIGIN).await;
    let authorize = location(&link, &response);
    let response = owner.get(&authorize).await;
    let callback = location(&authorize, &response);
    assert!(
        callback.starts_with(&format!("{base}/link/callback?")),
        "{callback}"
    );

    // A browser with no session is sent to log in, and gets no session.
    let mut stranger = Browser::new();
    let response = stranger.get(&callback).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert!(is_anonymous(&mut stranger, &base).await);
    // A browser logged in as someone else: refused, and nothing linked to its user.
    let mut other = Browser::new();
    log_in_as(&mut other, &base, "mallory@example.com").await;
    let response = other.get(&callback).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(
        !linked_connections(&mut other, &base)
            .await
            .contains(&"dev-connection".to_owned()),
        "{transactions:?}: linked to the other browser's user"
    );

    // The owner's link in progress is untouched: it completes there.
    let response = owner.get(&callback).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let connections = linked_connections(&mut owner, &base).await;
    assert!(
        connections.contains(&"dev-connection".to_owned()),
        "{transactions:?}: {connections:?}"
    );
}
