//! The report of a run: its steps, assertions and what the local environment could not
//! run.

use std::fmt;
use std::path::Path;

use serde_json::json;

/// One thing a run did or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A step: a deploy, a call, a request, a wait.
    Step(String),
    /// An assertion and whether it held.
    Assertion {
        /// Its label.
        label: String,
        /// Whether it held.
        passed: bool,
        /// What was read and expected.
        detail: String,
    },
    /// What the local environment could not run, and how the test stood in for it.
    NotRunLocally(String),
    /// An error that ended the test's steps, or of the destroy.
    Error(String),
}

/// What a run did: printed on standard error by [`IntegRun::finish`], and appended as one
/// JSON line to the file `CAIRN_INTEG_SUMMARY` names, when set (`scripts/integ` prints
/// the table of all cases from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The case.
    pub case: String,
    /// The target, as shown.
    pub target: String,
    /// Everything, in order.
    pub entries: Vec<Entry>,
}

impl Report {
    /// How many steps ran.
    pub fn steps(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e, Entry::Step(_)))
            .count()
    }

    /// How many assertions held, of how many.
    pub fn assertions(&self) -> (usize, usize) {
        let all = self.entries.iter().filter_map(|e| match e {
            Entry::Assertion { passed, .. } => Some(*passed),
            _ => None,
        });
        all.fold((0, 0), |(p, n), passed| (p + usize::from(passed), n + 1))
    }

    /// What the local environment could not run.
    pub fn not_run_locally(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::NotRunLocally(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    /// No error, every assertion held, and at least one assertion ran.
    pub fn passed(&self) -> bool {
        let (passed, all) = self.assertions();
        all > 0 && passed == all && !self.entries.iter().any(|e| matches!(e, Entry::Error(_)))
    }

    /// `N steps run, P/A assertions passed, L not run locally`.
    pub fn summary(&self) -> String {
        let (passed, all) = self.assertions();
        format!(
            "{} steps run, {passed}/{all} assertions passed, {} not run locally",
            self.steps(),
            self.not_run_locally().len()
        )
    }

    pub(super) fn append_to_summary_file(&self) {
        let Some(path) = std::env::var_os("CAIRN_INTEG_SUMMARY") else {
            return;
        };
        let (passed, all) = self.assertions();
        let line = json!({
            "case": self.case,
            "target": self.target,
            "passed": self.passed(),
            "steps": self.steps(),
            "assertionsPassed": passed,
            "assertions": all,
            "notRunLocally": self.not_run_locally(),
        });
        use std::io::Write;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!(
                "integ {}: cannot append to {}: {e}",
                self.case,
                Path::new(&path).display()
            );
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "integ {} on {}", self.case, self.target)?;
        for e in &self.entries {
            match e {
                Entry::Step(s) => writeln!(f, "  step   {s}")?,
                Entry::Assertion {
                    label,
                    passed,
                    detail,
                } => {
                    let mark = if *passed { "ok    " } else { "FAILED" };
                    writeln!(f, "  {mark} {label}: {detail}")?;
                }
                Entry::NotRunLocally(s) => writeln!(f, "  local  not run: {s}")?,
                Entry::Error(s) => writeln!(f, "  ERROR  {s}")?,
            }
        }
        write!(f, "integ {}: {}", self.case, self.summary())
    }
}
