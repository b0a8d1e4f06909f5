//! The quickstart process refuses a client assertion signing key it cannot read without
//! printing the value: a base64-encoded PEM, or a PEM in quotes that do not match, is taken
//! for a path, and the startup error must not echo it (it is the private key).

use std::process::{Command, Stdio};

/// The body lines of a PEM-shaped value (not a real key: only its text is checked).
const BODY: [&str; 2] = [
    "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAnotARealKeyButShaped",
    "Ao9rUu7tXhSecretBodyLineTwoForTheLeakCheckOnly0123456789abcdefABCDE",
];
/// The PEM above, base64-encoded (as a secret store may hand it over).
const BASE64_PEM: &str = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUJWUUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVNDQVQ4d2dnRTdBZ0VBQWtFQW5vdEFSZWFsS2V5QnV0U2hhcGVkCkFvOXJVdTd0WGhTZWNyZXRCb2R5TGluZVR3b0ZvclRoZUxlYWtDaGVja09ubHkwMTIzNDU2Nzg5YWJjZGVmQUJDREUKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo=";

/// Runs the quickstart with `key` as `AUTH0_CLIENT_ASSERTION_SIGNING_KEY` (and no secret):
/// whether it exited with success, and what it printed.
fn start_with_key(key: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("quickstart-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(&dir) // no .env of the developer's
        .env_clear()
        .env("AUTH0_DOMAIN", "tenant.example.com")
        .env("AUTH0_CLIENT_ID", "client-id")
        .env("AUTH0_SECRET", "a-secret-of-at-least-thirty-two-bytes-long")
        .env("AUTH0_CLIENT_ASSERTION_SIGNING_KEY", key)
        .env("PORT", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

#[test]
fn an_unreadable_signing_key_stops_startup_without_printing_it() {
    let one_line = format!(
        "-----BEGIN PRIVATE KEY-----\\n{}\\n{}\\n-----END PRIVATE KEY-----",
        BODY[0], BODY[1]
    );
    for key in [BASE64_PEM.to_owned(), format!("\"{one_line}'")] {
        let (ok, printed) = start_with_key(&key);
        assert!(
            !ok,
            "the quickstart started with an unreadable key: {printed}"
        );
        assert!(printed.contains("give the PEM itself"), "{printed}");
        assert!(!printed.contains(&key), "the value was printed: {printed}");
        for line in BODY {
            assert!(!printed.contains(line), "a key line was printed: {printed}");
        }
    }
}
