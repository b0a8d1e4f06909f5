//! The HTML pages of auth0-server: one base layout, and a template environment that escapes
//! every value it prints. The axum integration's error pages, the dev tenant's pages and the
//! quickstart's pages all extend the same layout.
//!
//! ```
//! use auth0_pages::Pages;
//! use serde::Serialize;
//!
//! // A crate's own templates, usually `include_str!("../templates/hello.html")`.
//! static TEMPLATES: &[(&str, &str)] = &[(
//!     "hello.html",
//!     r#"{% extends "base.html" %}{% block content %}<h1>Hello, {{ name }}!</h1>{% endblock %}"#,
//! )];
//!
//! #[derive(Serialize)]
//! struct Hello<'a> {
//!     title: &'a str,
//!     name: &'a str,
//! }
//!
//! let pages = Pages::new(TEMPLATES);
//! let html = pages.render("hello.html", &Hello { title: "Hello", name: "<b>{{ name }}</b>" })?;
//! assert!(html.contains("<title>Hello</title>"));
//! assert!(html.contains("<h1>Hello, &lt;b&gt;{{ name }}&lt;&#x2f;b&gt;!</h1>"));
//! # Ok::<(), auth0_pages::PageError>(())
//! ```
//!
//! # The base layout
//!
//! [`BASE_LAYOUT`] (`base.html`) is the document: `<head>` with the charset, the viewport and
//! the title, the SDK's stylesheet inline, then `<main>` between a header and a footer. A
//! page extends it and fills these blocks:
//!
//! | block | default |
//! |---|---|
//! | `meta` | nothing (extra `<meta>` tags) |
//! | `title` | the context's `title` |
//! | `stylesheet` | the SDK's stylesheet in a `<style>` element (an app may link its own) |
//! | `header` | nothing (before `<main>`) |
//! | `content` | nothing (inside `<main>`) |
//! | `footer` | nothing (after `<main>`) |
//!
//! # Escaping
//!
//! Every value a template prints is HTML-escaped, whatever the template's name, and is
//! never read as template syntax: a user named `{{ action }}` is shown as typed. A value
//! that is missing from the context is an error ([`PageError::Render`]), not an empty
//! string, so a page never silently loses a part.
//!
//! Limits: escaping makes a value safe in text and in quoted attribute values. It does not
//! make a URL safe to follow: check where links point before giving them to a page.

use std::fmt;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

/// The name of the base layout, for `{% extends "base.html" %}`. It always means the
/// SDK's layout: a crate's own template by that name is never used.
pub const BASE_LAYOUT: &str = "base.html";

/// The SDK's templates, looked up before a crate's own.
const SDK_TEMPLATES: &[(&str, &str)] = &[(BASE_LAYOUT, include_str!("../templates/base.html"))];

/// The SDK's stylesheet, inlined by the base layout's `stylesheet` block as `sdk_stylesheet`.
pub const STYLESHEET: &str = include_str!("../templates/style.css");

/// A page could not be rendered: a bug in a template or in the values given to it, never
/// something a visitor sent. Log it and answer with a plain 500.
///
/// ```
/// use auth0_pages::{PageError, Pages};
///
/// let pages = Pages::new(&[]);
/// let error = pages.render("nowhere.html", &()).unwrap_err();
/// assert!(matches!(error, PageError::NotFound { name } if name == "nowhere.html"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// No template has this name, or none has the name it extends.
    #[error(
        "there is no page template named {name:?}, or none by the name it extends: give it to \
         Pages::new, or fix the name"
    )]
    NotFound {
        /// The template asked for.
        name: String,
    },
    /// The template has a syntax error, or uses a value the context does not have.
    #[error(
        "the page template {name:?} could not be rendered ({source}): fix the template, or \
         give it the values it uses"
    )]
    Render {
        /// The template asked for.
        name: String,
        /// What the template engine said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A set of page templates around the SDK's base layout, with HTML autoescaping.
///
/// Templates are compiled the first time they are rendered, then kept. Build one per crate
/// or app (in a `static` with [`std::sync::LazyLock`]) and render from any thread.
///
/// ```
/// use std::sync::LazyLock;
/// use auth0_pages::Pages;
///
/// static PAGES: LazyLock<Pages> = LazyLock::new(|| {
///     Pages::new(&[(
///         "bye.html",
///         r#"{% extends "base.html" %}{% block header %}<p>{{ app }}</p>{% endblock %}"#,
///     )])
///     .with_global("app", "My app")
/// });
///
/// #[derive(serde::Serialize)]
/// struct Bye { title: &'static str }
///
/// let html = PAGES.render("bye.html", &Bye { title: "Bye" })?;
/// assert!(html.contains("<p>My app</p>"));
/// # Ok::<(), auth0_pages::PageError>(())
/// ```
pub struct Pages {
    env: Environment<'static>,
    templates: &'static [(&'static str, &'static str)],
}

impl Pages {
    /// Pages from `templates` (name, source) and the SDK's base layout. Names are what
    /// [`Pages::render`] and `{% extends %}` use; every template is HTML whatever its name.
    ///
    /// ```
    /// let pages = auth0_pages::Pages::new(&[("empty.html", r#"{% extends "base.html" %}"#)]);
    /// # let _ = pages;
    /// ```
    #[must_use]
    pub fn new(templates: &'static [(&'static str, &'static str)]) -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_global(
            "sdk_stylesheet",
            Value::from_safe_string(STYLESHEET.to_owned()),
        );
        env.set_loader(move |name| {
            Ok(SDK_TEMPLATES
                .iter()
                .chain(templates)
                .find(|(n, _)| *n == name)
                .map(|(_, source)| (*source).to_owned()))
        });
        Self { env, templates }
    }

    /// The same pages with `name` = `value` in every page's context (a context's own value
    /// of that name wins). The value is text: it is escaped like any other.
    ///
    /// ```
    /// let pages = auth0_pages::Pages::new(&[]).with_global("banner", "Not Auth0");
    /// # let _ = pages;
    /// ```
    #[must_use]
    pub fn with_global(mut self, name: &'static str, value: &'static str) -> Self {
        self.env.add_global(name, value);
        self
    }

    /// The page `name` with the values of `context` (a struct or map whose fields the
    /// template uses), as an HTML document.
    ///
    /// # Errors
    ///
    /// [`PageError::NotFound`] when no template is called `name` (or one it extends), and
    /// [`PageError::Render`] when the template has a syntax error or uses a value `context`
    /// does not have.
    pub fn render<C: Serialize>(&self, name: &str, context: &C) -> Result<String, PageError> {
        let rendered = self
            .env
            .get_template(name)
            .and_then(|template| template.render(Value::from(Serde(context))));
        rendered.map_err(|e| match e.kind() {
            ErrorKind::TemplateNotFound => PageError::NotFound {
                name: name.to_owned(),
            },
            _ => PageError::Render {
                name: name.to_owned(),
                source: Box::new(e),
            },
        })
    }
}

impl fmt::Debug for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field(
                "templates",
                &self.templates.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
