//! The quickstart stays what a newcomer can read in one sitting: its login app (every file
//! under `src/`, pages included) in at most 300 lines, and its auth wiring in three
//! statements. The pages showing Auth0 features beyond the quickstart are a crate of their
//! own (`examples/quickstart-features`, one file each): a newcomer reads them one at a time,
//! when they need that feature.

use std::path::Path;

fn source(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(name)).unwrap()
}

#[test]
fn the_quickstart_source_is_at_most_300_lines() {
    fn lines(dir: &Path) -> usize {
        let mut total = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            total += if path.is_dir() {
                lines(&path)
            } else {
                std::fs::read_to_string(&path).unwrap().lines().count()
            };
        }
        total
    }
    let total = lines(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(total <= 300, "examples/quickstart/src has {total} lines");
}

#[test]
fn the_auth_wiring_is_the_client_the_integration_and_the_router() {
    let lib = source("lib.rs");
    let body = lib.split("pub async fn app(").nth(1).unwrap();
    let wiring = body.split("// The auth wiring").nth(1).unwrap();
    let statements: Vec<_> = wiring.split(';').map(str::trim).collect();
    assert!(statements[0].contains("let client =") && statements[0].ends_with(".build()?"));
    assert_eq!(statements[1], "let auth0 = Auth0::new(client)");
    assert!(
        statements[2].starts_with("Ok(Router::new()") && statements[2].contains("auth0.layer()")
    );
}
