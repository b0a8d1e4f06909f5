//! The quickstart end to end, as a browser would use it: home, a protected page, the login
//! form of the local dev tenant, the profile, an API call with an access token, and logout,
//! with each session store this build has (Redis and PostgreSQL when their URLs are set).

use std::collections::BTreeMap;
use std::io::Write as _;

use quickstart::{DEV_AUDIENCE, Settings, StoreChoice, app, dev_tenant_client};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A browser: one cookie jar (everything runs on 127.0.0.1), redirects followed by hand.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
    set_cookies: Vec<String>,
    visited: Vec<String>,
}

impl Browser {
    fn new() -> Self {
        // This client is built before the SDK's: install the same TLS provider first.
        auth0_server::tls::ensure_crypto_provider();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            set_cookies: Vec::new(),
            visited: Vec::new(),
        }
    }

    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let header = value.to_str().unwrap().to_owned();
            let (pair, attrs) = header.split_once(';').unwrap_or((&header, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.jar.remove(name.trim());
            } else {
                self.jar
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
            self.set_cookies.push(header.clone());
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        self.visited.push(url.to_owned());
        let response = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(&response);
        response
    }

    /// A link on the app's own page: what [`Browser::get`] sends, with the `Sec-Fetch-Site`
    /// header a browser adds.
    async fn get_from_app(&mut self, url: &str) -> reqwest::Response {
        self.visited.push(url.to_owned());
        let response = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        self.take(&response);
        response
    }

    async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.take(&response);
        response
    }

    /// Follows redirects from `response` until a page; returns its final URL and body.
    async fn follow(
        &mut self,
        mut url: String,
        mut response: reqwest::Response,
    ) -> (String, String) {
        for _ in 0..10 {
            if !response.status().is_redirection() {
                let status = response.status();
                let body = response.text().await.unwrap();
                assert!(status.is_success(), "{url} answered {status}: {body}");
                return (url, body);
            }
            let next = response.headers()[LOCATION].to_str().unwrap().to_owned();
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(&next)
                .unwrap()
                .to_string();
            response = self.get(&url).await;
        }
        panic!("too many redirects");
    }
}

/// The value of `name="…" value="…"` and the form's action in an HTML page.
fn form_parts(html: &str) -> (String, String) {
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a form action")
        .replace("&amp;", "&");
    let interaction = html
        .split("name=\"interaction\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an interaction field")
        .to_owned();
    (action, interaction)
}

fn skip(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is not set and CI is: run ./scripts/test");
    }
    let _ = std::io::stderr().write_all(
        format!(
            "\n!! SKIPPED: the quickstart with this store is NOT tested: {what} is not set\n\n"
        )
        .as_bytes(),
    );
}

async fn run_flow(store: StoreChoice) {
    let (base, _settings) = started_app(store.clone()).await;
    let mut browser = Browser::new();
    let home = browser.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(home.contains("id=\"login-button\""), "{home}");
    assert!(home.contains(store.name()), "the footer names the store");

    // A protected page sends us through the login and back to it.
    let response = browser.get(&format!("{base}/profile")).await;
    assert!(response.status().is_redirection());
    let (url, form) = browser.follow(format!("{base}/profile"), response).await;
    assert!(
        url.contains("/authorize"),
        "at the tenant's login form: {url}"
    );
    assert!(form.contains("Local development tenant"), "{form}");
    let (action, interaction) = form_parts(&form);
    let action = reqwest::Url::parse(&url)
        .unwrap()
        .join(&action)
        .unwrap()
        .to_string();
    let response = browser
        .post_form(
            &action,
            &[
                ("interaction", &interaction),
                ("email", "ada@example.com"),
                ("name", "Ada Lovelace"),
                ("action", "login"),
            ],
        )
        .await;
    let (url, profile) = browser.follow(action, response).await;
    assert!(
        url.ends_with("/profile"),
        "back on the page asked for: {url}"
    );
    assert!(
        profile.contains("Ada Lovelace") && profile.contains("ada@example.com"),
        "{profile}"
    );
    assert!(
        !profile.contains(": null"),
        "claims the provider did not give are not shown as null: {profile}"
    );

    let session_cookies: Vec<&String> = browser
        .set_cookies
        .iter()
        .filter(|c| c.starts_with("_a0_session") && !c.contains("Max-Age=0"))
        .collect();
    assert!(!session_cookies.is_empty());
    for c in session_cookies {
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"),
            "{c}"
        );
        assert!(
            !c.contains("Secure"),
            "http on loopback: no Secure flag, or the browser drops it"
        );
    }
    assert!(
        browser.jar.keys().all(|n| !n.starts_with("_a0_tx_")),
        "the transaction cookies are gone after login: {:?}",
        browser.jar.keys()
    );

    // The callback replayed: a 4xx page, and the session stays as it was.
    let callback = browser
        .visited
        .iter()
        .find(|u| u.contains("/callback?"))
        .cloned()
        .expect("the callback was visited");
    let replay = browser.http.get(&callback).send().await.unwrap();
    assert_eq!(
        replay.status(),
        reqwest::StatusCode::BAD_REQUEST,
        "a replayed callback (no cookies)"
    );
    let replay = browser.get(&callback).await;
    assert!(
        replay.status().is_redirection() || replay.status().is_client_error(),
        "a replayed callback in the logged-in browser: {}",
        replay.status()
    );

    // A tampered session cookie is no session; the real one still works.
    let saved = browser.jar.clone();
    for (name, value) in browser.jar.iter_mut() {
        if name.starts_with("_a0_session") {
            let mut bytes = value.clone().into_bytes();
            let i = bytes.len() / 2;
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            *value = String::from_utf8(bytes).unwrap();
        }
    }
    let home = browser.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(
        home.contains("id=\"login-button\""),
        "a tampered cookie is no session"
    );
    browser.jar = saved;
    let home = browser.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(
        home.contains("Welcome, Ada Lovelace"),
        "the untouched cookie still works: {home}"
    );

    // An API call with an access token for the audience.
    let (_, api) = {
        let r = browser.get(&format!("{base}/api-call")).await;
        browser.follow(format!("{base}/api-call"), r).await
    };
    assert!(api.contains(DEV_AUDIENCE), "{api}");
    assert!(
        api.contains("Access token retrieved: <code>ey"),
        "a JWT's first characters: {api}"
    );
    assert!(
        api.contains("&quot;aud&quot;"),
        "the JWT's claims are shown: {api}"
    );

    // Logout from the app's own link (a browser says so with Sec-Fetch-Site), through the
    // tenant and back home.
    let response = browser.get_from_app(&format!("{base}/logout")).await;
    let (url, home) = browser.follow(format!("{base}/logout"), response).await;
    assert_eq!(url, format!("{base}/"));
    assert!(home.contains("id=\"login-button\""), "logged out: {home}");
    let response = browser.get(&format!("{base}/profile")).await;
    assert!(
        response.status().is_redirection(),
        "the profile is protected again"
    );
}

/// Logs in through the tenant's form from a login already started (`response` is the
/// app's redirect to the tenant); returns where the browser ends.
async fn finish_login(
    browser: &mut Browser,
    start: String,
    response: reqwest::Response,
) -> (String, String) {
    let (url, form) = browser.follow(start, response).await;
    let (action, interaction) = form_parts(&form);
    let action = reqwest::Url::parse(&url)
        .unwrap()
        .join(&action)
        .unwrap()
        .to_string();
    let response = browser
        .post_form(
            &action,
            &[
                ("interaction", &interaction),
                ("email", "ada@example.com"),
                ("name", "Ada Lovelace"),
                ("action", "login"),
            ],
        )
        .await;
    browser.follow(action, response).await
}

async fn started_app(store: StoreChoice) -> (String, Settings) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect_uri = format!("{base}/callback");
    let (builder, tenant) = dev_tenant_client(port, &redirect_uri).await.unwrap();
    let secret = auth0_server::generate_secret();
    let settings = Settings {
        builder: builder.secret(secret.clone()),
        redirect_uri,
        secrets: auth0_server::Secrets::parse(&secret).unwrap(),
        store,
        audience: Some(DEV_AUDIENCE.to_owned()),
        dev_tenant: Some(tenant),
    };
    let router = app(&settings).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, settings)
}

#[tokio::test]
async fn two_logins_started_in_two_tabs_both_end_logged_in() {
    let (base, _settings) = started_app(StoreChoice::Cookie).await;
    let mut browser = Browser::new();
    let tab1 = browser
        .get(&format!("{base}/login?returnTo=/profile"))
        .await;
    let tab2 = browser
        .get(&format!("{base}/login?returnTo=/api-call"))
        .await;
    assert_eq!(
        browser
            .jar
            .keys()
            .filter(|n| n.starts_with("_a0_tx_"))
            .count(),
        2
    );
    let tab1_start = tab1.headers()[LOCATION].to_str().unwrap().to_owned();
    let (url, _) = finish_login(&mut browser, format!("{base}/login"), tab2).await;
    assert!(url.ends_with("/api-call"), "{url}");
    // The first tab's login is still open at the provider; finishing it brings this
    // browser back to the app, logged in.
    let response = browser.get(&tab1_start).await;
    let (url, page) = browser.follow(tab1_start, response).await;
    assert!(
        url.starts_with(&base) && !page.contains("id=\"login-button\""),
        "the other tab ends logged in too: {url}"
    );
}

async fn backchannel_logout_ends_the_session(store: StoreChoice) {
    let (base, settings) = started_app(store).await;
    let tenant = settings.dev_tenant.as_ref().unwrap();
    let mut browser = Browser::new();
    let response = browser.get(&format!("{base}/login")).await;
    finish_login(&mut browser, format!("{base}/login"), response).await;
    assert!(
        browser
            .get(&format!("{base}/profile"))
            .await
            .status()
            .is_success()
    );
    // The user logs out at the provider, not through the app: the provider tells the app.
    let logout = format!(
        "{}v2/logout?client_id={}&returnTo={}",
        tenant.issuer(),
        tenant.client_id(),
        url_encode(&format!("{base}/"))
    );
    let response = browser.get(&logout).await;
    browser.follow(logout, response).await;
    let profile = browser.get(&format!("{base}/profile")).await;
    assert!(
        profile.status().is_redirection(),
        "the back-channel logout ended the app's session"
    );
}

fn url_encode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", [("v", s)])
        .unwrap()
        .query()
        .unwrap()[2..]
        .to_owned()
}

#[tokio::test]
async fn backchannel_logout_ends_a_memory_session() {
    backchannel_logout_ends_the_session(StoreChoice::Memory).await;
}

#[tokio::test]
async fn backchannel_logout_ends_a_redis_session() {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            backchannel_logout_ends_the_session(StoreChoice::Redis(url)).await
        }
        _ => skip("REDIS_URL"),
    }
}

#[tokio::test]
async fn backchannel_logout_ends_a_postgres_session() {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            backchannel_logout_ends_the_session(StoreChoice::Postgres(url)).await
        }
        _ => skip("DATABASE_URL"),
    }
}

#[tokio::test]
async fn quickstart_with_cookie_sessions() {
    run_flow(StoreChoice::Cookie).await;
}

#[tokio::test]
async fn quickstart_with_memory_sessions() {
    run_flow(StoreChoice::Memory).await;
}

#[tokio::test]
async fn quickstart_with_redis_sessions() {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => run_flow(StoreChoice::Redis(url)).await,
        _ => skip("REDIS_URL"),
    }
}

#[tokio::test]
async fn quickstart_with_postgres_sessions() {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => run_flow(StoreChoice::Postgres(url)).await,
        _ => skip("DATABASE_URL"),
    }
}
