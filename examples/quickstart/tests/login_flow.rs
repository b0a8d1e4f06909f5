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
        store: store.clone(),
        audience: Some(DEV_AUDIENCE.to_owned()),
        dev_tenant: Some(tenant),
    };
    let router = app(&settings).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

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

    // An API call with an access token for the audience.
    let (_, api) = {
        let r = browser.get(&format!("{base}/api-call")).await;
        browser.follow(format!("{base}/api-call"), r).await
    };
    assert!(api.contains(DEV_AUDIENCE), "{api}");
    assert!(
        api.contains("&quot;aud&quot;"),
        "the JWT's claims are shown: {api}"
    );

    // Logout, through the tenant and back home.
    let response = browser.get(&format!("{base}/logout")).await;
    let (url, home) = browser.follow(format!("{base}/logout"), response).await;
    assert_eq!(url, format!("{base}/"));
    assert!(home.contains("id=\"login-button\""), "logged out: {home}");
    let response = browser.get(&format!("{base}/profile")).await;
    assert!(
        response.status().is_redirection(),
        "the profile is protected again"
    );
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
