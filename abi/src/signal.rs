//! Signals and wait statuses. A signal does its default action (the
//! kernel's `signal` module says which) unless a Linux program handles or
//! ignores it. The numbers are Linux's for x86-64, the values the C library's
//! `<signal.h>` has, since C programs reach kill through it; native
//! programs use the same. The wait status is the `int` that `wait4` and
//! `waitpid` store, laid out as the C library's `WIFEXITED`, `WEXITSTATUS`,
//! `WIFSIGNALED`, `WTERMSIG`, `WCOREDUMP`, `WIFSTOPPED`, `WSTOPSIG` and
//! `WIFCONTINUED` read it; [`wait`] builds and reads it.

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGABRT: i32 = 6;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGSEGV: i32 = 11;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGALRM: i32 = 14;
pub const SIGTERM: i32 = 15;
pub const SIGSTKFLT: i32 = 16;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGURG: i32 = 23;
pub const SIGXCPU: i32 = 24;
pub const SIGXFSZ: i32 = 25;
pub const SIGVTALRM: i32 = 26;
pub const SIGPROF: i32 = 27;
pub const SIGWINCH: i32 = 28;
pub const SIGIO: i32 = 29;
pub const SIGPWR: i32 = 30;
pub const SIGSYS: i32 = 31;
/// The first real-time signal number the kernel has (the C library keeps
/// a few for itself and starts its `SIGRTMIN` above this).
pub const SIGRT_FIRST: i32 = 32;
/// The highest signal number.
pub const SIGRT_LAST: i32 = 64;

/// Whether `sig` is a signal number (`1..=64`). Zero is not a signal: kill
/// with 0 only checks that the target exists and may be signalled.
pub const fn is_signal(sig: i32) -> bool {
    1 <= sig && sig <= SIGRT_LAST
}

/// The name of signal `sig` without its `SIG` prefix (`"TERM"`), as
/// `kill -l` prints it; `None` for a real-time signal or a non-signal.
pub const fn name(sig: i32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    if 1 <= sig && sig <= SIGSYS {
        Some(NAMES[sig as usize - 1])
    } else {
        None
    }
}

/// The wait status and the options of `wait4`/`waitpid`.
pub mod wait {
    /// Return at once if no child has changed state.
    pub const WNOHANG: u32 = 1;
    /// Also report stopped children (each stop once).
    pub const WUNTRACED: u32 = 2;
    /// Also report continued children (each continue once).
    pub const WCONTINUED: u32 = 8;
    /// Linux's thread-selection options, accepted and meaningless here
    /// (`__WNOTHREAD`, `__WALL`, `__WCLONE`).
    pub const THREAD_OPTIONS: u32 = 0x2000_0000 | 0x4000_0000 | 0x8000_0000;
    /// Every option `wait4` accepts; any other bit is EINVAL.
    pub const OPTIONS: u32 = WNOHANG | WUNTRACED | WCONTINUED | THREAD_OPTIONS;

    /// A child that exited with `code` (its low 8 bits are kept).
    pub const fn exited(code: i32) -> i32 {
        (code & 0xff) << 8
    }

    /// A child terminated by signal `sig` (no core is ever dumped).
    pub const fn signaled(sig: i32) -> i32 {
        sig & 0x7f
    }

    /// `WIFEXITED`: the child exited.
    pub const fn if_exited(status: i32) -> bool {
        status & 0x7f == 0
    }

    /// `WEXITSTATUS`: the exit code of a child that exited.
    pub const fn exit_status(status: i32) -> i32 {
        (status >> 8) & 0xff
    }

    /// `WIFSIGNALED`: a signal terminated the child.
    pub const fn if_signaled(status: i32) -> bool {
        let low = status & 0x7f;
        low != 0 && low != 0x7f
    }

    /// `WTERMSIG`: the signal that terminated the child.
    pub const fn term_sig(status: i32) -> i32 {
        status & 0x7f
    }

    /// `WCOREDUMP`: the terminated child dumped core.
    pub const fn core_dump(status: i32) -> bool {
        status & 0x80 != 0
    }

    /// `WIFSTOPPED`: the child is stopped.
    pub const fn if_stopped(status: i32) -> bool {
        status & 0xff == 0x7f
    }

    /// `WSTOPSIG`: the signal that stopped the child.
    pub const fn stop_sig(status: i32) -> i32 {
        (status >> 8) & 0xff
    }

    /// `WIFCONTINUED`: the child was continued.
    pub const fn if_continued(status: i32) -> bool {
        status == 0xffff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, ExitStatus};

    #[test]
    fn statuses_read_as_the_c_library_reads_them() {
        // The host's std decodes a raw status with its C library's macros.
        for code in [0, 1, 7, 101, 255, 256, -1] {
            let raw = wait::exited(code);
            let host = ExitStatus::from_raw(raw);
            assert_eq!(host.code(), Some(code & 0xff), "exit {code}");
            assert_eq!(host.signal(), None);
            assert!(wait::if_exited(raw) && !wait::if_signaled(raw));
            assert_eq!(wait::exit_status(raw), code & 0xff);
            assert!(!wait::if_stopped(raw) && !wait::if_continued(raw));
        }
        for sig in 1..=SIGRT_LAST {
            let raw = wait::signaled(sig);
            let host = ExitStatus::from_raw(raw);
            assert_eq!(
                (host.code(), host.signal()),
                (None, Some(sig)),
                "signal {sig}"
            );
            assert!(!host.core_dumped() && !wait::core_dump(raw));
            assert!(wait::if_signaled(raw) && !wait::if_exited(raw));
            assert_eq!(wait::term_sig(raw), sig);
            assert!(!wait::if_stopped(raw));
        }
        // The layouts no child here produces, read the same way.
        let stopped = (SIGSTOP << 8) | 0x7f;
        let host = ExitStatus::from_raw(stopped);
        assert_eq!(host.stopped_signal(), Some(SIGSTOP));
        assert!(wait::if_stopped(stopped) && !wait::if_signaled(stopped));
        assert_eq!(wait::stop_sig(stopped), SIGSTOP);
        assert!(ExitStatus::from_raw(0xffff).continued() && wait::if_continued(0xffff));
        let core = wait::signaled(SIGSEGV) | 0x80;
        assert!(ExitStatus::from_raw(core).core_dumped() && wait::core_dump(core));
    }

    #[test]
    fn numbers_and_statuses_match_the_host_kernel() {
        // Processes the host kernel terminates with each default-terminate
        // signal, named by this table: same number, same status word.
        for sig in [
            SIGHUP, SIGINT, SIGKILL, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
        ] {
            let name = name(sig).unwrap();
            let status = Command::new("sh")
                .args(["-c", &std::format!("kill -s {name} $$; exit 3")])
                .status()
                .expect("sh runs");
            assert_eq!(status.signal(), Some(sig), "SIG{name}");
            assert_eq!(status.into_raw(), wait::signaled(sig), "SIG{name}");
        }
        let status = Command::new("sh").args(["-c", "exit 42"]).status().unwrap();
        assert_eq!(status.into_raw(), wait::exited(42));
    }

    #[test]
    fn names_cover_the_classic_signals_only() {
        assert_eq!(name(SIGTERM), Some("TERM"));
        assert_eq!(name(SIGSYS), Some("SYS"));
        assert_eq!((name(0), name(SIGRT_FIRST), name(-1)), (None, None, None));
        assert!(is_signal(SIGRT_LAST) && !is_signal(0) && !is_signal(SIGRT_LAST + 1));
    }
}
