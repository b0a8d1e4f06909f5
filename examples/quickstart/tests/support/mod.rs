//! What the quickstart's end-to-end tests share: a browser that keeps cookies and follows
//! redirects by hand (`auth0_test_support::browser`), the app started on a free port against
//! an in-process dev tenant, and a login through the tenant's form.
#![allow(dead_code)] // each test file uses its own part

use std::io::Write as _;

use auth0_server::client::ServerClientBuilder;
use quickstart::{DEV_AUDIENCE, Settings, StoreChoice, TransactionChoice, app, dev_tenant_client};

#[allow(unused_imports)] // each test file uses its own part
pub use auth0_test_support::browser::{Browser, CROSS_SITE, SAME_ORIGIN};

/// The value of `name="…" value="…"` and the form's action in an HTML page.
pub fn form_parts(html: &str) -> (String, String) {
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(text)
        .expect("a form action");
    let interaction = html
        .split("name=\"interaction\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(text)
        .expect("an interaction field");
    (action, interaction)
}

/// HTML as a browser reads it: entities decoded.
pub fn text(html: &str) -> String {
    html_escape::decode_html_entities(html).into_owned()
}

pub fn skip(what: &str) {
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

/// The app on a free port of 127.0.0.1 with `store` and `transactions`, against a dev tenant
/// of its own; returns its base URL and settings.
pub async fn started_app(
    store: StoreChoice,
    transactions: TransactionChoice,
) -> (String, Settings) {
    started_app_with(store, transactions, |builder| builder).await
}

/// [`started_app`] with the client's builder changed by `configure` first.
pub async fn started_app_with(
    store: StoreChoice,
    transactions: TransactionChoice,
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
) -> (String, Settings) {
    let (base, _, settings) = start(store, transactions, "http", configure).await;
    (base, settings)
}

/// The app as in production behind a TLS-terminating proxy: configured for
/// `https://127.0.0.1:{port}` (so its cookies are `Secure` with the `__Host-` prefix) while
/// it listens on plain http. Returns the http origin, the https one, and the settings.
pub async fn started_app_behind_tls(store: StoreChoice) -> (String, String, Settings) {
    start(store, TransactionChoice::Cookie, "https", |builder| builder).await
}

async fn start(
    store: StoreChoice,
    transactions: TransactionChoice,
    public_scheme: &str,
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
) -> (String, String, Settings) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let public = format!("{public_scheme}://127.0.0.1:{port}");
    let redirect_uri = format!("{public}/callback");
    let (builder, tenant) = dev_tenant_client(port, &redirect_uri).await.unwrap();
    let secret = auth0_server::generate_secret();
    let settings = Settings {
        builder: configure(builder.secret(secret.clone())),
        store,
        transactions,
        audience: Some(DEV_AUDIENCE.to_owned()),
        dev_tenant: Some(tenant),
    };
    let router = app(&settings).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, public, settings)
}

/// The Redis store at `REDIS_URL`, or `None` after a loud skip (a failure under CI).
pub fn redis() -> Option<StoreChoice> {
    env_url("REDIS_URL").map(StoreChoice::Redis)
}

/// The PostgreSQL store at `DATABASE_URL`, or `None` after a loud skip (a failure under CI).
pub fn postgres() -> Option<StoreChoice> {
    env_url("DATABASE_URL").map(StoreChoice::Postgres)
}

fn env_url(var: &str) -> Option<String> {
    let url = std::env::var(var).ok().filter(|url| !url.is_empty());
    if url.is_none() {
        skip(var);
    }
    url
}

/// Every store to test with: cookie and memory always, Redis and PostgreSQL when their URLs
/// are set (skipped loudly otherwise, which fails under CI).
pub fn stores() -> Vec<StoreChoice> {
    let mut stores = vec![StoreChoice::Cookie, StoreChoice::Memory];
    stores.extend(redis());
    stores.extend(postgres());
    stores
}

/// Signs in as `email` on the tenant's login form `form` (a page at `url`); returns where
/// the form posted and the tenant's answer (a redirect towards the app's callback).
pub async fn submit_tenant_form(
    browser: &mut Browser,
    url: &str,
    form: &str,
    email: &str,
    name: &str,
) -> (String, reqwest::Response) {
    let (action, interaction) = form_parts(form);
    let action = reqwest::Url::parse(url)
        .unwrap()
        .join(&action)
        .unwrap()
        .to_string();
    let response = browser
        .post_form(
            &action,
            &[
                ("interaction", &interaction),
                ("email", email),
                ("name", name),
                ("action", "login"),
            ],
        )
        .await;
    (action, response)
}

/// Logs in through the tenant's form from a login already started (`response` is the
/// app's redirect to the tenant); returns where the browser ends.
pub async fn finish_login(
    browser: &mut Browser,
    start: String,
    response: reqwest::Response,
) -> (String, String) {
    let (url, form) = browser.follow(start, response).await;
    let (action, response) =
        submit_tenant_form(browser, &url, &form, "ada@example.com", "Ada Lovelace").await;
    browser.follow(action, response).await
}

/// Logs a fresh `browser` in to the app at `base` as `email`, through the tenant's form.
pub async fn log_in_as(browser: &mut Browser, base: &str, email: &str) {
    let start = format!("{base}/login");
    let response = browser.get(&start).await;
    let (url, form) = browser.follow(start, response).await;
    let (action, response) = submit_tenant_form(browser, &url, &form, email, "Someone").await;
    browser.follow(action, response).await;
}

pub fn url_encode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", [("v", s)])
        .unwrap()
        .query()
        .unwrap()[2..]
        .to_owned()
}

/// The text of the element with `id` in `html`, if there is one.
pub fn try_element(html: &str, id: &str) -> Option<String> {
    let after = html
        .split(&format!("id=\"{id}\""))
        .nth(1)?
        .split_once('>')?
        .1;
    Some(text(after.split('<').next().unwrap_or_default()))
}

/// The text of the element with `id` in `html` (a panic that shows the page when none).
pub fn element(html: &str, id: &str) -> String {
    try_element(html, id).unwrap_or_else(|| panic!("no #{id} in {html}"))
}

/// The attribute `name` of an HTML `tag` (its text after `<tag`), entities decoded; empty
/// when absent.
pub fn attribute(tag: &str, name: &str) -> String {
    tag.split(&format!(" {name}=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(text)
        .unwrap_or_default()
}

/// Every `<input>` tag of `html` (its text after `<input`).
fn inputs(html: &str) -> impl Iterator<Item = &str> {
    html.split("<input")
        .skip(1)
        .filter_map(|tag| tag.split('>').next())
}

/// Every `<input type="hidden" name="…" value="…">` of `html`, as (name, value).
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    inputs(html)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .map(|tag| (attribute(tag, "name"), attribute(tag, "value")))
        .collect()
}

/// The value of the form field `name` in `html` (a panic that shows the page when none).
pub fn field(html: &str, name: &str) -> String {
    inputs(html)
        .find(|tag| attribute(tag, "name") == name)
        .map(|tag| attribute(tag, "value"))
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
}

/// Where `response` (a redirect from `from`) points, as an absolute URL (a panic when it is
/// not a redirect).
pub fn redirect_target(from: &reqwest::Url, response: &reqwest::Response) -> reqwest::Url {
    assert!(
        response.status().is_redirection(),
        "{from} answered {}, not a redirect",
        response.status()
    );
    let next = response.headers()["location"].to_str().unwrap();
    from.join(next).unwrap()
}

/// [`redirect_target`] for a URL as text.
pub fn location(url: &str, response: &reqwest::Response) -> String {
    redirect_target(&reqwest::Url::parse(url).unwrap(), response).to_string()
}
