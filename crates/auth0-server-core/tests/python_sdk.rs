//! Interoperability with the real `auth0-server-python` SDK: cookies it writes open here,
//! cookies written here in [`CookieFormat::Python`] open there, and it refuses what it must.
//!
//! The tests run `tests/python/sdk.py` (which calls the SDK's own
//! `auth0_server_python.encryption.encrypt` / `decrypt`) with the Python named by the
//! environment variable `AUTH0_PYTHON_SDK`. `scripts/python-sdk.sh` makes such a Python in
//! `target/python-sdk-venv`, and `./scripts/test` sets the variable. When it is unset the
//! tests skip with a loud message, or fail when `CI` is set.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;

use auth0_server_core::Secrets;
use auth0_server_core::model::StateData;
use auth0_server_core::seal::{CookieFormat, CookieSealer, OpenError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

/// The secret both SDKs are given (the one of the known answers in the design).
const SECRET: &str = "test-secret-that-is-at-least-32-chars-long";
/// Another secret, for rotation.
const OTHER_SECRET: &str = "another-secret-that-is-at-least-32-chars-long";
/// The session cookie's identifier, which both SDKs use as the HKDF salt.
const SESSION: &str = "_a0_session";
/// The transaction cookie's identifier.
const TRANSACTION: &str = "_a0_tx";
/// The `exp` passed to `seal`; the Python layout has no place for it.
const EXPIRES_AT: u64 = 4_102_444_800;
/// The design's known-answer token of `{"hello": "world"}` (Python layout, zero IV).
const KNOWN_ANSWER_TOKEN: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0..AAAAAAAAAAAAAAAAAAAAAA.yFx2-QeFViSDuEwBIcyNq9zfGC8RUwLNfdFMohKPYfc.CbIVdyRd8DDmlMqrpJ1_hMR-kWymvZykYGZ71vVdGB0";
/// Exit status of `sdk.py` when the SDK's `decrypt` raised.
const REFUSED: i32 = 3;

/// The Python that has `auth0_server_python`, and how to call the helper with it.
struct PythonSdk {
    python: PathBuf,
}

impl PythonSdk {
    /// The Python named by `AUTH0_PYTHON_SDK`; `None` (after a loud message) when it is unset
    /// outside CI.
    fn find() -> Option<Self> {
        match std::env::var_os("AUTH0_PYTHON_SDK") {
            Some(python) if !python.is_empty() => Some(Self {
                python: PathBuf::from(python),
            }),
            _ if std::env::var_os("CI").is_some() => panic!(
                "AUTH0_PYTHON_SDK is not set, and CI is, so the interoperability tests with \
                 auth0-server-python cannot be skipped: run ./scripts/test, or set \
                 AUTH0_PYTHON_SDK=\"$(scripts/python-sdk.sh | tail -n 1)\""
            ),
            _ => {
                // Once per run, and straight to stderr: the test harness captures `eprintln!`
                // of passing tests, which would make the skip silent.
                static SKIP_NOTICE: Once = Once::new();
                SKIP_NOTICE.call_once(|| {
                    let _ = std::io::stderr().write_all(
                        b"\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                          !! SKIPPED: interoperability with auth0-server-python is NOT tested.\n\
                          !! AUTH0_PYTHON_SDK is not set. Run ./scripts/test, or\n\
                          !!   export AUTH0_PYTHON_SDK=\"$(scripts/python-sdk.sh | tail -n 1)\"\n\
                          !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
                    );
                });
                None
            }
        }
    }

    /// Runs `sdk.py <command>` with the secret and salt in the environment and `input` on stdin.
    fn run(&self, command: &str, secret: &str, salt: &str, input: &str) -> Output {
        let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sdk.py");
        let mut child = Command::new(&self.python)
            // Isolated (no user site-packages, no PYTHON* variables) and UTF-8 whatever the locale.
            .args(["-I", "-X", "utf8"])
            .arg(&helper)
            .arg(command)
            .env("AUTH0_TEST_SECRET", secret)
            .env("AUTH0_TEST_SALT", salt)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not run {} (AUTH0_PYTHON_SDK): {e}; it must name a Python with \
                     auth0-server-python installed, which scripts/python-sdk.sh makes",
                    self.python.display()
                )
            });
        // The helper reads all of stdin before it writes anything, so this cannot deadlock.
        child
            .stdin
            .take()
            .expect("the helper's stdin is piped")
            .write_all(input.as_bytes())
            .expect("writing to the helper's stdin");
        child.wait_with_output().expect("waiting for the helper")
    }

    /// The SDK's pydantic `StateData.model_validate(json).model_dump(mode="json")`.
    fn model_round_trip(&self, state: &Value) -> Value {
        let output = self.run("model", SECRET, SESSION, &state.to_string());
        assert!(
            output.status.success(),
            "the Python SDK's StateData model refused JSON written here ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("model_dump is JSON")
    }

    /// `auth0_server_python.encryption.encrypt(payload, secret, salt)`.
    fn encrypt(&self, payload: &Value, secret: &str, salt: &str) -> String {
        let output = self.run("encrypt", secret, salt, &payload.to_string());
        assert!(
            output.status.success(),
            "the Python SDK's encrypt failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("a token is ASCII")
            .trim()
            .to_owned()
    }

    /// `auth0_server_python.encryption.decrypt(token, secret, salt)`: `Ok` with the payload,
    /// `Err` with the exception when the SDK refused the token. Panics when the helper itself
    /// failed, so that a broken Python never passes for a refusal.
    fn decrypt(&self, token: &str, secret: &str, salt: &str) -> Result<Value, String> {
        let output = self.run("decrypt", secret, salt, token);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        match output.status.code() {
            Some(0) => Ok(serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
                panic!("the Python SDK's decrypt printed something that is not JSON: {e}")
            })),
            Some(REFUSED) => Err(stderr),
            _ => panic!(
                "the Python helper failed ({}), which is not a refusal: {stderr}",
                output.status
            ),
        }
    }
}

/// A sealer holding `secrets` (newest first) and writing `format`.
fn sealer(secrets: &str, format: CookieFormat) -> CookieSealer {
    CookieSealer::new(Secrets::parse(secrets).expect("the test secrets are long enough"))
        .with_format(format)
}

/// A session as auth0-server-python's `StateData.model_dump()` gives it, with non-ASCII text
/// (accents, CJK, right-to-left, an emoji outside the BMP), characters JSON must escape,
/// nested custom claims, and long tokens.
fn realistic_session() -> Value {
    let id_token_claims = json!({
        "iss": "https://tenant.eu.auth0.com/",
        "sub": "auth0|64f1c0ffee0ddba11ad5eed5",
        "aud": "Xk3qD7fWcPz0Lr9sVn2mTbY6hJ1gE4uA",
        "iat": 1_700_000_000,
        "exp": 1_700_036_000,
        "sid": "Qm9iLXNlc3Npb24taWQtZm9yLXRlc3Rz",
        "nonce": "n-0S6_WzA2Mj",
        "name": "Zoë Ångström-Łukasiewicz 🦀",
    });
    let id_token = format!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InRlc3Qta2V5In0.{}.{}",
        B64.encode(id_token_claims.to_string()),
        B64.encode([0xA5_u8; 256])
    );
    let access_token = |audience: &str| {
        format!(
            "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.{}.{}",
            B64.encode(json!({ "aud": audience, "scope": "read:all write:all" }).to_string())
                .repeat(8),
            B64.encode([0x5A_u8; 256])
        )
    };
    json!({
        "user": {
            "sub": "auth0|64f1c0ffee0ddba11ad5eed5",
            "name": "Zoë Ångström-Łukasiewicz 🦀",
            "nickname": "山田太郎",
            "given_name": "مرحبا",
            "family_name": "Ångström",
            "picture": "https://s.gravatar.com/avatar/0f1e2d3c?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fza.png",
            "email": "zoë@exämple.com",
            "email_verified": true,
            "org_id": null,
            "org_name": null,
            "session_expiry": null,
            "https://example.com/app_metadata": {
                "plan": "pro",
                "roles": ["admin", "editor"],
                "limits": { "seats": 25, "sso": true, "renews": null, "quota": u64::MAX },
                "balance": -42,
            },
            "https://example.com/notes": "quote \" backslash \\ slash / newline \n tab \t nul \u{0} </script>",
            "ñandú": ["🦀", "\u{1F600}", "ß", "\u{FEFF}"],
        },
        "id_token": id_token,
        "refresh_token": format!("v1.{}", "MjcyNjM4ZmQtN2ZhYS00ZDhh".repeat(12)),
        "token_sets": [
            {
                "audience": "https://api.example.com/",
                "access_token": access_token("https://api.example.com/"),
                "scope": "openid profile email offline_access read:all",
                "expires_at": 1_700_086_400,
            },
            {
                "audience": "https://billing.example.com/",
                "access_token": access_token("https://billing.example.com/"),
                "scope": null,
                "expires_at": 1_700_003_600,
            },
        ],
        "connection_token_sets": [],
        "domain": "tenant.eu.auth0.com",
        "internal": {
            "sid": "Qm9iLXNlc3Npb24taWQtZm9yLXRlc3Rz",
            "created_at": 1_700_000_000,
            "session_expires_at": null,
        },
    })
}

/// `token` with one bit flipped in the byte at `index` of its dot-separated part `part`.
fn flip_bit(token: &str, part: usize, index: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut bytes = B64
        .decode(&parts[part])
        .expect("the token's parts are base64url");
    bytes[index] ^= 0x01;
    parts[part] = B64.encode(bytes);
    parts.join(".")
}

#[test]
fn token_written_by_python_opens_here_whatever_format_is_configured_for_writing() {
    let Some(sdk) = PythonSdk::find() else { return };
    let session = realistic_session();
    let token = sdk.encrypt(&session, SECRET, SESSION);

    for format in [CookieFormat::Python, CookieFormat::Rotating] {
        let opened = sealer(SECRET, format)
            .open_detailed::<Value>(SESSION, &token)
            .unwrap_or_else(|e| panic!("a sealer writing {format:?} could not open it: {e}"));
        assert_eq!(opened.value, session, "written with {format:?}");
        assert_eq!(opened.format, CookieFormat::Python);
        assert_eq!(opened.expires_at, None);
        assert_eq!(opened.secret_index, 0);
    }
}

#[test]
fn session_written_by_python_opens_as_the_typed_state_data() {
    let Some(sdk) = PythonSdk::find() else { return };
    let session = realistic_session();
    let token = sdk.encrypt(&session, SECRET, SESSION);

    let state: StateData = sealer(SECRET, CookieFormat::Rotating)
        .open(SESSION, &token)
        .unwrap_or_else(|e| panic!("the Python SDK's session did not open as StateData: {e}"));
    let user = state.user.as_ref().expect("the session has a user");
    assert_eq!(user.sub, session["user"]["sub"]);
    assert_eq!(user.name.as_deref(), session["user"]["name"].as_str());
    assert_eq!(state.id_token.as_deref(), session["id_token"].as_str());
    assert_eq!(
        state.refresh_token.as_deref(),
        session["refresh_token"].as_str()
    );
    assert_eq!(state.token_sets.len(), 2);
    assert_eq!(
        state.token_sets[0].access_token,
        session["token_sets"][0]["access_token"]
    );
    assert_eq!(state.internal.sid, session["internal"]["sid"]);
    assert_eq!(state.internal.created_at, 1_700_000_000);
}

#[test]
fn token_written_by_python_with_an_older_secret_opens_after_rotation() {
    let Some(sdk) = PythonSdk::find() else { return };
    let session = realistic_session();
    let token = sdk.encrypt(&session, SECRET, SESSION);

    let rotated = sealer(&format!("{OTHER_SECRET},{SECRET}"), CookieFormat::Python);
    let opened = rotated
        .open_detailed::<Value>(SESSION, &token)
        .unwrap_or_else(|e| panic!("the older secret did not open it: {e}"));
    assert_eq!(opened.value, session);
    assert_eq!(opened.secret_index, 1);
}

#[test]
fn token_sealed_here_in_python_format_opens_in_python_with_equal_json() {
    let Some(sdk) = PythonSdk::find() else { return };
    let session = realistic_session();
    let token = sealer(SECRET, CookieFormat::Python)
        .seal(SESSION, &session, EXPIRES_AT)
        .expect("sealing a JSON object");

    let decrypted = sdk
        .decrypt(&token, SECRET, SESSION)
        .unwrap_or_else(|e| panic!("the Python SDK refused our token: {e}"));
    assert_eq!(decrypted, session);
}

#[test]
fn design_known_answer_token_opens_in_python() {
    let Some(sdk) = PythonSdk::find() else { return };
    let decrypted = sdk
        .decrypt(KNOWN_ANSWER_TOKEN, SECRET, SESSION)
        .unwrap_or_else(|e| panic!("the Python SDK refused the design's known answer: {e}"));
    assert_eq!(decrypted, json!({ "hello": "world" }));
}

#[test]
fn python_refuses_a_token_sealed_here_for_another_identifier() {
    let Some(sdk) = PythonSdk::find() else { return };
    let session = realistic_session();
    let token = sealer(SECRET, CookieFormat::Python)
        .seal(TRANSACTION, &session, EXPIRES_AT)
        .expect("sealing a JSON object");
    // Control: under its own identifier it opens, so the refusal below is about the salt.
    assert_eq!(sdk.decrypt(&token, SECRET, TRANSACTION), Ok(session));

    let refused = sdk.decrypt(&token, SECRET, SESSION);
    assert!(
        refused.is_err(),
        "the Python SDK opened a {TRANSACTION} token as {SESSION}: {refused:?}"
    );
    // And so does this crate.
    assert!(matches!(
        sealer(SECRET, CookieFormat::Python).open::<Value>(SESSION, &token),
        Err(OpenError::Undecryptable)
    ));
}

#[test]
fn python_refuses_a_token_sealed_here_with_another_secret() {
    let Some(sdk) = PythonSdk::find() else { return };
    let token = sealer(OTHER_SECRET, CookieFormat::Python)
        .seal(SESSION, &realistic_session(), EXPIRES_AT)
        .expect("sealing a JSON object");

    let refused = sdk.decrypt(&token, SECRET, SESSION);
    assert!(
        refused.is_err(),
        "the Python SDK opened a token sealed with another secret: {refused:?}"
    );
}

#[test]
fn python_refuses_a_tampered_token_sealed_here() {
    let Some(sdk) = PythonSdk::find() else { return };
    let session = realistic_session();
    let sealer = sealer(SECRET, CookieFormat::Python);
    let token = sealer
        .seal(SESSION, &session, EXPIRES_AT)
        .expect("sealing a JSON object");
    // Control: untouched, it opens.
    assert_eq!(sdk.decrypt(&token, SECRET, SESSION), Ok(session));

    let ciphertext_len = B64
        .decode(token.split('.').nth(3).expect("five parts"))
        .expect("the ciphertext is base64url")
        .len();
    let (_, after_header) = token.split_once('.').expect("five parts");
    let reordered_header = B64.encode(r#"{"enc":"A256CBC-HS512","alg":"dir"}"#);
    let tampered = [
        (
            "the header reordered (still valid, but it is the AAD)",
            format!("{reordered_header}.{after_header}"),
        ),
        ("a bit of the IV", flip_bit(&token, 2, 0)),
        (
            "a bit of the first ciphertext block",
            flip_bit(&token, 3, 0),
        ),
        (
            "a bit of the last ciphertext block (the padding)",
            flip_bit(&token, 3, ciphertext_len - 1),
        ),
        ("a bit of the tag", flip_bit(&token, 4, 31)),
        ("the tag cut short", token[..token.len() - 4].to_owned()),
    ];
    for (what, bad) in tampered {
        let refused = sdk.decrypt(&bad, SECRET, SESSION);
        assert!(
            refused.is_err(),
            "the Python SDK opened a token with {what} changed: {refused:?}"
        );
        assert!(
            sealer.open::<Value>(SESSION, &bad).is_err(),
            "this crate opened a token with {what} changed"
        );
    }
}

#[test]
fn state_written_here_is_valid_for_pythons_model_and_its_dump_reads_back_equal() {
    let Some(sdk) = PythonSdk::find() else { return };
    let mut state: StateData =
        serde_json::from_value(realistic_session()).expect("the realistic session reads");
    // Unknown fields where the Python models allow them (the session and the user).
    state.extra.insert(
        "future_field".to_owned(),
        json!({"nested": [1, "two", null]}),
    );
    if let Some(user) = state.user.as_mut() {
        user.extra
            .insert("https://example.com/roles".to_owned(), json!(["admin"]));
    }
    state.internal.sid = "sid-rust".to_owned();
    state.internal.created_at = 1_764_396_400;

    let ours = serde_json::to_value(&state).expect("StateData serializes");
    let dumped = sdk.model_round_trip(&ours);
    let back: StateData = serde_json::from_value(dumped.clone())
        .unwrap_or_else(|e| panic!("Python's model_dump does not read here: {e}: {dumped}"));
    assert_eq!(
        back, state,
        "a session went through Python's model and changed"
    );
}
