//! The `auth0-server` binary; everything but the process plumbing is in the library.
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

use std::io::{self, IsTerminal as _, Read, Write as _};
use std::process::ExitCode;
use std::time::SystemTime;

use auth0_server_cli::{Cli, CliError, Context, SECRET_ENV, run};
use auth0_server_core::clock::unix_seconds;
use clap::Parser as _;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdin = io::stdin();
    // A terminal is never read: waiting there for a token would look like a hang.
    let input = (!stdin.is_terminal()).then_some(&mut stdin as &mut dyn Read);
    let context = Context {
        env_secret: std::env::var_os(SECRET_ENV),
        stdin: input,
        now: unix_seconds(SystemTime::now()),
    };
    match run(cli, context) {
        Ok(output) => match output.write_to(&mut io::stdout(), &mut io::stderr()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // A reader that went away (`| head`) needs no explanation.
                if e.kind() != io::ErrorKind::BrokenPipe {
                    let _ = writeln!(io::stderr(), "error: could not write the output: {e}");
                }
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            // `doctor`'s report goes to standard output even when it found problems.
            if let CliError::DoctorFoundProblems { output, .. } = &error {
                let _ = output.write_to(&mut io::stdout(), &mut io::stderr());
            }
            let _ = writeln!(io::stderr(), "{}", error.to_line());
            ExitCode::FAILURE
        }
    }
}
