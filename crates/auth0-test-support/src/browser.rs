//! A browser for tests of an app on loopback: one cookie jar (everything runs on 127.0.0.1),
//! redirects followed by hand, the `Sec-Fetch-Site` headers a browser adds. The quickstart's
//! end-to-end tests drive the app with it.
//!
//! ```no_run
//! # async fn example() {
//! use auth0_test_support::browser::Browser;
//!
//! let mut browser = Browser::new();
//! let url = "http://127.0.0.1:5000/profile".to_owned();
//! let response = browser.get(&url).await;
//! let (landed_on, html) = browser.follow(url, response).await;
//! # }
//! ```

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// What a link or form on another site sends (Fetch Metadata).
pub const CROSS_SITE: &[(&str, &str)] = &[("sec-fetch-site", "cross-site")];
/// What a link on the app's own pages sends.
pub const SAME_ORIGIN: &[(&str, &str)] = &[("sec-fetch-site", "same-origin")];

/// A browser: one cookie jar (everything runs on 127.0.0.1), redirects followed by hand.
pub struct Browser {
    /// Its HTTP client (no redirects followed, no cookies kept by itself).
    pub http: reqwest::Client,
    /// The cookies it holds, by name.
    pub jar: BTreeMap<String, String>,
    /// Every `Set-Cookie` header it received, in order.
    pub set_cookies: Vec<String>,
    /// Every URL it navigated to with [`Browser::get_with`] (so every GET).
    pub visited: Vec<String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Self {
        // This client is built before the SDK's: install the same TLS provider first.
        auth0_store_core::tls::ensure_crypto_provider();
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

    /// The `Cookie` header it sends: every cookie of its jar.
    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A navigation to `url` (a typed URL or a redirect).
    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        self.get_with(url, &[]).await
    }

    /// A link on the app's own page: what [`Browser::get`] sends, with the `Sec-Fetch-Site`
    /// header a browser adds.
    pub async fn get_from_app(&mut self, url: &str) -> reqwest::Response {
        self.get_with(url, SAME_ORIGIN).await
    }

    /// A navigation to `url` with these headers too (Fetch Metadata, `Origin`, …).
    pub async fn get_with(&mut self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.visited.push(url.to_owned());
        let request = self.http.get(url);
        self.send(request, headers).await
    }

    /// A form posted to `url`.
    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_with(url, form, &[]).await
    }

    /// A form posted to `url` with these headers too.
    pub async fn post_form_with(
        &mut self,
        url: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let request = self.http.post(url).form(form);
        self.send(request, headers).await
    }

    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = request.header(COOKIE, self.cookie_header());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.take(&response);
        response
    }

    /// Follows redirects from `response` until a page; returns its final URL and body.
    pub async fn follow(
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
