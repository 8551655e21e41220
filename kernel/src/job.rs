//! Job control, as Linux does it (signal(7), wait(2)): a stop signal
//! (SIGSTOP; SIGTSTP, SIGTTIN, SIGTTOU at their default action) stops a
//! whole process, SIGCONT continues it. Sending SIGCONT discards the stop
//! signals pending, sending a stop signal discards a pending SIGCONT
//! ([`discarded_by`]). The parent learns each change once: `wait4` with
//! WUNTRACED reports a stop, with WCONTINUED a continue (`kernel::wait`),
//! and SIGCHLD tells it (CLD_STOPPED, CLD_CONTINUED) unless its SIGCHLD
//! action has SA_NOCLDSTOP. Only the latest change is there to report: a
//! stop not yet reported is forgotten once the process continues, a
//! continue once it stops again (Linux keeps one flag for both).
//! [`Job`] is a process's state; the kernel image makes it so (no thread
//! of a stopped process runs user code: `task::job`).

use abi::signal::{SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU};

/// The bit of signal `sig` (1..=64) in a set.
const fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// The stop signals: their default action stops the process.
pub const STOP_SIGNALS: u64 = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

/// The signals that sending `sig` (1..=64) discards wherever they are
/// pending in the process, whatever its actions (Linux's
/// `prepare_signal`): the stop signals for SIGCONT, SIGCONT for a stop
/// signal.
pub const fn discarded_by(sig: u32) -> u64 {
    match sig as i32 {
        SIGCONT => STOP_SIGNALS,
        s if STOP_SIGNALS & bit(s) != 0 => bit(SIGCONT),
        _ => 0,
    }
}

/// A change of a process that its parent's wait has yet to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// It stopped, by this signal.
    Stopped(u32),
    /// It continued.
    Continued,
}

impl Report {
    /// The wait status `wait4` stores (the C library's `WIFSTOPPED` and
    /// `WSTOPSIG`, `WIFCONTINUED` read it).
    pub const fn wait_status(self) -> i32 {
        match self {
            Report::Stopped(sig) => ((sig as i32) << 8) | 0x7f,
            Report::Continued => 0xffff,
        }
    }

    /// The `si_status` of the SIGCHLD that tells the parent: the stop
    /// signal, or SIGCONT.
    pub const fn signal(self) -> i32 {
        match self {
            Report::Stopped(sig) => sig as i32,
            Report::Continued => SIGCONT,
        }
    }
}

/// A process's job-control state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Job {
    /// The signal that stopped it, while it is stopped.
    stopped_by: Option<u32>,
    /// The change its parent's wait has yet to report.
    report: Option<Report>,
}

impl Job {
    /// Running, nothing to report (a new process).
    pub const RUNNING: Job = Job {
        stopped_by: None,
        report: None,
    };

    /// Whether it is stopped.
    pub const fn is_stopped(&self) -> bool {
        self.stopped_by.is_some()
    }

    /// Stops it by signal `sig`: the change to tell its parent, or `None`
    /// if it was stopped already (nothing changes then).
    pub fn stop(&mut self, sig: u32) -> Option<Report> {
        if self.is_stopped() {
            return None;
        }
        self.stopped_by = Some(sig);
        self.report = Some(Report::Stopped(sig));
        self.report
    }

    /// Continues it: the change to tell its parent, or `None` if it was
    /// not stopped (nothing changes then).
    pub fn resume(&mut self) -> Option<Report> {
        self.stopped_by.take()?;
        self.report = Some(Report::Continued);
        self.report
    }

    /// The change a wait with `options` (WUNTRACED, WCONTINUED) would
    /// report now, if any.
    pub const fn report(&self, options: u32) -> Option<Report> {
        use abi::signal::wait::{WCONTINUED, WUNTRACED};
        match self.report {
            Some(Report::Stopped(sig)) if options & WUNTRACED != 0 => Some(Report::Stopped(sig)),
            Some(Report::Continued) if options & WCONTINUED != 0 => Some(Report::Continued),
            _ => None,
        }
    }

    /// The change was reported: there is nothing more to report.
    pub fn reported(&mut self) {
        self.report = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::signal::wait::{self, WCONTINUED, WNOHANG, WUNTRACED};
    use std::vec::Vec;

    #[test]
    fn statuses_read_as_stopped_and_continued() {
        for sig in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
            let status = Report::Stopped(sig as u32).wait_status();
            assert!(wait::if_stopped(status), "signal {sig}");
            assert_eq!(wait::stop_sig(status), sig);
            assert!(!wait::if_exited(status) && !wait::if_signaled(status));
            assert!(!wait::if_continued(status));
            assert_eq!(Report::Stopped(sig as u32).signal(), sig);
        }
        let status = Report::Continued.wait_status();
        assert!(wait::if_continued(status));
        assert!(!wait::if_exited(status) && !wait::if_signaled(status));
        assert_eq!(Report::Continued.signal(), SIGCONT);
    }

    #[test]
    fn sending_cont_discards_stops_and_a_stop_discards_cont() {
        assert_eq!(discarded_by(SIGCONT as u32), STOP_SIGNALS);
        for sig in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
            assert_eq!(discarded_by(sig as u32), bit(SIGCONT), "signal {sig}");
        }
        let others: Vec<u32> = (1..=64)
            .filter(|&s| s != SIGCONT as u32 && STOP_SIGNALS & bit(s as i32) == 0)
            .collect();
        assert_eq!(others.len(), 59);
        assert!(others.iter().all(|&s| discarded_by(s) == 0));
    }

    #[test]
    fn each_change_is_reported_once_and_only_the_latest() {
        let mut job = Job::RUNNING;
        assert_eq!(job.resume(), None, "running: nothing to continue");
        assert_eq!(job.report(WUNTRACED | WCONTINUED), None);
        assert_eq!(job.stop(19), Some(Report::Stopped(19)));
        assert!(job.is_stopped());
        assert_eq!(job.stop(20), None, "stopped already: the first stays");
        assert_eq!(job.report(WNOHANG), None, "not asked for");
        assert_eq!(job.report(WCONTINUED), None);
        assert_eq!(job.report(WUNTRACED), Some(Report::Stopped(19)));
        job.reported();
        assert_eq!(job.report(WUNTRACED), None, "once");
        assert_eq!(job.resume(), Some(Report::Continued));
        assert!(!job.is_stopped());
        assert_eq!(job.report(WUNTRACED), None);
        assert_eq!(job.stop(20), Some(Report::Stopped(20)));
        assert_eq!(job.resume(), Some(Report::Continued));
        assert_eq!(
            job.report(WUNTRACED | WCONTINUED),
            Some(Report::Continued),
            "the stop was never reported: forgotten"
        );
    }
}
