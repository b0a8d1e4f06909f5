//! A session written by the cookie store in the Python layout opens with auth0-server-python's
//! own `decrypt` once its chunks are joined, so a Python service behind the same domain can
//! read it. Runs with the Python named by `AUTH0_PYTHON_SDK` (`./scripts/test` sets it); skips
//! loudly without it, and fails when `CI` is set.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use auth0_store_conformance::BrowserJar;
use auth0_store_cookie::CookieStateStore;
use auth0_store_core::Secrets;
use auth0_store_core::clock::{Clock, ManualClock};
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::seal::CookieFormat;
use auth0_store_core::store::{CookieOptions, StateStore};
use serde_json::{Value, json};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

fn python() -> Option<String> {
    match std::env::var("AUTH0_PYTHON_SDK") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var_os("CI").is_some() => {
            panic!("AUTH0_PYTHON_SDK is not set and CI is: run ./scripts/test")
        }
        _ => {
            let _ = std::io::stderr().write_all(
                b"\n!! SKIPPED: cookie interoperability with auth0-server-python is NOT tested \
                  (AUTH0_PYTHON_SDK is not set; run ./scripts/test)\n\n",
            );
            None
        }
    }
}

fn python_decrypt(python: &str, token: &str, salt: &str) -> Result<Value, String> {
    let helper = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../auth0-server-core/tests/python/sdk.py"
    );
    let mut child = Command::new(python)
        .args(["-I", "-X", "utf8", helper, "decrypt"])
        .env("AUTH0_TEST_SECRET", SECRET)
        .env("AUTH0_TEST_SALT", salt)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the Python helper");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    match out.status.code() {
        Some(0) => Ok(serde_json::from_slice(&out.stdout).unwrap()),
        Some(3) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
        _ => panic!(
            "the Python helper failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn joined(jar: &BrowserJar, prefix: &str) -> String {
    let mut chunks: Vec<(usize, String)> = jar
        .names()
        .into_iter()
        .filter_map(|n| {
            let i = n.strip_prefix(prefix)?.parse().ok()?;
            Some((i, jar.get(&n)?))
        })
        .collect();
    chunks.sort();
    chunks.into_iter().map(|(_, v)| v).collect()
}

#[tokio::test]
async fn a_chunked_python_layout_session_opens_in_python() {
    let Some(python) = python() else { return };
    let clock = ManualClock::starting_now();
    // The Python SDK's plain cookie names (`_a0_session.0`, …), as an app sharing sessions
    // with a Python service sets them.
    let store = CookieStateStore::new(Secrets::parse(SECRET).unwrap())
        .with_format(CookieFormat::Python)
        .with_cookie_options(CookieOptions {
            host_prefix: false,
            ..CookieOptions::default()
        })
        .with_clock(Arc::new(clock.clone()));
    let mut state = StateData {
        user: Some(UserClaims {
            sub: "auth0|py".into(),
            name: Some("Zoë 😀".into()),
            ..UserClaims::default()
        }),
        refresh_token: Some("v1.rt".into()),
        domain: Some("tenant.auth0.com".into()),
        ..StateData::default()
    };
    state.internal.sid = "sid".into();
    state.internal.created_at = clock.unix_seconds();
    state.extra.insert("big".into(), json!("b".repeat(5000)));
    let jar = BrowserJar::new(Arc::new(clock.clone()));
    let cx = jar.context();
    store.set("_a0_session", &state, true, &cx).await.unwrap();
    jar.apply(&cx);
    assert!(
        jar.get("_a0_session.1").is_some(),
        "the session spans several chunks"
    );

    let token = joined(&jar, "_a0_session.");
    let read = python_decrypt(&python, &token, "_a0_session").expect("Python opens it");
    assert_eq!(read, serde_json::to_value(&state).unwrap());
    assert!(
        python_decrypt(&python, &token, "_a0_tx").is_err(),
        "another salt is refused"
    );
}
