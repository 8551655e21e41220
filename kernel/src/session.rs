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
