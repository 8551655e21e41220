//! Which child `wait4(pid, &status, options, NULL)` reaps, as Linux
//! chooses: `pid > 0` that child, `-1` any child, `0` a child in the
//! caller's process group, `< -1` a child in group `-pid`. A child that
//! has exited (a zombie) is reaped, the oldest when several have (Linux
//! takes the first in its list of children, which is in creation order;
//! pids here only grow, so that is the lowest pid); if none has, the caller blocks until one exits, or with WNOHANG
//! returns 0 at once. No child matches: ECHILD. Unknown option bits:
//! EINVAL. Children never stop or continue here, so WUNTRACED and
//! WCONTINUED never report anything.

use abi::Errno;
use abi::signal::wait::OPTIONS;
pub use abi::signal::wait::WNOHANG;

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
}

/// What a wait4 call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reap {
    /// Reap this zombie: report its pid and wait status, forget it.
    Child(Pid),
    /// WNOHANG and no matching child has exited: return 0.
    NotYet,
    /// Block until a child exits, then ask again.
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
    let oldest = matching.filter(|c| c.exited).map(|c| c.pid).min();
    Ok(match oldest {
        Some(pid) => Reap::Child(pid),
        None if options & WNOHANG != 0 => Reap::NotYet,
        None => Reap::Block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::signal::wait::{WCONTINUED, WUNTRACED};

    const fn child(pid: Pid, pgid: Pid, exited: bool) -> Child {
        Child { pid, pgid, exited }
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
}
