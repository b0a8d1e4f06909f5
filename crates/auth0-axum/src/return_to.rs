//! Where a user may be sent back to: this app's own paths, or allowed origins. Never an
//! open redirect.

use url::Url;

/// Returns `target` if it is safe to redirect to, else `None`.
///
/// Safe: a path of this app (`/profile?tab=1`, but not `//evil.example`, `/\evil.example` or
/// anything with control characters), or an absolute `http(s)` URL whose origin is
/// `app_origin` or one of `allowed_origins`.
///
/// ```
/// use auth0_axum::safe_return_to;
/// let app = "http://localhost:5000";
/// assert_eq!(safe_return_to("/profile", app, &[]).as_deref(), Some("/profile"));
/// assert_eq!(safe_return_to("//evil.example/x", app, &[]), None);
/// assert_eq!(safe_return_to("https://evil.example/", app, &[]), None);
/// assert_eq!(safe_return_to("http://localhost:5000/a", app, &[]).as_deref(), Some("http://localhost:5000/a"));
/// ```
pub fn safe_return_to(
    target: &str,
    app_origin: &str,
    allowed_origins: &[String],
) -> Option<String> {
    if target.is_empty() || target.len() > 2048 || target.chars().any(|c| c.is_control()) {
        return None;
    }
    if target.starts_with('/') {
        let second = target.chars().nth(1);
        if matches!(second, Some('/') | Some('\\')) {
            return None;
        }
        // Browsers treat backslashes like slashes: `/\evil` and `/x/..\\..` tricks.
        if target.contains('\\') {
            return None;
        }
        return Some(target.to_owned());
    }
    let url = Url::parse(target).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let same = |allowed: &str| {
        Url::parse(allowed)
            .map(|a| a.origin().ascii_serialization() == origin)
            .unwrap_or(false)
    };
    (same(app_origin) || allowed_origins.iter().any(|a| same(a))).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    const APP: &str = "http://localhost:5000";

    #[test]
    fn open_redirect_attempts_are_refused() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "https://evil.example/profile",
            "http://localhost:5001/",
            "http://localhost:5000@evil.example/",
            "http://user:pw@localhost:5000/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/ok\r\nSet-Cookie: x=1",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_return_to(bad, APP, &[]), None, "{bad:?}");
        }
    }

    #[test]
    fn own_paths_and_allowed_origins_pass() {
        assert_eq!(
            safe_return_to("/profile?x=1#y", APP, &[]).as_deref(),
            Some("/profile?x=1#y")
        );
        assert!(safe_return_to("http://localhost:5000/x", APP, &[]).is_some());
        let allowed = vec!["https://docs.example.com".to_owned()];
        assert!(safe_return_to("https://docs.example.com/page", APP, &allowed).is_some());
        assert!(safe_return_to("https://docs.example.com.evil.example/", APP, &allowed).is_none());
    }
}
