//! The pages the integration answers with when something goes wrong: what happened, and
//! what to do about it.

use auth0_server_core::client::Error;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}\
         code{{background:#f3f3f3;padding:0 .2rem}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    );
    (status, Html(html)).into_response()
}

/// The page for an SDK error, naming the cause and the fix.
pub(crate) fn error_page(error: &Error, login_path: &str, callback_path: &str) -> Response {
    let again = format!("<p><a href=\"{}\">Log in again</a></p>", escape(login_path));
    let (status, title, advice) = match error {
        Error::MissingTransaction => (
            StatusCode::BAD_REQUEST,
            "This login cannot be completed in this browser",
            "It was started in another browser (a login link works only in the browser that \
             asked for it), or it expired or was already used. For your safety nobody was \
             logged in. Start the login again."
                .to_owned(),
        ),
        Error::Authorization { error, description } => {
            let detail = description.as_deref().unwrap_or(error);
            let hint = if error == "access_denied" {
                "The login was cancelled or refused. Try again, or ask the app's administrator \
                 for access."
                    .to_owned()
            } else if detail.contains("redirect_uri") || detail.contains("callback") {
                format!(
                    "The callback URL is not allowed: add this app's <code>{}</code> URL to \
                     Allowed Callback URLs in the Auth0 Dashboard (Applications → your \
                     application → Settings), and check AUTH0_REDIRECT_URI.",
                    escape(callback_path)
                )
            } else {
                "The identity provider refused the login.".to_owned()
            };
            (
                StatusCode::BAD_REQUEST,
                "The login did not succeed",
                format!("{hint}</p><p>It said: <code>{}</code>", escape(detail)),
            )
        }
        Error::IssuerMismatch { .. } => (
            StatusCode::BAD_REQUEST,
            "The login came from an unexpected provider",
            "The callback names another issuer than AUTH0_DOMAIN. Check AUTH0_DOMAIN, and \
             start the login again."
                .to_owned(),
        ),
        Error::InvalidCallback(reason) => (
            StatusCode::BAD_REQUEST,
            "This is not a usable login callback",
            format!("{}. Start the login again.", escape(reason)),
        ),
        Error::TokenEndpoint { error, .. } if error == "invalid_client" => (
            StatusCode::BAD_GATEWAY,
            "The app could not authenticate to Auth0",
            "Check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET against the application's settings \
             in the Auth0 Dashboard."
                .to_owned(),
        ),
        Error::TokenEndpoint { status, .. } if *status >= 500 => (
            StatusCode::BAD_GATEWAY,
            "The identity provider failed",
            "Its token endpoint answered with a server error. Try again in a moment.".to_owned(),
        ),
        Error::Network { .. } | Error::Discovery { .. } => (
            StatusCode::BAD_GATEWAY,
            "The identity provider cannot be reached",
            "Check AUTH0_DOMAIN and the network, then try again.".to_owned(),
        ),
        Error::Store(auth0_server_core::store::StoreError::SessionExpired) => (
            StatusCode::BAD_REQUEST,
            "The session would already have ended",
            "The identity provider limits this session to a time that has already passed \
             (session_expiry), so you are not logged in. Check this server's clock, then log \
             in again."
                .to_owned(),
        ),
        Error::Store(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Sessions cannot be read or saved right now",
            "The session store is not answering. Try again in a moment.".to_owned(),
        ),
        other => (
            StatusCode::BAD_REQUEST,
            "The login did not succeed",
            escape(&other.to_string()),
        ),
    };
    tracing::warn!(code = error.code(), "{error}");
    page(
        status,
        title,
        &format!(
            "<p>{advice}</p>{again}<p><small>code: <code>{}</code></small></p>",
            error.code()
        ),
    )
}

/// The page when the bridge layer is missing: a programming error, said plainly.
pub(crate) fn missing_layer() -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "auth0-axum is not set up",
        "<p>A handler asked for the session, but the request did not pass through \
         <code>auth0.layer()</code>. Add <code>.layer(auth0.layer())</code> to the router, \
         outermost.</p>",
    )
}

/// A plain page (for the routes' own messages).
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, &format!("<p>{}</p>", escape(text)))
}

/// The page that asks before logging out, for a logout request that may come from another
/// site: a same-origin `POST` form to `logout_path`, carrying `return_to` (already checked),
/// and a way back to `stay` without logging out.
///
/// It may not be framed (so no other site can overlay its button), not cached, and sends a
/// same-origin `Referer` with its form even where the app hides referrers, so that a browser
/// without Fetch Metadata or `Origin` on `POST` can still confirm.
pub(crate) fn logout_confirmation(
    status: StatusCode,
    logout_path: &str,
    return_to: Option<&str>,
    stay: &str,
) -> Response {
    let hidden = return_to
        .map(|to| {
            format!(
                "<input type=\"hidden\" name=\"returnTo\" value=\"{}\">",
                escape(to)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<p>A link or form asked to log you out of this app, but the browser says it came from \
         another site, or does not say where it came from. Log out only if you meant to.</p>\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <button type=\"submit\" id=\"logout-confirm\">Log out</button></form>\
         <p><a id=\"logout-cancel\" href=\"{stay}\">Stay logged in</a></p>",
        action = escape(logout_path),
        stay = escape(stay),
    );
    let mut response = page(status, "Log out?", &body);
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_server_core::store::StoreError;

    #[test]
    fn a_login_past_its_session_expiry_is_a_400_that_says_why_not_a_store_outage() {
        let response = error_page(
            &Error::Store(StoreError::SessionExpired),
            "/login",
            "/callback",
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
