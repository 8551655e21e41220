//! Signals: what `kill` may signal, and what a signal's default action
//! is. A native program has no handlers, so a signal sent to it takes its
//! default action; a Linux program's handlers, and its pending signals,
//! are the Linux personality's (`kernel::linux::signal`,
//! `kernel::linux::pending`, `kernel::linux::sigframe`): a signal with a
//! handler is made pending and the handler runs when a thread that does
//! not block it next returns to user mode. The default actions (signal(7)
//! on Linux; the numbers are `abi::signal`'s):
//!
//! * **terminate**: SIGHUP, SIGINT, SIGKILL, SIGUSR1, SIGUSR2, SIGPIPE,
//!   SIGALRM, SIGTERM, SIGSTKFLT, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, the
//!   real-time signals, and the ones whose action is "terminate and dump
//!   core" (SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV,
//!   SIGXCPU, SIGXFSZ, SIGSYS): no core file is written, so the wait status
//!   never has WCOREDUMP set (as on Linux with a zero core size limit);
//! * **ignore**: SIGCHLD, SIGURG, SIGWINCH: kill succeeds, nothing happens;
//! * **continue**: SIGCONT continues a stopped process (whatever its
//!   action: a handler then runs as well), and does nothing to one that
//!   runs;
//! * **stop**: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU stop the process until
//!   SIGCONT (`kernel::job`) — unless a Linux target has a handler for
//!   SIGTSTP, SIGTTIN or SIGTTOU, or ignores it.
//!
//! Init (pid 1) has no handlers either and, as on Linux, signals without a
//! handler never reach it: kill of pid 1 is checked like any other, then
//! has no effect.
//!
//! Who may signal whom is POSIX's rule: the sender is root (effective uid
//! 0), or its real or effective uid is the target's real or saved uid.
//! Which processes a kill names is Linux's: a pid, the sender's process
//! group (0), a process group (`-pgid`), or every process but init and the
//! sender (-1, which succeeds even if none of them may be signalled).

use abi::signal::*;
#[cfg(any(test, feature = "alloc"))]
use {abi::Errno, alloc::vec::Vec};

/// A process id.
pub type Pid = u32;

/// What a signal does to a process that receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The process ends, terminated by the signal.
    Terminate,
    /// Nothing.
    Ignore,
    /// A stopped process continues.
    Continue,
    /// The process stops until SIGCONT.
    Stop,
}

/// The default action of signal `sig`; `None` if it is not a signal.
pub const fn default_action(sig: i32) -> Option<Action> {
    if !is_signal(sig) {
        return None;
    }
    Some(match sig {
        SIGCHLD | SIGURG | SIGWINCH => Action::Ignore,
        SIGCONT => Action::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Action::Stop,
        _ => Action::Terminate,
    })
}

/// The signal that stands for CPU exception `vector` when a fault kills a
/// process (what its parent's wait status reports), as Linux chooses.
pub const fn fault_signal(vector: u8) -> i32 {
    match vector {
        0 | 16 | 19 => SIGFPE,  // #DE divide error, #MF x87, #XM SIMD
        1 | 3 => SIGTRAP,       // #DB debug, #BP breakpoint
        6 => SIGILL,            // #UD invalid opcode
        11 | 12 | 17 => SIGBUS, // #NP, #SS, #AC alignment check
        _ => SIGSEGV,           // #GP, #PF, #OF, #BR and the rest
    }
}

/// How a process ended, as its parent learns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// It called exit with this status.
    Exit(i32),
    /// The kernel killed it after CPU exception `vector`.
    Fault(u8),
    /// Signal `sig` terminated it (kill, alarm, or no memory for a
    /// copy-on-write page: SIGKILL, as Linux's out-of-memory killer).
    Signal(i32),
}

impl Death {
    /// The wait status `wait4` stores: an exit, or a termination by the
    /// signal (the fault's signal for a fault).
    pub const fn wait_status(self) -> i32 {
        match self {
            Death::Exit(code) => wait::exited(code),
            Death::Fault(vector) => wait::signaled(fault_signal(vector)),
            Death::Signal(sig) => wait::signaled(sig),
        }
    }

    /// The status the native `wait` returns (and init reports): the exit
    /// status, `KILLED_BASE + vector` for a fault, `SIGNALED_BASE + sig`
    /// for a signal.
    pub const fn status(self) -> i32 {
        match self {
            Death::Exit(code) => code,
            Death::Fault(vector) => abi::KILLED_BASE + vector as i32,
            Death::Signal(sig) => abi::SIGNALED_BASE + sig,
        }
    }
}

/// A process's user ids, as the permission rule reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ids {
    pub ruid: u32,
    pub euid: u32,
    /// The saved set-user-ID (the effective uid the program started with).
    pub suid: u32,
}

/// Whether a process with ids `sender` may signal one with ids `target`.
pub const fn may_signal(sender: Ids, target: Ids) -> bool {
    sender.euid == 0
        || sender.euid == target.ruid
        || sender.euid == target.suid
        || sender.ruid == target.ruid
        || sender.ruid == target.suid
}

/// A process as kill sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    pub pid: Pid,
    /// Its process group.
    pub pgid: Pid,
    pub ids: Ids,
}

/// `kill(pid, sig)` by `sender` among `procs` (every process that exists,
/// zombies too): the processes the signal goes to, whose dispositions
/// then decide what it does (none for a probe, or one sent only to init).
/// Errors, checked in this order: EINVAL (`sig` is neither 0 nor a
/// signal), ESRCH (no process named), EPERM (none of them may be
/// signalled, except for -1).
#[cfg(any(test, feature = "alloc"))]
pub fn kill(pid: i32, sig: i32, sender: &Process, procs: &[Process]) -> Result<Vec<Pid>, Errno> {
    let action = match sig {
        0 => None,
        s => Some(default_action(s).ok_or(Errno::EINVAL)?),
    };
    let named = |p: &&Process| match pid {
        0 => p.pgid == sender.pgid,
        -1 => p.pid != 1 && p.pid != sender.pid,
        p_id if p_id > 0 => p.pid == p_id as Pid,
        group => group != i32::MIN && p.pgid == group.unsigned_abs(),
    };
    let mut found = false;
    let permitted: Vec<Pid> = procs
        .iter()
        .filter(named)
        .inspect(|_| found = true)
        .filter(|p| may_signal(sender.ids, p.ids))
        .map(|p| p.pid)
        .collect();
    if !found {
        return Err(Errno::ESRCH);
    }
    if permitted.is_empty() && pid != -1 {
        return Err(Errno::EPERM);
    }
    match action {
        Some(_) => Ok(permitted.into_iter().filter(|&p| p != 1).collect()),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn ids(ruid: u32, euid: u32, suid: u32) -> Ids {
        Ids { ruid, euid, suid }
    }

    fn process(pid: Pid, pgid: Pid, uid: u32) -> Process {
        Process {
            pid,
            pgid,
            ids: ids(uid, uid, uid),
        }
    }

    #[test]
    fn default_actions_follow_signal_7() {
        let terminate = [
            SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
            SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM,
            SIGPROF, SIGIO, SIGPWR, SIGSYS,
        ];
        for sig in 1..=SIGRT_LAST {
            let expected = match sig {
                SIGCHLD | SIGURG | SIGWINCH => Action::Ignore,
                SIGCONT => Action::Continue,
                SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Action::Stop,
                s => {
                    assert!(terminate.contains(&s) || s >= SIGRT_FIRST, "signal {s}");
                    Action::Terminate
                }
            };
            assert_eq!(default_action(sig), Some(expected), "signal {sig}");
        }
        for bad in [0, -1, SIGRT_LAST + 1, i32::MIN] {
            assert_eq!(default_action(bad), None);
        }
    }

    #[test]
    fn deaths_give_wait_statuses_and_native_statuses_apart() {
        let exit = Death::Exit(7);
        assert_eq!((exit.wait_status(), exit.status()), (7 << 8, 7));
        let fault = Death::Fault(14);
        assert_eq!(wait::term_sig(fault.wait_status()), SIGSEGV);
        assert!(wait::if_signaled(fault.wait_status()));
        assert_eq!(fault.status(), 142);
        let alarm = Death::Signal(SIGALRM);
        assert!(wait::if_signaled(alarm.wait_status()));
        assert_eq!(wait::term_sig(alarm.wait_status()), SIGALRM);
        assert_eq!(alarm.status(), 174);
        let fault_statuses = abi::KILLED_BASE..abi::KILLED_BASE + 32;
        for sig in 1..=SIGRT_LAST {
            let status = Death::Signal(sig).status();
            assert!(!fault_statuses.contains(&status), "signal {sig}");
            assert_eq!(abi::exit_code::for_status(status), abi::exit_code::SIGNALED);
        }
        for vector in 0..32 {
            let status = Death::Fault(vector).status();
            assert_eq!(abi::exit_code::for_status(status), abi::exit_code::KILLED);
        }
    }

    #[test]
    fn faults_map_to_the_signals_linux_reports() {
        assert_eq!(fault_signal(14), SIGSEGV, "#PF");
        assert_eq!(fault_signal(13), SIGSEGV, "#GP");
        assert_eq!(fault_signal(6), SIGILL, "#UD");
        assert_eq!(fault_signal(0), SIGFPE, "#DE");
        assert_eq!(fault_signal(19), SIGFPE, "#XM");
        assert_eq!(fault_signal(3), SIGTRAP, "#BP");
        assert_eq!(fault_signal(17), SIGBUS, "#AC");
        for v in 0..32 {
            assert_eq!(default_action(fault_signal(v)), Some(Action::Terminate));
        }
    }

    #[test]
    fn permission_is_root_or_a_real_or_effective_uid_matching_a_real_or_saved_one() {
        let target = ids(10, 20, 30);
        for (sender, ok) in [
            (ids(5, 0, 5), true),    // root by effective uid
            (ids(0, 5, 5), false),   // a real uid of 0 alone is not root
            (ids(10, 5, 5), true),   // real = real
            (ids(30, 5, 5), true),   // real = saved
            (ids(5, 10, 5), true),   // effective = real
            (ids(5, 30, 5), true),   // effective = saved
            (ids(20, 5, 20), false), // the target's effective uid does not count
            (ids(5, 5, 10), false),  // nor does the sender's saved uid
        ] {
            assert_eq!(may_signal(sender, target), ok, "{sender:?}");
        }
    }

    /// Init (1, group 1, root); user 100's processes 5 and 6 (group 5)
    /// and 7 (group 7); user 200's process 8 (group 5).
    fn procs() -> [Process; 5] {
        [
            process(1, 1, 0),
            process(5, 5, 100),
            process(6, 5, 100),
            process(7, 7, 100),
            process(8, 5, 200),
        ]
    }

    #[test]
    fn kill_names_a_process_a_group_or_everyone() {
        let all = procs();
        let me = &all[1];
        assert_eq!(kill(7, SIGTERM, me, &all), Ok(vec![7]));
        assert_eq!(kill(5, SIGTERM, me, &all), Ok(vec![5]), "itself");
        assert_eq!(
            kill(0, SIGTERM, me, &all),
            Ok(vec![5, 6]),
            "its group, 8 not permitted"
        );
        assert_eq!(kill(-7, SIGKILL, me, &all), Ok(vec![7]));
        assert_eq!(
            kill(-1, SIGTERM, me, &all),
            Ok(vec![6, 7]),
            "not init, not itself"
        );
        let root = Process {
            ids: Ids::default(),
            ..all[3]
        };
        assert_eq!(kill(-1, SIGTERM, &root, &all), Ok(vec![5, 6, 8]));
    }

    #[test]
    fn kill_errors_come_in_order() {
        let all = procs();
        let me = &all[1];
        assert_eq!(kill(7, 65, me, &all), Err(Errno::EINVAL));
        assert_eq!(
            kill(99, 65, me, &all),
            Err(Errno::EINVAL),
            "bad signal first"
        );
        assert_eq!(kill(99, SIGTERM, me, &all), Err(Errno::ESRCH));
        assert_eq!(
            kill(-99, SIGTERM, me, &all),
            Err(Errno::ESRCH),
            "empty group"
        );
        assert_eq!(kill(i32::MIN, SIGTERM, me, &all), Err(Errno::ESRCH));
        assert_eq!(
            kill(8, SIGTERM, me, &all),
            Err(Errno::EPERM),
            "another user's"
        );
        assert_eq!(
            kill(8, 0, me, &all),
            Err(Errno::EPERM),
            "a probe checks too"
        );
        assert_eq!(kill(8, SIGSTOP, me, &all), Err(Errno::EPERM));
        assert_eq!(kill(7, SIGSTOP, me, &all), Ok(vec![7]));
        assert_eq!(kill(-5, SIGSTOP, me, &all), Ok(vec![5, 6]), "a group");
        assert_eq!(kill(99, SIGTSTP, me, &all), Err(Errno::ESRCH));
        let other = &all[4];
        let alone = [all[0], all[1], all[4]];
        assert_eq!(
            kill(-1, SIGTERM, other, &alone),
            Ok(vec![]),
            "-1 permits nothing, still 0"
        );
        let only_me = [all[1]];
        assert_eq!(kill(-1, SIGTERM, me, &only_me), Err(Errno::ESRCH));
    }

    #[test]
    fn probes_reach_nothing_nor_does_anything_sent_to_init() {
        let all = procs();
        let me = &all[1];
        assert_eq!(kill(7, 0, me, &all), Ok(vec![]));
        for sig in [SIGCHLD, SIGURG, SIGWINCH, SIGCONT, SIGTSTP, SIGSTOP] {
            assert_eq!(kill(7, sig, me, &all), Ok(vec![7]), "signal {sig}");
        }
        let root = Process {
            ids: Ids::default(),
            ..all[1]
        };
        assert_eq!(kill(1, SIGKILL, &root, &all), Ok(vec![]), "init ignores it");
        assert_eq!(kill(1, SIGSTOP, &root, &all), Ok(vec![]), "nor stops");
        assert_eq!(kill(1, 0, &root, &all), Ok(vec![]), "but exists");
        assert_eq!(kill(1, SIGKILL, me, &all), Err(Errno::EPERM));
    }
}
