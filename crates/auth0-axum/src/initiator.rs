//! Who started a request, as far as the browser says: this app (or its site, or the user
//! typing the URL), or another site. For actions that a cross-site request must not be able
//! to trigger, such as logout: `SameSite=Lax` cookies ride along on a cross-site top-level
//! `GET`, so the cookies alone do not tell.
//!
//! The evidence, strongest first:
//!
//! 1. `Sec-Fetch-Site` (Fetch Metadata; every current browser sends it, and a page cannot
//!    forge it): `same-origin`, `same-site` and `none` (typed URL, bookmark) are trusted,
//!    `cross-site` and anything else are not.
//! 2. Without it, `Origin` (browsers send it on `POST`, and on `GET` from scripts): trusted
//!    only when it is the app's own origin; `null` or another origin is not.
//! 3. Without either, `Referer`: trusted only when its origin is the app's own.
//! 4. None of the three (an old browser from a page that hides its referrer, or a client
//!    that is not a browser): not trusted. A page that hides its referrer is exactly what
//!    an attacker would use on a browser without Fetch Metadata, so the user is asked.

use axum::http::header::{ORIGIN, REFERER};
use axum::http::{HeaderMap, HeaderName};
use url::Url;

/// The Fetch Metadata request header naming the initiator's relation to the target.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// What the browser said about where a request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Initiator {
    /// This app, its site, or the user. The evidence, for the log.
    Trusted(&'static str),
    /// Another site, or no evidence either way. Why, for the log.
    Untrusted(&'static str),
}

/// Classifies a request by its `Sec-Fetch-Site`, `Origin` and `Referer` headers, in that
/// order (see the module docs). `app_origin` is the app's own origin, as
/// [`url::Origin::ascii_serialization`] writes it (`http://localhost:5000`).
pub(crate) fn initiator(headers: &HeaderMap, app_origin: &str) -> Initiator {
    if let Some(site) = single(headers, &SEC_FETCH_SITE) {
        return match site.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("same-origin") => Initiator::Trusted("Sec-Fetch-Site: same-origin"),
            Some("same-site") => Initiator::Trusted("Sec-Fetch-Site: same-site"),
            Some("none") => Initiator::Trusted("Sec-Fetch-Site: none (typed or bookmarked)"),
            Some("cross-site") => Initiator::Untrusted("Sec-Fetch-Site: cross-site"),
            _ => Initiator::Untrusted("an unreadable Sec-Fetch-Site"),
        };
    }
    if let Some(origin) = single(headers, &ORIGIN) {
        return if origin.is_some_and(|o| same_origin(o, app_origin)) {
            Initiator::Trusted("Origin is this app")
        } else {
            Initiator::Untrusted("Origin is another site, or null")
        };
    }
    if let Some(referer) = single(headers, &REFERER) {
        return if referer.is_some_and(|r| same_origin(r, app_origin)) {
            Initiator::Trusted("Referer is this app")
        } else {
            Initiator::Untrusted("Referer is another site")
        };
    }
    Initiator::Untrusted("no Sec-Fetch-Site, Origin or Referer")
}

/// The strict check for a state-changing form `POST` (a login, an enrollment, a revocation):
/// `Ok(evidence)` only when the browser says this very origin sent it. `Sec-Fetch-Site`
/// must be `same-origin` (`same-site` is refused: a sibling subdomain could log a visitor
/// in as the attacker; `none` is refused: no one types a form post); without it, `Origin`
/// must be exactly `app_origin` (scheme, host and port). A header sent twice, `Origin:
/// null`, or neither header: refused. `Err(why)`, for the log.
pub(crate) fn same_origin_post(
    headers: &HeaderMap,
    app_origin: &str,
) -> Result<&'static str, &'static str> {
    if let Some(site) = single(headers, &SEC_FETCH_SITE) {
        return match site.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("same-origin") => Ok("Sec-Fetch-Site: same-origin"),
            Some(_) => Err("Sec-Fetch-Site is not same-origin"),
            None => Err("an unreadable or repeated Sec-Fetch-Site"),
        };
    }
    match single(headers, &ORIGIN) {
        Some(Some(origin)) if !app_origin.is_empty() && same_origin(origin, app_origin) => {
            Ok("Origin is this app")
        }
        Some(_) => Err("Origin is another origin, null, unreadable or repeated"),
        None => Err("no Sec-Fetch-Site or Origin"),
    }
}

/// `None` when the header is absent; `Some(None)` when it is there but unusable (not
/// visible ASCII, or sent more than once); else its value.
fn single<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Option<&'h str>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some(None);
    }
    Some(first.to_str().ok())
}

/// Whether `url` (an `Origin` or a `Referer`) has the origin `app_origin`.
fn same_origin(url: &str, app_origin: &str) -> bool {
    match Url::parse(url) {
        Ok(url) => {
            matches!(url.scheme(), "http" | "https")
                && url.origin().ascii_serialization() == app_origin
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::{Initiator, initiator, same_origin_post};

    const APP: &str = "http://localhost:5000";

    fn headers(pairs: &[(&'static str, &'static [u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn trusted(pairs: &[(&'static str, &'static [u8])]) -> bool {
        matches!(initiator(&headers(pairs), APP), Initiator::Trusted(_))
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(trusted(&[("sec-fetch-site", b"same-origin")]));
        assert!(trusted(&[("sec-fetch-site", b"same-site")]));
        assert!(trusted(&[("sec-fetch-site", b"none")]));
        assert!(trusted(&[("sec-fetch-site", b"Same-Origin")]));
        assert!(!trusted(&[("sec-fetch-site", b"cross-site")]));
        assert!(!trusted(&[("sec-fetch-site", b"same-origin, cross-site")]));
        assert!(!trusted(&[("sec-fetch-site", b"")]));
        assert!(!trusted(&[("sec-fetch-site", b"same-orig\xc3\xafn")]));
        // It outranks a same-origin Referer (a page cannot forge Sec-Fetch-Site).
        assert!(!trusted(&[
            ("sec-fetch-site", b"cross-site"),
            ("referer", b"http://localhost:5000/profile"),
        ]));
    }

    #[test]
    fn the_same_header_twice_is_not_trusted() {
        assert!(!trusted(&[
            ("sec-fetch-site", b"same-origin"),
            ("sec-fetch-site", b"same-origin"),
        ]));
        assert!(!trusted(&[
            ("origin", b"http://localhost:5000"),
            ("origin", b"http://localhost:5000"),
        ]));
    }

    #[test]
    fn without_fetch_metadata_origin_then_referer_must_be_this_app() {
        assert!(trusted(&[("origin", b"http://localhost:5000")]));
        assert!(trusted(&[("origin", b"HTTP://LOCALHOST:5000")]));
        assert!(!trusted(&[("origin", b"null")]));
        assert!(!trusted(&[("origin", b"https://evil.example")]));
        assert!(!trusted(&[("origin", b"http://localhost:5001")]));
        assert!(!trusted(&[("origin", b"https://localhost:5000")]));
        // Origin outranks Referer.
        assert!(!trusted(&[
            ("origin", b"https://evil.example"),
            ("referer", b"http://localhost:5000/"),
        ]));
        assert!(trusted(&[(
            "referer",
            b"http://localhost:5000/profile?x=1"
        )]));
        assert!(!trusted(&[("referer", b"https://evil.example/page")]));
        assert!(!trusted(&[(
            "referer",
            b"http://localhost:5000.evil.example/"
        )]));
        assert!(!trusted(&[("referer", b"/relative")]));
    }

    #[test]
    fn no_evidence_is_not_trusted() {
        assert_eq!(
            initiator(&HeaderMap::new(), APP),
            Initiator::Untrusted("no Sec-Fetch-Site, Origin or Referer")
        );
    }

    fn post_allowed(pairs: &[(&'static str, &'static [u8])]) -> bool {
        same_origin_post(&headers(pairs), APP).is_ok()
    }

    #[test]
    fn a_form_post_needs_this_very_origin() {
        assert!(post_allowed(&[("sec-fetch-site", b"same-origin")]));
        assert!(post_allowed(&[("sec-fetch-site", b"Same-Origin")]));
        assert!(post_allowed(&[("origin", b"http://localhost:5000")]));
        // Fetch Metadata decides when present, whatever Origin says.
        assert!(!post_allowed(&[
            ("sec-fetch-site", b"same-site"),
            ("origin", b"http://localhost:5000"),
        ]));
        assert!(!post_allowed(&[("sec-fetch-site", b"none")]));
        assert!(!post_allowed(&[("sec-fetch-site", b"cross-site")]));
        assert!(!post_allowed(&[("sec-fetch-site", b"")]));
    }

    #[test]
    fn a_form_post_from_a_near_origin_or_without_evidence_is_refused() {
        assert!(!post_allowed(&[("origin", b"null")]));
        assert!(!post_allowed(&[("origin", b"http://localhost:5001")]));
        assert!(!post_allowed(&[("origin", b"https://localhost:5000")]));
        assert!(!post_allowed(&[("origin", b"http://app.localhost:5000")]));
        assert!(!post_allowed(&[("origin", b"/")]));
        assert!(!post_allowed(&[]));
        // A same-origin Referer is not enough for a form post.
        assert!(!post_allowed(&[("referer", b"http://localhost:5000/")]));
        assert!(!post_allowed(&[
            ("origin", b"http://localhost:5000"),
            ("origin", b"http://localhost:5000"),
        ]));
        assert!(!post_allowed(&[
            ("sec-fetch-site", b"same-origin"),
            ("sec-fetch-site", b"same-origin"),
        ]));
        // Without a configured origin only Fetch Metadata can vouch.
        let lone = headers(&[("origin", b"http://localhost:5000")]);
        assert!(same_origin_post(&lone, "").is_err());
    }
}
