//! What a run produced: the [`Outcome`] decoded from QEMU's exit status and
//! the serial log, with the assertions the integration tests use.

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

use abi::exit_code;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Init reported that every program succeeded.
    Success,
    /// The kernel failed: a panic, or init could not run.
    KernelFailure,
    /// A program was killed by the kernel after a fault.
    ProgramKilled,
    /// A program exited with this status (`1..=STATUS_MAX`).
    ProgramStatus(u32),
    /// The run did not end in time; QEMU was killed.
    Timeout(Duration),
    /// QEMU ended in a way the guest did not ask for (it failed to start, or
    /// it was killed by a signal).
    QemuError { status: ExitStatus, stderr: String },
}

impl Outcome {
    /// Decodes QEMU's exit status `code` when it carries a value the guest
    /// wrote to `isa-debug-exit` (QEMU exits with `(value << 1) | 1`). Returns
    /// `None` for anything else, such as QEMU's own failure status 1.
    pub fn from_guest_code(code: i32) -> Option<Outcome> {
        let code = u32::try_from(code).ok()?;
        if code & 1 == 0 {
            return None;
        }
        let statuses = exit_code::STATUS_BASE + 1..=exit_code::STATUS_BASE + exit_code::STATUS_MAX;
        match code >> 1 {
            exit_code::SUCCESS => Some(Outcome::Success),
            exit_code::FAILURE => Some(Outcome::KernelFailure),
            exit_code::KILLED => Some(Outcome::ProgramKilled),
            v if statuses.contains(&v) => Some(Outcome::ProgramStatus(v - exit_code::STATUS_BASE)),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success => write!(f, "success"),
            Outcome::KernelFailure => write!(f, "kernel failure"),
            Outcome::ProgramKilled => write!(f, "program killed after a fault"),
            Outcome::ProgramStatus(n) => write!(f, "program exited with status {n}"),
            Outcome::Timeout(t) => write!(f, "timeout after {} s", t.as_secs_f64()),
            Outcome::QemuError { status, stderr } => {
                write!(f, "QEMU failed ({status})")?;
                if !stderr.trim().is_empty() {
                    write!(f, ":\n{}", stderr.trim_end())?;
                }
                Ok(())
            }
        }
    }
}

/// The result of one boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub outcome: Outcome,
    /// The whole serial log, one line per guest line (`\r` removed).
    pub serial: String,
}

impl Report {
    /// Panics, showing the serial log, unless the outcome is
    /// [`Outcome::Success`] and init found nothing leaked.
    #[track_caller]
    pub fn expect_success(&self) -> &Self {
        self.expect_outcome(Outcome::Success).expect_no_leaks()
    }

    /// Panics, showing the serial log, unless init reported that the
    /// kernel's counts of processes, threads, frames, doors and descriptors
    /// were back at their starting values after the programs ran.
    #[track_caller]
    pub fn expect_no_leaks(&self) -> &Self {
        self.assert_line(abi::INIT_NO_LEAKS)
    }

    /// Panics, showing the serial log, unless the outcome is `expected`.
    #[track_caller]
    pub fn expect_outcome(&self, expected: Outcome) -> &Self {
        if self.outcome != expected {
            self.fail(&format!("expected {expected}, got {}", self.outcome));
        }
        self
    }

    /// Panics, showing the serial log, unless some serial line contains `text`.
    #[track_caller]
    pub fn assert_line(&self, text: &str) -> &Self {
        if !self.serial.lines().any(|l| l.contains(text)) {
            self.fail(&format!(
                "no serial line contains {text:?} (outcome: {})",
                self.outcome
            ));
        }
        self
    }

    /// The serial lines that start with `prefix`.
    pub fn lines_with<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.serial.lines().filter(move |l| l.starts_with(prefix))
    }

    #[track_caller]
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n----- serial log -----\n{}----- end of serial log -----",
            self.serial
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_for(value: u32) -> i32 {
        ((value << 1) | 1) as i32
    }

    #[test]
    fn maps_guest_exit_codes() {
        assert_eq!(Outcome::from_guest_code(33), Some(Outcome::Success));
        assert_eq!(
            Outcome::from_guest_code(status_for(exit_code::FAILURE)),
            Some(Outcome::KernelFailure)
        );
        assert_eq!(
            Outcome::from_guest_code(status_for(exit_code::KILLED)),
            Some(Outcome::ProgramKilled)
        );
        let base = exit_code::STATUS_BASE;
        assert_eq!(
            Outcome::from_guest_code(status_for(base + 1)),
            Some(Outcome::ProgramStatus(1))
        );
        assert_eq!(
            Outcome::from_guest_code(status_for(base + 42)),
            Some(Outcome::ProgramStatus(42))
        );
        let max = exit_code::STATUS_MAX;
        assert_eq!(
            Outcome::from_guest_code(status_for(base + max)),
            Some(Outcome::ProgramStatus(max))
        );
    }

    #[test]
    fn agrees_with_what_init_writes() {
        for status in [0, 1, 42, 95, 96, 1000] {
            let outcome = Outcome::from_guest_code(status_for(exit_code::for_status(status)));
            let expected = match status {
                0 => Outcome::Success,
                s => Outcome::ProgramStatus(s.min(exit_code::STATUS_MAX as i32) as u32),
            };
            assert_eq!(outcome, Some(expected), "status {status}");
        }
        let killed = exit_code::for_status(abi::KILLED_BASE + 14);
        assert_eq!(
            Outcome::from_guest_code(status_for(killed)),
            Some(Outcome::ProgramKilled)
        );
    }

    #[test]
    fn other_statuses_are_not_guest_exits() {
        for code in [-1, 0, 1, 2, 3, status_for(exit_code::STATUS_BASE), 254, 256] {
            assert_eq!(Outcome::from_guest_code(code), None, "code {code}");
        }
    }

    fn report(serial: &str) -> Report {
        Report {
            outcome: Outcome::Success,
            serial: serial.into(),
        }
    }

    #[test]
    fn finds_lines() {
        let r = report(
            "boot\nBENCH null 338 ticks\nhello from ring 3\nBENCH x 1 ticks\ninit: no leaks (...)\n",
        );
        r.expect_success().assert_line("from ring");
        assert_eq!(
            r.lines_with("BENCH ").collect::<Vec<_>>(),
            ["BENCH null 338 ticks", "BENCH x 1 ticks"]
        );
    }

    #[test]
    #[should_panic(expected = "serial log -----\nboot\n")]
    fn failures_show_the_log() {
        report("boot\n").assert_line("never printed");
    }

    #[test]
    #[should_panic(expected = "init: no leaks")]
    fn success_without_the_leak_check_fails() {
        report("hello\n").expect_success();
    }

    #[test]
    #[should_panic(expected = "expected program exited with status 42, got success")]
    fn wrong_outcome_panics() {
        report("").expect_outcome(Outcome::ProgramStatus(42));
    }
}
