//! Process groups and sessions: what `setpgid`, `setsid`, `getpgid` and
//! `getsid` decide, with Linux's rules and errors (setpgid(2), setsid(2),
//! getsid(2)). Every process is in a process group and a session; a fork's
//! child is in its parent's, and exec keeps both. Init is the leader of
//! session 1 and group 1; a program init (or any spawn) starts leads a
//! group of its own in its parent's session (as a shell's job). A group
//! never spans sessions, and a session leader (`sid == pid`) stays the
//! leader of its own group, so no process can join a group in another
//! session or leave a group for one whose id is a session leader's.

use crate::signal::Pid;
use abi::Errno;
use abi::signal::{SIGTSTP, SIGTTIN, SIGTTOU};
#[cfg(any(test, feature = "alloc"))]
use alloc::vec::Vec;

/// Init: it adopts the children of a process that ends.
pub const INIT: Pid = 1;

/// A process as these calls see it (every process that exists, zombies
/// too, as Linux's pid lookups find them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub pid: Pid,
    pub parent: Pid,
    /// Its process group.
    pub pgid: Pid,
    /// Its session.
    pub sid: Pid,
    /// It has run a program since it was forked (exec, or a spawn).
    pub execed: bool,
    /// It is stopped (`kernel::job`).
    pub stopped: bool,
    /// It has exited (a zombie).
    pub exited: bool,
}

/// The process `pid` names for `getpgid`/`getsid` by `caller` (0: the
/// caller itself); ESRCH if none.
fn named(caller: Pid, pid: i32, procs: &[Member]) -> Result<&Member, Errno> {
    let pid = match pid {
        0 => caller,
        p => Pid::try_from(p).map_err(|_| Errno::ESRCH)?,
    };
    procs.iter().find(|p| p.pid == pid).ok_or(Errno::ESRCH)
}

/// `getpgid(pid)` by `caller`: the group of process `pid` (0: the caller).
pub fn getpgid(caller: Pid, pid: i32, procs: &[Member]) -> Result<Pid, Errno> {
    named(caller, pid, procs).map(|p| p.pgid)
}

/// `getsid(pid)` by `caller`: the session of process `pid` (0: the caller).
pub fn getsid(caller: Pid, pid: i32, procs: &[Member]) -> Result<Pid, Errno> {
    named(caller, pid, procs).map(|p| p.sid)
}

/// `setpgid(pid, pgid)` by `caller`: the process to move and the group it
/// joins (its own pid: a new group it leads). `pid` 0 is the caller,
/// `pgid` 0 is `pid`. Errors, in Linux's order: EINVAL (`pgid`
/// negative), ESRCH (`pid` is neither the caller nor a child of it),
/// EPERM (a child in another session), EACCES (a child that has run a
/// program since its fork), EPERM (`pid` leads a session, or `pgid` is
/// neither `pid` nor a group in the caller's session).
pub fn setpgid(caller: Pid, pid: i32, pgid: i32, procs: &[Member]) -> Result<(Pid, Pid), Errno> {
    let pid = if pid == 0 { caller as i32 } else { pid };
    let pgid = if pgid == 0 { pid } else { pgid };
    let pgid = Pid::try_from(pgid).map_err(|_| Errno::EINVAL)?;
    let me = procs.iter().find(|p| p.pid == caller).ok_or(Errno::ESRCH)?;
    let target = Pid::try_from(pid)
        .ok()
        .and_then(|pid| procs.iter().find(|p| p.pid == pid))
        .ok_or(Errno::ESRCH)?;
    if target.pid != caller {
        if target.parent != caller {
            return Err(Errno::ESRCH);
        }
        if target.sid != me.sid {
            return Err(Errno::EPERM);
        }
        if target.execed {
            return Err(Errno::EACCES);
        }
    }
    if target.sid == target.pid {
        return Err(Errno::EPERM);
    }
    let group_here = procs.iter().any(|p| p.pgid == pgid && p.sid == me.sid);
    if pgid != target.pid && !group_here {
        return Err(Errno::EPERM);
    }
    Ok((target.pid, pgid))
}

/// `setsid()` by `caller`: the new session's id (the caller's pid), which
/// is also the id of the new group the caller then leads, alone. EPERM if
/// a group has the caller's pid as its id (the caller leads it, or led it
/// and others are still in it), as Linux, or the caller leads a session.
pub fn setsid(caller: Pid, procs: &[Member]) -> Result<Pid, Errno> {
    let taken = procs
        .iter()
        .any(|p| p.pgid == caller || (p.pid == caller && p.sid == caller));
    if taken {
        return Err(Errno::EPERM);
    }
    Ok(caller)
}

/// A change that may orphan process groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Process `pid` ends: it has exited, and init adopts its children.
    Exit(Pid),
    /// Process `pid` joins group `pgid` of session `sid` (`setpgid`,
    /// `setsid`).
    Move { pid: Pid, pgid: Pid, sid: Pid },
}

#[cfg(any(test, feature = "alloc"))]
impl Change {
    /// Process `m` as it is once the change is made.
    fn apply(self, m: Member) -> Member {
        match self {
            Change::Exit(pid) if m.pid == pid => Member {
                exited: true,
                stopped: false,
                ..m
            },
            Change::Exit(pid) if m.parent == pid => Member { parent: INIT, ..m },
            Change::Move { pid, pgid, sid } if m.pid == pid => Member { pgid, sid, ..m },
            _ => m,
        }
    }
}

/// Whether group `pgid` is orphaned among `procs`, each seen through
/// `view`: no member that has not exited has its parent in another group
/// of the same session.
fn orphaned_as(pgid: Pid, procs: &[Member], view: impl Fn(Member) -> Member) -> bool {
    let parent = |m: &Member| procs.iter().find(|p| p.pid == m.parent).map(|&p| view(p));
    !procs
        .iter()
        .map(|&m| view(m))
        .filter(|m| m.pgid == pgid && !m.exited)
        .any(|m| parent(&m).is_some_and(|p| p.pgid != pgid && p.sid == m.sid))
}

/// Whether group `pgid` is orphaned among `procs`.
pub fn orphaned(pgid: Pid, procs: &[Member]) -> bool {
    orphaned_as(pgid, procs, |m| m)
}

/// The groups that `change` to `procs` orphans while a member is stopped,
/// each once: every member then gets SIGHUP, then SIGCONT (Linux's
/// `kill_orphaned_pgrp`). Only the groups of the process that changes and
/// of its children can lose the parent that held them.
#[cfg(any(test, feature = "alloc"))]
pub fn hang_ups(change: Change, procs: &[Member]) -> Vec<Pid> {
    let pid = match change {
        Change::Exit(pid) | Change::Move { pid, .. } => pid,
    };
    // A group a process joins gains its parent; it can lose only the
    // parent its children had there, and theirs are among these.
    let mut groups: Vec<Pid> = procs
        .iter()
        .filter(|m| m.pid == pid || (m.parent == pid && !m.exited))
        .map(|m| m.pgid)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups.retain(|&g| {
        let stopped = procs
            .iter()
            .map(|&m| change.apply(m))
            .any(|m| m.pgid == g && m.stopped && !m.exited);
        stopped && !orphaned(g, procs) && orphaned_as(g, procs, |m| change.apply(m))
    });
    groups
}

/// Whether stop signal `sig` sent to process `pid` at its default action
/// is discarded rather than stopping it: SIGTSTP, SIGTTIN and SIGTTOU in
/// an orphaned group (SIGSTOP always stops).
pub fn discards_stop(sig: u32, pid: Pid, procs: &[Member]) -> bool {
    let terminal = [SIGTSTP, SIGTTIN, SIGTTOU].contains(&(sig as i32));
    terminal
        && procs
            .iter()
            .find(|p| p.pid == pid)
            .is_some_and(|p| orphaned(p.pgid, procs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const fn member(pid: Pid, parent: Pid, pgid: Pid, sid: Pid, execed: bool) -> Member {
        Member {
            pid,
            parent,
            pgid,
            sid,
            execed,
            stopped: false,
            exited: false,
        }
    }

    /// Init (session and group 1); 5 leads a group in session 1 and has
    /// children 6 (forked, its group) and 7 (has exec'd); 8 leads session
    /// 8 and is a child of 5; 9 is 8's child in session 8, group 8.
    fn procs() -> [Member; 6] {
        [
            member(1, 0, 1, 1, true),
            member(5, 1, 5, 1, true),
            member(6, 5, 5, 1, false),
            member(7, 5, 5, 1, true),
            member(8, 5, 8, 8, false),
            member(9, 8, 8, 8, false),
        ]
    }

    #[test]
    fn setpgid_moves_the_caller_or_a_child_within_the_session() {
        let all = procs();
        assert_eq!(setpgid(6, 0, 0, &all), Ok((6, 6)), "a group of its own");
        assert_eq!(setpgid(5, 6, 0, &all), Ok((6, 6)), "its child's");
        assert_eq!(setpgid(5, 6, 6, &all), Ok((6, 6)));
        assert_eq!(
            setpgid(6, 6, 1, &all),
            Ok((6, 1)),
            "init's group, same session"
        );
        assert_eq!(setpgid(5, 6, 5, &all), Ok((6, 5)), "where it is already");
        assert_eq!(setpgid(9, 0, 9, &all), Ok((9, 9)));
    }

    #[test]
    fn setpgid_errors_come_in_linux_order() {
        let all = procs();
        assert_eq!(setpgid(5, 6, -1, &all), Err(Errno::EINVAL));
        assert_eq!(
            setpgid(5, -6, 0, &all),
            Err(Errno::EINVAL),
            "pgid = pid < 0"
        );
        assert_eq!(setpgid(5, -6, 5, &all), Err(Errno::ESRCH));
        assert_eq!(
            setpgid(5, 99, 5, &all),
            Err(Errno::ESRCH),
            "no such process"
        );
        assert_eq!(setpgid(6, 7, 6, &all), Err(Errno::ESRCH), "a sibling");
        assert_eq!(setpgid(5, 9, 9, &all), Err(Errno::ESRCH), "a grandchild");
        assert_eq!(setpgid(5, 8, 5, &all), Err(Errno::EPERM), "another session");
        assert_eq!(setpgid(5, 7, 7, &all), Err(Errno::EACCES), "it has exec'd");
        assert_eq!(
            setpgid(8, 0, 5, &all),
            Err(Errno::EPERM),
            "a session leader"
        );
        assert_eq!(
            setpgid(9, 0, 5, &all),
            Err(Errno::EPERM),
            "5 is in session 1"
        );
        assert_eq!(setpgid(6, 0, 42, &all), Err(Errno::EPERM), "no group 42");
        assert_eq!(
            setpgid(6, 0, 7, &all),
            Err(Errno::EPERM),
            "7 leads no group"
        );
    }

    #[test]
    fn setsid_needs_a_caller_that_names_no_group() {
        let all = procs();
        assert_eq!(setsid(6, &all), Ok(6));
        assert_eq!(setsid(5, &all), Err(Errno::EPERM), "a group leader");
        assert_eq!(setsid(8, &all), Err(Errno::EPERM), "a session leader");
        let left = [member(1, 0, 1, 1, true), member(6, 1, 5, 1, false)];
        assert_eq!(setsid(6, &left), Ok(6), "group 5's leader gone");
    }

    #[test]
    fn getpgid_and_getsid_name_the_caller_or_any_process() {
        let all = procs();
        assert_eq!(getpgid(6, 0, &all), Ok(5));
        assert_eq!(getpgid(6, 9, &all), Ok(8), "in another session too");
        assert_eq!(getsid(6, 0, &all), Ok(1));
        assert_eq!(getsid(1, 9, &all), Ok(8));
        for bad in [99, -1, i32::MIN] {
            assert_eq!(getpgid(6, bad, &all), Err(Errno::ESRCH));
            assert_eq!(getsid(6, bad, &all), Err(Errno::ESRCH));
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// The process at this index forks.
        Fork(usize),
        /// It execs.
        Exec(usize),
        /// It ends and is reaped; its children go to init.
        Exit(usize),
        /// A process calls setpgid with a pid and a pgid from small ids.
        SetPgid(usize, i32, i32),
        /// It calls setsid.
        SetSid(usize),
    }

    /// Why a `setpgid` of `(pid, pgid)` (both resolved: not 0) by
    /// `caller` must fail, by setpgid(2)'s list; empty: it must succeed.
    fn reasons(caller: &Member, pid: i32, pgid: i32, procs: &[Member]) -> Vec<Errno> {
        let mut why = Vec::new();
        if pgid < 0 {
            why.push(Errno::EINVAL);
        }
        let target = procs.iter().find(|p| i64::from(p.pid) == i64::from(pid));
        let Some(t) = target.filter(|t| t.pid == caller.pid || t.parent == caller.pid) else {
            why.push(Errno::ESRCH);
            return why;
        };
        let foreign_child = t.pid != caller.pid && t.sid != caller.sid;
        if foreign_child {
            why.push(Errno::EPERM);
        }
        if t.pid != caller.pid && t.execed {
            why.push(Errno::EACCES);
        }
        let in_session = |g: i64| {
            procs
                .iter()
                .any(|p| i64::from(p.pgid) == g && p.sid == caller.sid)
        };
        let no_group = i64::from(pgid) != i64::from(t.pid) && !in_session(i64::from(pgid));
        if t.sid == t.pid || no_group {
            why.push(Errno::EPERM);
        }
        why
    }

    /// Groups stay within sessions, and a session leader leads its group.
    fn check_invariants(procs: &[Member]) -> Result<(), TestCaseError> {
        for p in procs {
            for q in procs.iter().filter(|q| q.pgid == p.pgid) {
                prop_assert_eq!(q.sid, p.sid, "group {} spans sessions", p.pgid);
            }
            if p.sid == p.pid {
                prop_assert_eq!(p.pgid, p.pid, "session leader {} left its group", p.pid);
            }
        }
        Ok(())
    }

    proptest! {
        /// Random forks, execs, exits and calls from init's session: every
        /// outcome of `setpgid` is one setpgid(2) allows (an error among
        /// the reasons that hold, success only when none does, and the
        /// first reason in Linux's order when several do), `setsid`
        /// succeeds exactly when no group has the caller's id, and groups
        /// never span sessions.
        #[test]
        fn outcomes_follow_the_manual_and_groups_stay_in_sessions(
            ops in proptest::collection::vec(prop_oneof![
                3 => any::<usize>().prop_map(Op::Fork),
                1 => any::<usize>().prop_map(Op::Exec),
                1 => any::<usize>().prop_map(Op::Exit),
                4 => (any::<usize>(), -2..14i32, -2..14i32)
                    .prop_map(|(c, p, g)| Op::SetPgid(c, p, g)),
                2 => any::<usize>().prop_map(Op::SetSid),
            ], 1..80),
        ) {
            let mut procs = std::vec![member(1, 0, 1, 1, true)];
            let mut next = 2;
            for op in ops {
                let n = procs.len();
                match op {
                    Op::Fork(i) if next < 14 => {
                        let parent = procs[i % n];
                        procs.push(Member { pid: next, parent: parent.pid, execed: false, ..parent });
                        next += 1;
                    }
                    Op::Fork(_) => {}
                    Op::Exec(i) => procs[i % n].execed = true,
                    Op::Exit(i) if procs[i % n].pid != 1 => {
                        let gone = procs.remove(i % n).pid;
                        for p in procs.iter_mut().filter(|p| p.parent == gone) {
                            p.parent = 1;
                        }
                    }
                    Op::Exit(_) => {}
                    Op::SetPgid(i, pid, pgid) => {
                        let caller = procs[i % n];
                        let resolved = if pid == 0 { caller.pid as i32 } else { pid };
                        let group = if pgid == 0 { resolved } else { pgid };
                        let why = reasons(&caller, resolved, group, &procs);
                        match setpgid(caller.pid, pid, pgid, &procs) {
                            Ok((target, joined)) => {
                                prop_assert!(why.is_empty(), "succeeded despite {:?}", why);
                                prop_assert_eq!((target as i32, joined as i32), (resolved, group));
                                let t = procs.iter_mut().find(|p| p.pid == target).expect("found");
                                t.pgid = joined;
                            }
                            Err(e) => prop_assert_eq!(Some(&e), why.first(), "{:?}", why),
                        }
                    }
                    Op::SetSid(i) => {
                        let caller = procs[i % n].pid;
                        let named = procs.iter().any(|p| p.pgid == caller);
                        match setsid(caller, &procs) {
                            Ok(sid) => {
                                prop_assert!(!named);
                                prop_assert_eq!(sid, caller);
                                let p = &mut procs[i % n];
                                (p.pgid, p.sid) = (sid, sid);
                            }
                            Err(e) => {
                                prop_assert_eq!(e, Errno::EPERM);
                                prop_assert!(named || procs[i % n].sid == caller);
                            }
                        }
                    }
                }
                check_invariants(&procs)?;
            }
        }
    }
}

#[cfg(test)]
mod orphan_tests {
    use super::*;
    use abi::signal::SIGSTOP;
    use proptest::prelude::*;
    use std::vec::Vec;

    const fn process(pid: Pid, parent: Pid, pgid: Pid, sid: Pid, stopped: bool) -> Member {
        Member {
            pid,
            parent,
            pgid,
            sid,
            execed: false,
            stopped,
            exited: false,
        }
    }

    /// Init; 5, a program init started (group 5); 6, its child, leads
    /// session 6; 7 and 8, 6's children, in group 7 of session 6.
    fn sessions(stopped: bool) -> [Member; 5] {
        [
            process(1, 0, 1, 1, false),
            process(5, 1, 5, 1, false),
            process(6, 5, 6, 6, false),
            process(7, 6, 7, 6, stopped),
            process(8, 6, 7, 6, stopped),
        ]
    }

    #[test]
    fn an_exit_that_orphans_a_stopped_group_hangs_it_up() {
        let all = sessions(true);
        assert!(!orphaned(7, &all), "6 holds it");
        assert_eq!(hang_ups(Change::Exit(6), &all), [7], "init is in session 1");
        assert_eq!(
            hang_ups(Change::Exit(6), &sessions(false)),
            [],
            "none stopped"
        );
        assert!(orphaned(6, &all), "its parent is in another session");
        let gone = [all[0], all[1], all[3], all[4]];
        assert_eq!(hang_ups(Change::Exit(7), &gone), [], "orphaned already");
        assert!(!orphaned(5, &all), "init holds what it started");
        assert!(orphaned(1, &all), "init's parent is none");
    }

    #[test]
    fn leaving_for_another_session_can_orphan_a_childs_group() {
        let all = [
            process(1, 0, 1, 1, false),
            process(5, 1, 5, 1, false),
            process(6, 5, 5, 1, false),
            process(7, 6, 7, 1, true),
        ];
        let setsid = Change::Move {
            pid: 6,
            pgid: 6,
            sid: 6,
        };
        assert_eq!(hang_ups(setsid, &all), [7]);
        let setpgid = Change::Move {
            pid: 6,
            pgid: 7,
            sid: 1,
        };
        assert_eq!(hang_ups(setpgid, &all), [], "6 joins 7, and 5 holds it");
    }

    #[test]
    fn only_terminal_stops_are_discarded_and_only_in_orphaned_groups() {
        let all = sessions(false);
        for sig in [SIGTSTP, SIGTTIN, SIGTTOU] {
            assert!(discards_stop(sig as u32, 6, &all), "signal {sig}");
            assert!(!discards_stop(sig as u32, 5, &all), "signal {sig}");
        }
        assert!(!discards_stop(SIGSTOP as u32, 6, &all));
        assert!(!discards_stop(SIGTSTP as u32, 99, &all), "no such process");
    }

    /// POSIX's definition, read directly: the parent of every member is
    /// either a member or outside the group's session (one that exited is
    /// no member).
    fn orphaned_by_definition(pgid: Pid, procs: &[Member]) -> bool {
        procs
            .iter()
            .filter(|m| m.pgid == pgid && !m.exited)
            .all(|m| match procs.iter().find(|p| p.pid == m.parent) {
                None => true,
                Some(parent) => parent.pgid == pgid || parent.sid != m.sid,
            })
    }

    /// The groups of `after` orphaned there, not in `before`, with a member
    /// stopped.
    fn newly_orphaned(before: &[Member], after: &[Member]) -> Vec<Pid> {
        let mut groups: Vec<Pid> = after
            .iter()
            .filter(|m| m.stopped && !m.exited)
            .map(|m| m.pgid)
            .filter(|&g| orphaned_by_definition(g, after) && !orphaned_by_definition(g, before))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    #[derive(Debug, Clone)]
    enum Op {
        Fork(usize),
        /// It exits (its children go to init).
        Exit(usize),
        /// Its parent waits for it (if it has exited).
        Reap(usize),
        /// A process calls setpgid for a process, into the group of a
        /// third or a new one (each chosen by index: the call may fail).
        SetPgid(usize, usize, usize),
        SetSid(usize),
        /// It is sent SIGSTOP (19) or SIGTSTP, SIGTTIN, SIGTTOU (20..=22).
        Stop(usize, u32),
        Cont(usize),
    }

    proptest! {
        /// Random forks, exits, reaps, group and session changes, stops
        /// and continues: `hang_ups` names exactly the groups that each
        /// change orphans while a member is stopped (their members then
        /// continue), and `discards_stop` discards a stop exactly when the
        /// definition says the group is orphaned and the signal is not
        /// SIGSTOP.
        #[test]
        fn orphans_follow_the_definition(
            ops in proptest::collection::vec(prop_oneof![
                3 => any::<usize>().prop_map(Op::Fork),
                2 => any::<usize>().prop_map(Op::Exit),
                1 => any::<usize>().prop_map(Op::Reap),
                4 => (any::<usize>(), any::<usize>(), any::<usize>())
                    .prop_map(|(c, p, g)| Op::SetPgid(c, p, g)),
                2 => any::<usize>().prop_map(Op::SetSid),
                3 => (any::<usize>(), 19..=22u32).prop_map(|(i, s)| Op::Stop(i, s)),
                1 => any::<usize>().prop_map(Op::Cont),
            ], 1..80),
        ) {
            let mut procs = std::vec![process(INIT, 0, INIT, INIT, false)];
            let mut next = 2;
            for op in ops {
                let n = procs.len();
                let before = procs.clone();
                let change = match op {
                    Op::Fork(i) if next < 14 && !procs[i % n].exited => {
                        let parent = procs[i % n];
                        procs.push(Member { pid: next, parent: parent.pid, stopped: false, ..parent });
                        next += 1;
                        None
                    }
                    Op::Exit(i) if procs[i % n].pid != INIT && !procs[i % n].exited => {
                        let gone = procs[i % n].pid;
                        (procs[i % n].exited, procs[i % n].stopped) = (true, false);
                        for p in procs.iter_mut().filter(|p| p.parent == gone) {
                            p.parent = INIT;
                        }
                        Some(Change::Exit(gone))
                    }
                    Op::Reap(i) if procs[i % n].exited => {
                        procs.remove(i % n);
                        None
                    }
                    Op::SetPgid(i, j, k) if !procs[i % n].exited => {
                        let pid = procs[j % n].pid as i32;
                        let pgid = procs.get(k % (n + 1)).map_or(0, |p| p.pgid as i32);
                        setpgid(procs[i % n].pid, pid, pgid, &procs).ok().map(|(target, group)| {
                            let t = procs.iter_mut().find(|p| p.pid == target).expect("found");
                            t.pgid = group;
                            Change::Move { pid: target, pgid: group, sid: t.sid }
                        })
                    }
                    Op::SetSid(i) if !procs[i % n].exited => {
                        setsid(procs[i % n].pid, &procs).ok().map(|sid| {
                            let p = &mut procs[i % n];
                            (p.pgid, p.sid) = (sid, sid);
                            Change::Move { pid: sid, pgid: sid, sid }
                        })
                    }
                    Op::Stop(i, sig) if !procs[i % n].exited => {
                        let p = procs[i % n];
                        let discard = sig != SIGSTOP as u32 && orphaned_by_definition(p.pgid, &procs);
                        prop_assert_eq!(discards_stop(sig, p.pid, &procs), discard);
                        procs[i % n].stopped |= !discard;
                        None
                    }
                    Op::Cont(i) => {
                        procs[i % n].stopped = false;
                        None
                    }
                    _ => None,
                };
                let Some(change) = change else { continue };
                let hung = hang_ups(change, &before);
                prop_assert_eq!(&hung, &newly_orphaned(&before, &procs), "{:?}", change);
                for p in procs.iter_mut().filter(|p| hung.contains(&p.pgid)) {
                    p.stopped = false;
                }
            }
        }
    }
}
