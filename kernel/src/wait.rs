//! Which child `wait4(pid, &status, options, NULL)` reaps, as Linux
//! chooses: `pid > 0` that child, `-1` any child, `0` a child in the
//! caller's process group, `< -1` a child in group `-pid`. A child that
//! has exited (a zombie) is reaped, the oldest when several have (Linux
//! takes the first in its list of children, which is in creation order;
//! pids here only grow, so that is the lowest pid). With WUNTRACED a
//! child's stop not yet reported counts too, with WCONTINUED its continue
//! (`kernel::job`): the first child in that order with something to
//! report is reported, as Linux walks its children (a zombie is reaped, a
//! stop or a continue reported once, the child kept). If none has
//! anything, the caller blocks until one exits (or stops, or continues,
//! as its options ask), or with WNOHANG returns 0 at once. No child
//! matches: ECHILD. Unknown option bits: EINVAL.

use crate::job::{Job, Report};
use crate::signal::Death;
use abi::Errno;
use abi::signal::wait::OPTIONS;
pub use abi::signal::wait::{WCONTINUED, WNOHANG, WUNTRACED};

/// A process id.
pub type Pid = u32;

/// A child of the waiting process, as wait sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    pub pid: Pid,
    /// Its process group.
    pub pgid: Pid,
    /// It has exited (a zombie until reaped).
    pub exited: bool,
    /// Its job-control state (what its stops and continues left to report).
    pub job: Job,
}

/// What wait4 reports of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// It ended so (it is reaped).
    Ended(Death),
    /// It stopped or continued (it is still there).
    Changed(Report),
}

impl Waited {
    /// The wait status `wait4` stores.
    pub const fn wait_status(self) -> i32 {
        match self {
            Waited::Ended(death) => death.wait_status(),
            Waited::Changed(report) => report.wait_status(),
        }
    }
}

/// What a wait4 call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reap {
    /// Reap this zombie: report its pid and wait status, forget it.
    Child(Pid),
    /// Report this change of this child (once: it is reported then).
    Changed(Pid, Report),
    /// WNOHANG and no matching child has anything to report: return 0.
    NotYet,
    /// Block until a child exits, stops or continues, then ask again.
    Block,
}

/// wait4 by a process in group `pgid` with `children` (every child not
/// yet reaped, in any order).
pub fn reap(pid: i32, options: u32, pgid: Pid, children: &[Child]) -> Result<Reap, Errno> {
    if options & !OPTIONS != 0 {
        return Err(Errno::EINVAL);
    }
    let matches = |c: &&Child| match pid {
        -1 => true,
        0 => c.pgid == pgid,
        p if p > 0 => c.pid == p as Pid,
        group => group != i32::MIN && c.pgid == group.unsigned_abs(),
    };
    let mut matching = children.iter().filter(matches).peekable();
    if matching.peek().is_none() {
        return Err(Errno::ECHILD);
    }
    let event = |c: &Child| match c.exited {
        true => Some(Reap::Child(c.pid)),
        false => c.job.report(options).map(|r| Reap::Changed(c.pid, r)),
    };
    let oldest = matching
        .filter_map(|c| Some((c.pid, event(c)?)))
        .min_by_key(|&(pid, _)| pid);
    Ok(match oldest {
        Some((_, reap)) => reap,
        None if options & WNOHANG != 0 => Reap::NotYet,
        None => Reap::Block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn child(pid: Pid, pgid: Pid, exited: bool) -> Child {
        Child {
            pid,
            pgid,
            exited,
            job: Job::RUNNING,
        }
    }

    const CHILDREN: [Child; 4] = [
        child(7, 6, false),
        child(6, 6, true),
        child(4, 2, false),
        child(5, 2, true),
    ];

    #[test]
    fn the_first_zombie_among_the_named_children_is_reaped() {
        assert_eq!(reap(-1, 0, 2, &CHILDREN), Ok(Reap::Child(5)), "the oldest");
        assert_eq!(
            reap(0, 0, 2, &CHILDREN),
            Ok(Reap::Child(5)),
            "the caller's group"
        );
        assert_eq!(reap(-6, 0, 2, &CHILDREN), Ok(Reap::Child(6)));
        assert_eq!(reap(5, WNOHANG, 2, &CHILDREN), Ok(Reap::Child(5)));
    }

    #[test]
    fn a_running_child_blocks_the_caller_or_wnohang_returns_at_once() {
        assert_eq!(reap(4, 0, 2, &CHILDREN), Ok(Reap::Block));
        assert_eq!(reap(7, WNOHANG, 2, &CHILDREN), Ok(Reap::NotYet));
        let options = WUNTRACED | WCONTINUED | WNOHANG;
        assert_eq!(reap(4, options, 2, &CHILDREN), Ok(Reap::NotYet));
        let running = [child(4, 2, false)];
        assert_eq!(reap(-1, 0, 2, &running), Ok(Reap::Block));
    }

    #[test]
    fn no_matching_child_is_echild_and_bad_options_einval() {
        assert_eq!(reap(-1, 0, 2, &[]), Err(Errno::ECHILD));
        assert_eq!(reap(9, 0, 2, &CHILDREN), Err(Errno::ECHILD), "not a child");
        assert_eq!(reap(-9, 0, 2, &CHILDREN), Err(Errno::ECHILD), "empty group");
        assert_eq!(reap(0, 0, 3, &CHILDREN), Err(Errno::ECHILD));
        assert_eq!(reap(i32::MIN, 0, 2, &CHILDREN), Err(Errno::ECHILD));
        assert_eq!(reap(-1, 0x10, 2, &CHILDREN), Err(Errno::EINVAL));
        assert_eq!(
            reap(9, 4, 2, &CHILDREN),
            Err(Errno::EINVAL),
            "options first"
        );
    }

    #[test]
    fn stops_and_continues_are_reported_when_asked_for() {
        let mut stopped = child(4, 2, false);
        stopped.job.stop(19);
        let mut continued = child(7, 6, false);
        continued.job.stop(20);
        continued.job.resume();
        let children = [continued, child(6, 6, true), stopped];
        assert_eq!(reap(4, WNOHANG, 2, &children), Ok(Reap::NotYet));
        assert_eq!(reap(4, 0, 2, &children), Ok(Reap::Block), "not asked for");
        assert_eq!(
            reap(4, WUNTRACED, 2, &children),
            Ok(Reap::Changed(4, Report::Stopped(19)))
        );
        assert_eq!(
            reap(-1, WUNTRACED | WCONTINUED, 2, &children),
            Ok(Reap::Changed(4, Report::Stopped(19))),
            "the first child with something to report"
        );
        assert_eq!(reap(-6, WUNTRACED, 2, &children), Ok(Reap::Child(6)));
        assert_eq!(
            reap(7, WCONTINUED, 2, &children),
            Ok(Reap::Changed(7, Report::Continued))
        );
        assert_eq!(reap(7, WUNTRACED | WNOHANG, 2, &children), Ok(Reap::NotYet));
    }

    /// What a model child went through: its changes in order, and how
    /// many of them its parent's wait has seen.
    #[derive(Clone, Debug)]
    struct ModelChild {
        pid: Pid,
        pgid: Pid,
        exited: bool,
        changes: Vec<Report>,
        seen: usize,
    }

    impl ModelChild {
        fn stopped(&self) -> bool {
            matches!(self.changes.last(), Some(Report::Stopped(_)))
        }

        /// What it has to report to a wait with `options`: its exit, or
        /// its latest change if never seen and asked for.
        fn event(&self, options: u32) -> Option<Reap> {
            if self.exited {
                return Some(Reap::Child(self.pid));
            }
            let latest = *self.changes.last()?;
            let asked = match latest {
                Report::Stopped(_) => options & WUNTRACED != 0,
                Report::Continued => options & WCONTINUED != 0,
            };
            (self.seen < self.changes.len() && asked).then_some(Reap::Changed(self.pid, latest))
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Stop(usize, u32),
        Continue(usize),
        Exit(usize),
        Wait(i32, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        let options = (0u32..16).prop_map(|o| o & (WNOHANG | WUNTRACED | WCONTINUED));
        prop_oneof![
            (0usize..4, 19u32..=22).prop_map(|(i, s)| Op::Stop(i, s)),
            (0usize..4).prop_map(Op::Continue),
            (0usize..4).prop_map(Op::Exit),
            (
                prop_oneof![Just(-1), Just(0), Just(-2), Just(-3), 10i32..14],
                options
            )
                .prop_map(|(p, o)| Op::Wait(p, o)),
        ]
    }

    use alloc::vec::Vec;
    use proptest::prelude::*;

    proptest! {
        /// Children 10..=13 (groups 2, 3, 2, 3) stop, continue and exit;
        /// the parent (group 2) waits: what `Job` and `reap` report is
        /// what the model's histories say, each change at most once.
        #[test]
        fn waits_report_what_the_histories_say(ops in proptest::collection::vec(op(), 1..60)) {
            let mut real: Vec<(Child, bool)> = (0..4u32)
                .map(|i| (child(10 + i, 2 + i % 2, false), true))
                .collect();
            let mut model: Vec<ModelChild> = real
                .iter()
                .map(|(c, _)| ModelChild { pid: c.pid, pgid: c.pgid, exited: false, changes: Vec::new(), seen: 0 })
                .collect();
            for op in ops {
                match op {
                    Op::Stop(i, sig) if real[i].1 && !real[i].0.exited => {
                        let told = real[i].0.job.stop(sig);
                        let was_stopped = model[i].stopped();
                        if !was_stopped {
                            model[i].changes.push(Report::Stopped(sig));
                        }
                        prop_assert_eq!(told, (!was_stopped).then_some(Report::Stopped(sig)));
                    }
                    Op::Continue(i) if real[i].1 && !real[i].0.exited => {
                        let told = real[i].0.job.resume();
                        let was_stopped = model[i].stopped();
                        if was_stopped {
                            model[i].changes.push(Report::Continued);
                        }
                        prop_assert_eq!(told, was_stopped.then_some(Report::Continued));
                    }
                    Op::Exit(i) if real[i].1 => {
                        real[i].0.exited = true;
                        model[i].exited = true;
                    }
                    Op::Wait(pid, options) => {
                        let children: Vec<Child> = real.iter().filter(|(_, here)| *here).map(|(c, _)| *c).collect();
                        let got = reap(pid, options, 2, &children);
                        let named = |c: &&ModelChild| match pid {
                            -1 => true,
                            0 => c.pgid == 2,
                            p if p > 0 => c.pid == p as Pid,
                            g => c.pgid == g.unsigned_abs(),
                        };
                        let alive: Vec<&ModelChild> = model.iter().zip(&real).filter(|(_, (_, here))| *here).map(|(m, _)| m).collect();
                        let mut named_children = alive.into_iter().filter(named).peekable();
                        let expected = match named_children.peek() {
                            None => Err(Errno::ECHILD),
                            Some(_) => Ok(named_children
                                .filter_map(|c| c.event(options))
                                .next()
                                .unwrap_or(if options & WNOHANG != 0 { Reap::NotYet } else { Reap::Block })),
                        };
                        prop_assert_eq!(got, expected);
                        match got {
                            Ok(Reap::Child(z)) => {
                                let i = (z - 10) as usize;
                                real[i].1 = false;
                            }
                            Ok(Reap::Changed(c, _)) => {
                                let i = (c - 10) as usize;
                                real[i].0.job.reported();
                                model[i].seen = model[i].changes.len();
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
