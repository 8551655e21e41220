//! What a run produced: the [`Outcome`] decoded from QEMU's exit status and
//! init's result lines, each program's result, and the serial log, with the
//! assertions the integration tests use.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use abi::{KILLED_BASE, exit_code};

#[cfg(test)]
use crate::Error;
use crate::results::{self, Leak, ProgramResult, Verdict};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every program exited with 0 and nothing leaked.
    Success,
    /// The first program that did not pass exited with this status.
    ProgramStatus(i32),
    /// The first program that did not pass was killed after a fault; its
    /// status is `128 + vector`.
    ProgramKilled(i32),
    /// A program (or the run as a whole) left kernel objects behind.
    Leak,
    /// Every thread blocked with no timer pending: nothing could run again.
    Deadlock,
    /// Init could not start a program (not in the image, not an ELF, ...).
    NotStarted,
    /// The kernel failed: a panic or a kernel exception.
    KernelFailure,
    /// The run did not end in time; QEMU was killed.
    Timeout(Duration),
    /// QEMU ended in a way the guest did not ask for (it failed to start, or
    /// it was killed by a signal).
    QemuError { status: ExitStatus, stderr: String },
}

/// The runner's exit status for a program status outside `1..=STATUS_MAX`
/// and not a fault: the exact value is in the result line and the report.
pub const STATUS_OTHER: u8 = 119;

impl Outcome {
    /// Decodes QEMU's exit status `code` when it carries a value the guest
    /// wrote to `isa-debug-exit` (QEMU exits with `(value << 1) | 1`); the
    /// program results give the exact status the value may not hold.
    /// Returns `None` for anything else, such as QEMU's own failure status 1.
    pub fn from_guest_code(code: i32, programs: &[ProgramResult]) -> Option<Outcome> {
        let code = u32::try_from(code).ok()?;
        if code & 1 == 0 {
            return None;
        }
        let first_failure = programs.iter().find(|p| p.verdict != Verdict::Pass);
        let exact = first_failure.and_then(|p| p.status);
        let statuses = exit_code::STATUS_BASE + 1..exit_code::STATUS_BASE + exit_code::STATUS_MAX;
        match code >> 1 {
            exit_code::SUCCESS => Some(Outcome::Success),
            exit_code::FAILURE => Some(Outcome::KernelFailure),
            exit_code::KILLED => Some(Outcome::ProgramKilled(exact.unwrap_or(KILLED_BASE))),
            exit_code::LEAK => Some(Outcome::Leak),
            exit_code::DEADLOCK => Some(Outcome::Deadlock),
            exit_code::NOT_STARTED => Some(Outcome::NotStarted),
            v if statuses.contains(&v) => {
                Some(Outcome::ProgramStatus((v - exit_code::STATUS_BASE) as i32))
            }
            v if v == exit_code::STATUS_BASE + exit_code::STATUS_MAX => Some(
                Outcome::ProgramStatus(exact.unwrap_or(exit_code::STATUS_MAX as i32)),
            ),
            _ => None,
        }
    }

    /// The runner's exit status for this outcome (the README's table).
    pub fn exit_status(&self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::ProgramStatus(s) => match u8::try_from(*s) {
                Ok(s @ 1..STATUS_OTHER) => s,
                _ => STATUS_OTHER,
            },
            Outcome::ProgramKilled(s) => u8::try_from(*s)
                .ok()
                .filter(|s| (128..160).contains(s))
                .unwrap_or(128),
            Outcome::Leak => 120,
            Outcome::Deadlock => 121,
            Outcome::NotStarted => 122,
            Outcome::KernelFailure => 123,
            Outcome::Timeout(_) => 124,
            Outcome::QemuError { .. } => 125,
        }
    }

    /// One word for the JSON report: `pass`, `fail`, `fault`, `leak`,
    /// `deadlock`, `not-started`, `kernel-failure`, `timeout`, `qemu-error`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Success => "pass",
            Outcome::ProgramStatus(_) => "fail",
            Outcome::ProgramKilled(_) => "fault",
            Outcome::Leak => "leak",
            Outcome::Deadlock => "deadlock",
            Outcome::NotStarted => "not-started",
            Outcome::KernelFailure => "kernel-failure",
            Outcome::Timeout(_) => "timeout",
            Outcome::QemuError { .. } => "qemu-error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success => write!(f, "success"),
            Outcome::ProgramStatus(101) => write!(f, "program exited with status 101 (a panic)"),
            Outcome::ProgramStatus(n) => write!(f, "program exited with status {n}"),
            Outcome::ProgramKilled(n) => write!(f, "program killed after a fault (status {n})"),
            Outcome::Leak => write!(f, "kernel objects leaked"),
            Outcome::Deadlock => write!(f, "deadlock: every thread blocked"),
            Outcome::NotStarted => write!(f, "a program could not be started"),
            Outcome::KernelFailure => write!(f, "kernel failure"),
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
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub outcome: Outcome,
    /// Each program of the plan, in plan order.
    pub programs: Vec<ProgramResult>,
    /// Whether the programs ran together.
    pub together: bool,
    /// Whether the run used `-icount shift=0` (time-stamp ticks are then
    /// guest instructions).
    pub icount: bool,
    /// The whole-run leak check (empty: none), `None` if init did not get to it.
    pub leaks: Option<Vec<Leak>>,
    /// From QEMU's start to its end.
    pub duration: Duration,
    /// The whole serial log, one line per guest line (`\r` removed), with
    /// the runner's `qemu: rip ...` symbol lines after fault reports.
    pub serial: String,
    /// Where the serial log was kept (`--log-dir`), if it was.
    pub log_file: Option<PathBuf>,
}

impl Report {
    /// Builds the report of a boot whose plan was `plan` from the serial
    /// lines (with the time each arrived) and how QEMU ended (`None`: it
    /// was killed after `timeout`).
    pub fn new(
        plan: &[Vec<String>],
        together: bool,
        serial: String,
        times: &[Duration],
        ended: Result<ExitStatus, Duration>,
        stderr: String,
    ) -> Report {
        let lines: Vec<&str> = serial.lines().collect();
        let programs = results::program_results(plan, together, &lines, times);
        let leaks = results::run_leaks(&lines);
        let outcome = match ended {
            Err(timeout) => Outcome::Timeout(timeout),
            Ok(status) => status
                .code()
                .and_then(|c| Outcome::from_guest_code(c, &programs))
                .unwrap_or(Outcome::QemuError { status, stderr }),
        };
        Report {
            outcome,
            programs,
            together,
            icount: false,
            leaks,
            duration: times.last().copied().unwrap_or_default(),
            serial,
            log_file: None,
        }
    }

    /// The kernel's error lines that are not user fault reports (a panic,
    /// a kernel exception, a deadlock report).
    pub fn kernel_errors(&self) -> Vec<&str> {
        self.serial
            .lines()
            .filter(|l| l.starts_with("[ERROR]") && !l.contains("user fault: "))
            .collect()
    }

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

    /// Panics, showing the serial log, unless program `index` (from 1) ended
    /// with `verdict` and, when given, `status`.
    #[track_caller]
    pub fn expect_program(
        &self,
        index: usize,
        verdict: Verdict,
        status: Option<i32>,
    ) -> &ProgramResult {
        let Some(p) = self.programs.get(index.wrapping_sub(1)) else {
            self.fail(&format!("no program {index} in the plan"));
        };
        if p.verdict != verdict || status.is_some() && p.status != status {
            self.fail(&format!(
                "expected program {index} ({}) to end {verdict} with status {status:?}, \
                 got {} with status {:?}",
                p.command(),
                p.verdict,
                p.status
            ));
        }
        p
    }

    /// The serial lines that start with `prefix`.
    pub fn lines_with<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.serial.lines().filter(move |l| l.starts_with(prefix))
    }

    /// Fails the test: saves the serial log under `target/qemu-logs/` and
    /// panics with `what`, the log's path and the log.
    #[track_caller]
    pub fn fail(&self, what: &str) -> ! {
        let saved = match crate::logs::save_for_test(&self.serial) {
            Ok(path) => format!("serial log saved in {}", path.display()),
            Err(e) => format!("the serial log could not be saved: {e}"),
        };
        panic!(
            "{what}\n{saved}\n----- serial log -----\n{}----- end of serial log -----",
            self.serial
        )
    }
}

#[cfg(test)]
mod tests;
