use super::*;

/// What an attacker types as a name or e-mail address.
const HOSTILE: [&str; 5] = [
    "{{action}}",
    "{% raw %}",
    "{{ sdk_stylesheet }}",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=1>",
];

static TEMPLATES: &[(&str, &str)] = &[
    (
        "page.html",
        r#"{% extends "base.html" %}{% block content %}<p id="v" title="{{ value }}">{{ value }}</p>{% endblock %}"#,
    ),
    ("plain.txt", "{{ value }}"),
    ("broken.html", "{% if %}"),
    ("orphan.html", r#"{% extends "nowhere.html" %}"#),
    ("base.html", "a crate's own base.html is never used"),
];

#[derive(Serialize)]
struct Context<'a> {
    title: &'a str,
    value: &'a str,
}

fn pages() -> Pages {
    Pages::new(TEMPLATES)
}

#[test]
fn values_are_escaped_and_never_read_as_template_syntax() {
    for value in HOSTILE {
        let html = pages()
            .render(
                "page.html",
                &Context {
                    title: value,
                    value,
                },
            )
            .unwrap();
        let escaped = value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('/', "&#x2f;");
        assert!(
            html.contains(&format!(r#"<p id="v" title="{escaped}">{escaped}</p>"#)),
            "{value}: {html}"
        );
        assert!(
            html.contains(&format!("<title>{escaped}</title>")),
            "{html}"
        );
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
    }
}

#[test]
fn a_template_named_otherwise_is_escaped_too() {
    let text = pages()
        .render(
            "plain.txt",
            &Context {
                title: "",
                value: "<b>",
            },
        )
        .unwrap();
    assert_eq!(text, "&lt;b&gt;");
}

#[test]
fn the_base_layout_has_the_title_and_the_stylesheet() {
    let html = pages()
        .render(
            "page.html",
            &Context {
                title: "Hi",
                value: "",
            },
        )
        .unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("<title>Hi</title>"), "{html}");
    assert!(
        html.contains(&format!("<style>{STYLESHEET}</style>")),
        "{html}"
    );
    assert!(
        !html.contains("never used"),
        "the SDK's base layout wins: {html}"
    );
}

#[test]
fn a_missing_value_is_an_error_not_an_empty_string() {
    #[derive(Serialize)]
    struct NoValue {
        title: &'static str,
    }
    let error = pages()
        .render("page.html", &NoValue { title: "t" })
        .unwrap_err();
    assert!(
        matches!(&error, PageError::Render { name, .. } if name == "page.html"),
        "{error}"
    );
}

#[test]
fn an_unknown_template_is_not_found() {
    for name in ["nowhere.html", "orphan.html"] {
        let error = pages().render(name, &()).unwrap_err();
        assert!(
            matches!(&error, PageError::NotFound { name: n } if n == name),
            "{name}: {error}"
        );
    }
}

#[test]
fn a_syntax_error_is_an_error_not_a_panic() {
    let error = pages().render("broken.html", &()).unwrap_err();
    assert!(matches!(error, PageError::Render { .. }), "{error}");
    assert!(error.to_string().contains("fix the template"), "{error}");
}

#[test]
fn a_global_is_escaped_and_a_context_value_wins_over_it() {
    static GLOBAL: &[(&str, &str)] = &[("g.html", "{{ banner }}|{{ value }}")];
    let pages = Pages::new(GLOBAL)
        .with_global("banner", "<i>")
        .with_global("value", "global");
    let text = pages
        .render(
            "g.html",
            &Context {
                title: "",
                value: "mine",
            },
        )
        .unwrap();
    assert_eq!(text, "&lt;i&gt;|mine");
}
