//! One emulator run of `cargo xtask test` with what it must show: the verdict it must end with,
//! SUMMARY pairs it must print, and its own further check. The suite (`crate::suite`) gathers and
//! runs them; the modules that make images make them.

use super::{Ending, RunOutcome, RunSpec, Verdict};

/// One emulator run of `cargo xtask test`.
pub struct Scenario {
    pub name: String,
    pub spec: RunSpec,
    /// The run must end with `TESSERA-RESULT: pass` (false: with `TESSERA-RESULT: fail`).
    pub expect_pass: bool,
    /// `SUMMARY` key=value pairs the image must print besides passing (e.g. the mode it ran in).
    pub required_summary: Vec<(String, String)>,
    /// A further check of a passing run (e.g. a guest scenario's expected COM1 lines).
    pub check: Option<Check>,
}

/// A scenario's own check of its run's output; the error says what is missing.
pub type Check = Box<dyn Fn(&RunOutcome) -> Result<(), String> + Send + Sync>;

impl Scenario {
    /// The scenario with `extra` run after its own check, on runs its own check accepts (a check
    /// that also records figures, e.g.).
    pub fn then_check(
        mut self,
        extra: impl Fn(&RunOutcome) -> Result<(), String> + Send + Sync + 'static,
    ) -> Scenario {
        let own = self.check.take();
        self.check = Some(Box::new(move |outcome| {
            if let Some(check) = &own {
                check(outcome)?;
            }
            extra(outcome)
        }));
        self
    }

    /// Whether `outcome` is what the scenario expects (each reason it is not is printed).
    pub fn judge(&self, outcome: &RunOutcome) -> bool {
        self.ended_as_expected(outcome) && self.has_summaries(outcome) && self.passes_check(outcome)
    }

    /// Whether the hypervisor's verdict is the one `scenario` expects (says so when it is not).
    fn ended_as_expected(&self, outcome: &RunOutcome) -> bool {
        if self.expect_pass {
            return outcome.passed();
        }
        let failed = matches!(outcome.ending, Ending::Reported(Verdict::Fail(_)));
        if !failed {
            eprintln!(
                "error: scenario {}: expected TESSERA-RESULT: fail from the hypervisor",
                self.name
            );
        }
        failed
    }

    /// Whether the scenario's own check (if any) accepts `outcome` (says why not).
    fn passes_check(&self, outcome: &RunOutcome) -> bool {
        let Some(check) = &self.check else {
            return true;
        };
        match check(outcome) {
            Ok(()) => true,
            Err(why) => {
                eprintln!("error: scenario {}: {why}", self.name);
                false
            }
        }
    }

    /// Whether `outcome` printed every required SUMMARY pair of `scenario` (says which one is missing).
    fn has_summaries(&self, outcome: &RunOutcome) -> bool {
        let printed: Vec<(String, String)> = outcome
            .hypervisor_summaries()
            .into_iter()
            .flatten()
            .collect();
        let missing: Vec<String> = self
            .required_summary
            .iter()
            .filter(|pair| !printed.contains(pair))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "error: scenario {}: no SUMMARY {}",
                self.name,
                missing.join(" ")
            );
        }
        missing.is_empty()
    }
}
