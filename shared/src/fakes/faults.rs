//! The fault script every fake consults before each call.

use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// What an injected fault does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails before anything happens, with this kind.
    Error(ErrorKind),
    /// The call times out before anything happens.
    Timeout,
    /// The call happens, then its answer is lost: the caller sees a
    /// retryable failure although the other side acted.
    LostAnswer,
}

impl Fault {
    /// Every kind of fault the matrix tests inject.
    pub const ALL: [Fault; 4] = [
        Fault::Error(ErrorKind::Throttled),
        Fault::Error(ErrorKind::Config),
        Fault::Timeout,
        Fault::LostAnswer,
    ];
}

#[derive(Debug)]
struct Planned {
    call: String,
    /// Calls of that name to let through first.
    skip: usize,
    fault: Fault,
}

#[derive(Debug, Default)]
struct Script {
    planned: Vec<Planned>,
    log: Vec<String>,
}

/// A script of faults by call name (`"ledger.transition"`,
/// `"vendor.register"`, ...) and a log of every call made.
#[derive(Debug, Default)]
pub struct Faults {
    script: Mutex<Script>,
}

impl Faults {
    /// The next call named `call` fails with `fault`.
    pub fn inject(&self, call: &str, fault: Fault) {
        self.inject_nth(call, 0, fault);
    }

    /// The call named `call` after `skip` successful ones fails with `fault`.
    pub fn inject_nth(&self, call: &str, skip: usize, fault: Fault) {
        if let Ok(mut script) = self.script.lock() {
            script.planned.push(Planned {
                call: call.to_owned(),
                skip,
                fault,
            });
        }
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.script
            .lock()
            .map(|s| s.log.clone())
            .unwrap_or_default()
    }

    /// How many calls named `call` were made.
    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| *c == call).count()
    }

    /// Forgets the log and any fault not yet fired.
    pub fn reset(&self) {
        if let Ok(mut script) = self.script.lock() {
            *script = Script::default();
        }
    }

    /// Logs the call and returns the fault planned for it, if any.
    fn take(&self, call: &str) -> Option<Fault> {
        let mut script = self.script.lock().ok()?;
        script.log.push(call.to_owned());
        let index = script.planned.iter().position(|p| p.call == call)?;
        if script.planned[index].skip > 0 {
            script.planned[index].skip -= 1;
            return None;
        }
        Some(script.planned.remove(index).fault)
    }

    /// Runs `act` as the call named `call` under the script.
    pub(crate) fn run<T>(&self, call: &str, act: impl FnOnce() -> Result<T>) -> Result<T> {
        match self.take(call) {
            None => act(),
            Some(Fault::Error(kind)) => Err(Error::new(kind, format!("{call}: injected fault"))),
            // Whether the other side acted is unknown to the caller.
            Some(Fault::Timeout) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("{call}: timed out (injected)"),
            )
            .ambiguous()),
            Some(Fault::LostAnswer) => {
                // The other side acts; only its answer is lost.
                let _ = act();
                Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("{call}: the answer was lost (injected)"),
                )
                .ambiguous())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fires_once_on_the_planned_call() {
        let faults = Faults::default();
        faults.inject_nth("x", 1, Fault::Timeout);
        assert!(faults.run("x", || Ok(())).is_ok());
        assert!(faults.run("y", || Ok(())).is_ok());
        assert_eq!(
            faults.run("x", || Ok(())).unwrap_err().kind(),
            ErrorKind::Unavailable
        );
        assert!(faults.run("x", || Ok(())).is_ok());
        assert_eq!(faults.count("x"), 3);
    }

    #[test]
    fn a_lost_answer_acts_then_fails() {
        let faults = Faults::default();
        faults.inject("x", Fault::LostAnswer);
        let mut acted = false;
        let result = faults.run("x", || {
            acted = true;
            Ok(())
        });
        assert!(acted);
        assert!(result.unwrap_err().kind().is_retryable());
    }
}
