//! What `doctor` found: one [`Finding`] per check, printed for people or as JSON.

use serde::Serialize;

/// The version of the JSON shape (`--json`); raised only when a field changes meaning or
/// goes away (new fields and new check ids do not raise it).
pub const JSON_VERSION: u32 = 1;

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing wrong.
    Ok,
    /// Something that will break logins: the exit status is 1.
    Problem,
    /// The check could not run (a setting it needs is wrong, or the network failed); it
    /// counts as a problem.
    NotRun,
    /// Worth knowing, depends on what the app does (it does not change the exit status).
    Warning,
}

/// One check's result: what is wrong, what a user would see, how to fix it.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// A stable id of the check, e.g. `secret`, `client_credentials`.
    pub check: &'static str,
    /// How it ended.
    pub status: Status,
    /// What was found (for [`Status::Ok`], what was checked).
    pub what: String,
    /// The symptom a user would see (the quickstart's "Common Issue"); empty when ok.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub symptom: String,
    /// How to fix it; empty when ok.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Finding {
    /// A check that found nothing wrong.
    pub fn ok(check: &'static str, what: impl Into<String>) -> Self {
        Self::new(check, Status::Ok, what, "", "")
    }

    /// A problem.
    pub fn problem(
        check: &'static str,
        what: impl Into<String>,
        symptom: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(check, Status::Problem, what, symptom, fix)
    }

    /// A check that could not run, and why.
    pub fn not_run(check: &'static str, why: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(
            check,
            Status::NotRun,
            why,
            "unknown: this check could not run",
            fix,
        )
    }

    /// Something worth knowing.
    pub fn warning(
        check: &'static str,
        what: impl Into<String>,
        symptom: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(check, Status::Warning, what, symptom, fix)
    }

    fn new(
        check: &'static str,
        status: Status,
        what: impl Into<String>,
        symptom: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            check,
            status,
            what: what.into(),
            symptom: symptom.into(),
            fix: fix.into(),
        }
    }

    /// Whether it makes the exit status 1.
    pub fn fails(&self) -> bool {
        matches!(self.status, Status::Problem | Status::NotRun)
    }
}

/// Every finding, in the order the checks ran.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// [`JSON_VERSION`].
    pub version: u32,
    /// True when no finding fails.
    pub ok: bool,
    /// How many findings fail (problems and checks that could not run).
    pub problems: usize,
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The report of these findings.
    pub fn new(findings: Vec<Finding>) -> Self {
        let problems = findings.iter().filter(|f| f.fails()).count();
        Self {
            version: JSON_VERSION,
            ok: problems == 0,
            problems,
            findings,
        }
    }

    /// The JSON document, pretty, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"version\":{JSON_VERSION},\"ok\":false,\"error\":\"{e}\"}}")
        });
        text.push('\n');
        text
    }

    /// The text for a terminal: one block per finding, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let mark = match f.status {
                Status::Ok => "ok     ",
                Status::Problem => "PROBLEM",
                Status::NotRun => "NOT RUN",
                Status::Warning => "warning",
            };
            let (what, symptom, fix) = (printable(&f.what), printable(&f.symptom), &f.fix);
            out.push_str(&format!("{mark} {:<20} {what}\n", f.check));
            if !symptom.is_empty() && f.status != Status::Ok {
                out.push_str(&format!("        {:<20} symptom: {symptom}\n", ""));
            }
            if !fix.is_empty() && f.status != Status::Ok {
                out.push_str(&format!("        {:<20} fix: {}\n", "", printable(fix)));
            }
        }
        match self.problems {
            0 => out.push_str("\nNo problems found.\n"),
            1 => out.push_str("\n1 problem found.\n"),
            n => out.push_str(&format!("\n{n} problems found.\n")),
        }
        out
    }
}

/// `text` with its control characters escaped (`\u{1b}`, `\r`, `\n`): findings quote the
/// provider's answers (error descriptions, the issuer, algorithm names), which must not
/// move the cursor, recolour the terminal or forge a line of the report.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_that_could_not_run_counts_as_a_problem() {
        let report = Report::new(vec![
            Finding::ok("secret", "set"),
            Finding::not_run("discovery", "no domain", "set AUTH0_DOMAIN"),
            Finding::warning("audience", "none", "opaque tokens", "set AUTH0_AUDIENCE"),
        ]);
        assert!(!report.ok);
        assert_eq!(report.problems, 1);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["findings"][1]["status"], "not_run");
        assert_eq!(json["version"], JSON_VERSION);
        assert!(json["findings"][0].get("fix").is_none());
    }

    #[test]
    fn the_text_report_escapes_control_characters() {
        let report = Report::new(vec![Finding::problem(
            "issuer",
            "the issuer is \u{1b}[2J\r\nok      forged",
            "bell\u{7}",
            "fix\u{9b}31m",
        )]);
        let text = report.to_text();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("\\u{1b}[2J\\r\\nok      forged"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("ok")), "{text}");
    }
}
