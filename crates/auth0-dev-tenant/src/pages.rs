//! The HTML the browser sees: the login form, error pages, the logged-out page and the home
//! page. Every page says plainly that this is a local development tenant, not Auth0. Every
//! value is HTML-escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The banner at the top of every page.
pub const BANNER: &str = "Local development tenant — not Auth0";

/// The page's security headers: no framing, no scripts, nothing cached, no referrer.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "
body{font-family:system-ui,sans-serif;background:#f4f4f6;color:#1d1d21;margin:0}
.banner{background:#b3261e;color:#fff;padding:.6rem 1rem;font-weight:600;text-align:center}
main{max-width:26rem;margin:2.5rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin-top:0}
label{display:block;margin:.9rem 0 .3rem;font-weight:600}
input[type=email],input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;
border:1px solid #bbb;border-radius:4px}
/* Log in comes first in the form (Enter submits it), Cancel is shown first. */
.buttons{display:flex;flex-direction:row-reverse;gap:.6rem;margin-top:1.3rem}
button{flex:1;padding:.6rem;font-size:1rem;border-radius:4px;border:1px solid #635dff;cursor:pointer}
button.primary{background:#635dff;color:#fff}
button.secondary{background:#fff;color:#635dff}
.error{background:#fdecea;border:1px solid #f5c2bd;padding:.6rem;border-radius:4px}
.muted{color:#666;font-size:.9rem}
code{background:#f0f0f3;padding:0 .2rem;border-radius:3px;word-break:break-all}
";

/// `text` with `& < > " '` escaped, for HTML text and attribute values.
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

/// A whole page around `body` (already HTML).
fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title} · dev tenant</title><style>{STYLE}</style></head>\
         <body><div class=\"banner\" role=\"banner\">{BANNER}</div><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// A page as a response, with the security headers.
pub(crate) fn respond(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What the login form shows.
pub(crate) struct LoginForm<'a> {
    pub(crate) action: &'a str,
    pub(crate) interaction: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) email: &'a str,
    pub(crate) name: &'a str,
    pub(crate) error: Option<&'a str>,
}

/// The login form: any e-mail address logs in; "Cancel" refuses the login.
pub(crate) fn login(form: &LoginForm<'_>) -> String {
    let error = form
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in</h1>\
         <p class=\"muted\">to <code>{client}</code>, which will receive you at <code>{redirect}</code>. \
         Any e-mail address works: no password, no account.</p>{error}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
         <label for=\"email\">E-mail address</label>\
         <input id=\"email\" name=\"email\" type=\"email\" required autofocus autocomplete=\"email\" value=\"{email}\">\
         <label for=\"name\">Name <span class=\"muted\">(optional)</span></label>\
         <input id=\"name\" name=\"name\" type=\"text\" autocomplete=\"name\" value=\"{name}\">\
         <div class=\"buttons\">\
         <button class=\"primary\" type=\"submit\" name=\"action\" value=\"login\">Log in</button>\
         <button class=\"secondary\" type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button>\
         </div></form>",
        client = escape(form.client_id),
        redirect = escape(form.redirect_uri),
        action = escape(form.action),
        interaction = escape(form.interaction),
        email = escape(form.email),
        name = escape(form.name),
    );
    layout("Log in", &body)
}

/// An error shown to the user instead of a redirect: what happened and what to do.
pub(crate) fn error(title: &str, what: &str, fix: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p>{}</p>",
        escape(title),
        escape(what),
        escape(fix)
    );
    layout(title, &body)
}

/// After a logout with nowhere (allowed) to go.
pub(crate) fn logged_out(refused_return: Option<&str>) -> String {
    let refused = refused_return
        .map(|uri| {
            format!(
                "<p class=\"error\" role=\"alert\">You were not sent back to <code>{}</code>: it is \
                 not an allowed logout URL of this dev tenant. Allow it with \
                 <code>DevTenant::builder().logout_uri(…)</code>, or use a loopback URL.</p>",
                escape(uri)
            )
        })
        .unwrap_or_default();
    layout(
        "Logged out",
        &format!(
            "<h1>Logged out</h1>{refused}<p>You are logged out of the local development tenant.</p>"
        ),
    )
}

/// The home page: what this is and how to point an app at it.
pub(crate) fn home(issuer: &str, client_id: &str) -> String {
    let domain = issuer.trim_end_matches('/');
    let body = format!(
        "<h1>Local development tenant</h1>\
         <p>An OpenID provider on this machine, for developing and testing apps made with \
         auth0-server without an Auth0 account. It is not Auth0 and not for production.</p>\
         <p>Point your app at it:</p>\
         <p><code>AUTH0_DOMAIN={domain}</code><br><code>AUTH0_CLIENT_ID={client}</code></p>\
         <p class=\"muted\">Discovery: <code>{issuer}.well-known/openid-configuration</code></p>",
        domain = escape(domain),
        client = escape(client_id),
        issuer = escape(issuer),
    );
    layout("Local development tenant", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_text_and_attributes() {
        let page = login(&LoginForm {
            action: "http://127.0.0.1:1/u/login",
            interaction: "\"><script>",
            client_id: "<b>",
            redirect_uri: "http://localhost/cb?a=1&b='2'",
            email: "\" onfocus=\"x",
            name: "",
            error: Some("<i>"),
        });
        assert!(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<i>"));
        assert!(page.contains("&quot; onfocus=&quot;x"));
        assert!(page.contains("a=1&amp;b=&#39;2&#39;"));
        assert!(page.contains(BANNER));
    }
}
