//! The `auth0-server` binary, run as a user would run it.

use std::io::Write as _;
use std::process::{Command, Stdio};

const SECRET: &str = "test-secret-that-is-at-least-32-chars-long";
const OLD_SECRET: &str = "an-older-secret-that-is-also-32-bytes-long";
/// The Python-layout token of `{"hello": "world"}` from the design (§4), for `SECRET` and
/// `_a0_session`.
const PYTHON_TOKEN: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0..AAAAAAAAAAAAAAAAAAAAAA.yFx2-QeFViSDuEwBIcyNq9zfGC8RUwLNfdFMohKPYfc.CbIVdyRd8DDmlMqrpJ1_hMR-kWymvZykYGZ71vVdGB0";
/// The rotating-layout token of `{"hello":"world","exp":4102444800}` from the design (§4), for
/// `SECRET` and `__a0_session`.
const ROTATING_TOKEN: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwIn0..AAAAAAAAAAAAAAAAAAAAAA.r7ZIh8HJGMQcm6Y3_Qol7Fdey5GFBX63XieR-W6ZjGoaqhbONABJUbxz_FAgma8Q.EKkVtBuNfZs4OwJBtP5iihJpRnMzbAlY9zpHhrJ2jOE";

/// What a run of the binary printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `auth0-server` with `args`, `stdin` piped in (or an empty stdin), and `AUTH0_SECRET`
/// set to `env_secret` (or removed, so the caller's environment never leaks in).
fn auth0_server(args: &[&str], stdin: Option<&str>, env_secret: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth0-server"));
    command
        .args(args)
        .env_remove("AUTH0_SECRET")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(secret) = env_secret {
        command.env("AUTH0_SECRET", secret);
    }
    let mut child = command.spawn().expect("the binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes()).expect("stdin is written");
    }
    let output = child.wait_with_output().expect("the binary finishes");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Asserts a run succeeded and returns its stdout.
fn success(run: Run) -> (String, String) {
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    (run.stdout, run.stderr)
}

/// Asserts a run failed as the CLI promises: status 1, nothing on stdout, one `error: ` line
/// on stderr that contains `says`.
fn failure(run: Run, says: &str) {
    assert_eq!(
        run.code,
        Some(1),
        "stdout: {}, stderr: {}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.stdout, "", "nothing on stdout");
    let line = run
        .stderr
        .strip_suffix('\n')
        .expect("stderr ends with a newline");
    assert!(!line.contains('\n'), "one line on stderr: {:?}", run.stderr);
    assert!(line.starts_with("error: "), "{line}");
    assert!(line.contains(says), "{line:?} should contain {says:?}");
    assert!(!line.contains("panicked"), "{line}");
}

fn encode(format: &str, json: &str) -> String {
    let (stdout, _) = success(auth0_server(
        &[
            "session", "encode", "--secret", SECRET, "--format", format, json,
        ],
        None,
        None,
    ));
    stdout.trim().to_owned()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn secret_prints_128_lowercase_hex_chars_and_differs_each_time() {
    let (first, _) = success(auth0_server(&["secret"], None, None));
    let (second, _) = success(auth0_server(&["secret"], None, None));
    for out in [&first, &second] {
        let hex = out.strip_suffix('\n').expect("ends with a newline");
        assert_eq!(hex.len(), 128);
        assert!(
            hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "{hex}"
        );
    }
    assert_ne!(first, second);
}

#[test]
fn encode_then_decode_round_trips_in_both_formats_via_arguments() {
    let value = r#"{"user":{"sub":"auth0|123","name":"Ada"},"id_token":"x","n":[1,2.5,null]}"#;
    for format in ["python", "rotating"] {
        let token = encode(format, value);
        let (stdout, stderr) = success(auth0_server(
            &["session", "decode", "--secret", SECRET, &token],
            None,
            None,
        ));
        assert_eq!(json(&stdout), json(value), "{format}");
        assert!(stdout.contains("\n  \"user\""), "pretty-printed: {stdout}");
        assert!(stderr.starts_with(&format!("layout: {format}")), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn encode_then_decode_round_trips_in_both_formats_via_stdin() {
    let value = r#"{"hello":"world"}"#;
    for format in ["python", "rotating"] {
        let (token, _) = success(auth0_server(
            &[
                "session",
                "encode",
                "--format",
                format,
                "--identifier",
                "_a0_tx",
            ],
            Some(&format!("  {value}\n")),
            Some(SECRET),
        ));
        let (stdout, _) = success(auth0_server(
            &["session", "decode", "--identifier", "_a0_tx"],
            Some(&token),
            Some(SECRET),
        ));
        assert_eq!(json(&stdout), json(value), "{format}");
    }
}

#[test]
fn python_format_seals_any_json_value() {
    let token = encode("python", "[1,\"two\"]");
    let (stdout, _) = success(auth0_server(
        &["session", "decode", "--secret", SECRET, &token],
        None,
        None,
    ));
    assert_eq!(json(&stdout), json("[1,\"two\"]"));
}

#[test]
fn rotating_decode_reports_the_expiry() {
    let (token, _) = success(auth0_server(
        &[
            "session",
            "encode",
            "--secret",
            SECRET,
            "--expires-at",
            "4102444800",
            "{}",
        ],
        None,
        None,
    ));
    let (_, stderr) = success(auth0_server(
        &["session", "decode", "--secret", SECRET, token.trim()],
        None,
        None,
    ));
    assert_eq!(
        stderr,
        "layout: rotating, expires 2100-01-01T00:00:00Z (exp 4102444800)\n"
    );
}

#[test]
fn decode_tries_each_secret_in_the_list_and_says_which_opened() {
    let (token, _) = success(auth0_server(
        &["session", "encode", "--secret", OLD_SECRET, r#"{"a":1}"#],
        None,
        None,
    ));
    let list = format!("{SECRET}, {OLD_SECRET}");
    let (stdout, stderr) = success(auth0_server(
        &["session", "decode", "--secret", &list, token.trim()],
        None,
        None,
    ));
    assert_eq!(json(&stdout), json(r#"{"a":1}"#));
    assert!(stderr.contains("secret 2 of 2"), "{stderr}");

    // The same through AUTH0_SECRET.
    let (stdout, _) = success(auth0_server(
        &["session", "decode", token.trim()],
        None,
        Some(&list),
    ));
    assert_eq!(json(&stdout), json(r#"{"a":1}"#));
}

#[test]
fn known_python_token_decodes_to_hello_world() {
    let (stdout, stderr) = success(auth0_server(
        &[
            "session",
            "decode",
            "--secret",
            SECRET,
            "--identifier",
            "_a0_session",
            PYTHON_TOKEN,
        ],
        None,
        None,
    ));
    assert_eq!(json(&stdout), json(r#"{"hello":"world"}"#));
    assert_eq!(stdout, "{\n  \"hello\": \"world\"\n}\n");
    assert_eq!(stderr, "layout: python (no expiry inside the token)\n");
    // The identifier defaults to `_a0_session`.
    let (stdout, _) = success(auth0_server(
        &["session", "decode", "--secret", SECRET, PYTHON_TOKEN],
        None,
        None,
    ));
    assert_eq!(json(&stdout), json(r#"{"hello":"world"}"#));
}

#[test]
fn known_rotating_token_decodes_to_hello_world() {
    let (stdout, stderr) = success(auth0_server(
        &[
            "session",
            "decode",
            "--secret",
            SECRET,
            "--identifier",
            "__a0_session",
            ROTATING_TOKEN,
        ],
        None,
        None,
    ));
    assert_eq!(json(&stdout), json(r#"{"hello":"world"}"#));
    assert!(stderr.contains("exp 4102444800"), "{stderr}");
}

#[test]
fn wrong_secret_is_refused() {
    failure(
        auth0_server(
            &["session", "decode", "--secret", OLD_SECRET, PYTHON_TOKEN],
            None,
            None,
        ),
        "the secret or the identifier (cookie name) is wrong",
    );
}

#[test]
fn wrong_identifier_is_refused() {
    failure(
        auth0_server(
            &[
                "session",
                "decode",
                "--secret",
                SECRET,
                "--identifier",
                "_a0_tx",
                PYTHON_TOKEN,
            ],
            None,
            None,
        ),
        "the secret or the identifier (cookie name) is wrong",
    );
}

#[test]
fn tampered_token_is_refused() {
    for format in ["python", "rotating"] {
        let token = encode(format, r#"{"admin":false}"#);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let ciphertext = &mut parts[3];
        let flipped = if ciphertext.as_bytes()[5] == b'A' {
            "B"
        } else {
            "A"
        };
        ciphertext.replace_range(5..6, flipped);
        let tampered = parts.join(".");
        failure(
            auth0_server(
                &["session", "decode", "--secret", SECRET, &tampered],
                None,
                None,
            ),
            "or the token was altered",
        );
    }
}

#[test]
fn truncated_token_is_not_a_token() {
    let token = encode("rotating", "{}");
    let truncated = &token[..token.len() - 10];
    failure(
        auth0_server(
            &["session", "decode", "--secret", SECRET, truncated],
            None,
            None,
        ),
        "not a sealed token",
    );
}

#[test]
fn expired_token_is_refused_with_its_date() {
    let (token, _) = success(auth0_server(
        &[
            "session",
            "encode",
            "--secret",
            SECRET,
            "--expires-at",
            "1000000000",
            "{}",
        ],
        None,
        None,
    ));
    failure(
        auth0_server(
            &["session", "decode", "--secret", SECRET],
            Some(&token),
            None,
        ),
        "expired at 2001-09-09T01:46:40Z",
    );
}

#[test]
fn garbage_is_not_a_token() {
    failure(
        auth0_server(
            &["session", "decode", "--secret", SECRET],
            Some("this is not a cookie\n"),
            None,
        ),
        "not a sealed token",
    );
}

#[test]
fn missing_secret_is_refused() {
    failure(
        auth0_server(&["session", "decode", PYTHON_TOKEN], None, None),
        "no secret was given",
    );
    failure(
        auth0_server(&["session", "encode", "{}"], None, None),
        "no secret was given",
    );
}

#[test]
fn too_short_secret_is_refused_without_echoing_it() {
    let run = auth0_server(
        &["session", "encode", "--secret", "hunter2", "{}"],
        None,
        None,
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    failure(run, "at least 32 are needed");
    failure(
        auth0_server(&["session", "decode", PYTHON_TOKEN], None, Some("short")),
        "at least 32 are needed",
    );
}

#[test]
fn invalid_json_is_refused() {
    failure(
        auth0_server(
            &["session", "encode", "--secret", SECRET],
            Some("{\"a\": \n"),
            None,
        ),
        "not valid JSON",
    );
}

#[test]
fn rotating_layout_refuses_json_that_is_not_an_object() {
    failure(
        auth0_server(
            &["session", "encode", "--secret", SECRET, "[1]"],
            None,
            None,
        ),
        "only a JSON object",
    );
}

#[test]
fn missing_token_is_reported_instead_of_waited_for() {
    failure(
        auth0_server(&["session", "decode", "--secret", SECRET], None, None),
        "no token was given",
    );
}

#[test]
fn conflicting_expiry_flags_are_a_usage_error() {
    let run = auth0_server(
        &[
            "session",
            "encode",
            "--secret",
            SECRET,
            "--expires-in",
            "60",
            "--expires-at",
            "1",
            "{}",
        ],
        None,
        None,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn dev_tenant_serves_discovery_and_prints_the_settings_to_use() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_auth0-server"))
        .args(["dev-tenant", "--port", "0", "--client-id", "cli-test"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let issuer = first
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{first}");
    let printed: Vec<String> = lines.by_ref().take(4).map(|l| l.unwrap()).collect();
    assert!(
        printed.iter().any(|l| l == "AUTH0_CLIENT_ID=cli-test"),
        "{printed:?}"
    );

    let address = issuer.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("\"authorization_endpoint\""),
        "{response}"
    );
}

/// A test-only EC P-256 public key (its private key was thrown away).
const TEST_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC5nazTbh4izt5yOnotBJrtbNqeRH
jcP7MigWbO4FLInpc/ig9+DvsXBorC9uFSBvFspnblsJzJ+QY1iiRz1wng==
-----END PUBLIC KEY-----
";

#[test]
fn dev_tenant_with_a_client_public_key_prints_the_signing_key_variable_not_a_secret() {
    use std::io::{BufRead as _, BufReader};
    let path = std::env::temp_dir().join(format!("cli-pkjwt-{}.pem", std::process::id()));
    std::fs::write(&path, TEST_PUBLIC_KEY).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_auth0-server"))
        .args(["dev-tenant", "--port", "0", "--client-public-key"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    let printed: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(5)
        .map(|l| l.unwrap())
        .collect();
    child.kill().unwrap();
    let _ = child.wait();
    std::fs::remove_file(&path).unwrap();
    assert!(
        printed
            .iter()
            .any(|l| l.starts_with("AUTH0_CLIENT_ASSERTION_SIGNING_KEY=")),
        "{printed:?}"
    );
    assert!(
        !printed
            .iter()
            .any(|l| l.starts_with("AUTH0_CLIENT_SECRET=")),
        "{printed:?}"
    );

    let run = auth0_server(
        &[
            "dev-tenant",
            "--port",
            "0",
            "--client-public-key",
            "/nonexistent/key.pem",
        ],
        None,
        None,
    );
    failure(run, "client public key");
}
