//! `clone` flags: which combinations make a thread as C libraries make them
//! (musl's and glibc's `pthread_create`), which are invalid (Linux's own
//! rules: EINVAL), and which ask for something this kernel does not do
//! (a new process, namespaces: ENOSYS).

use abi::Errno;

pub const CSIGNAL: u64 = 0xff;
pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_PTRACE: u64 = 0x2000;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x1_0000;
pub const CLONE_NEWNS: u64 = 0x2_0000;
pub const CLONE_SYSVSEM: u64 = 0x4_0000;
pub const CLONE_SETTLS: u64 = 0x8_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
pub const CLONE_DETACHED: u64 = 0x40_0000;
pub const CLONE_UNTRACED: u64 = 0x80_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
pub const CLONE_IO: u64 = 0x8000_0000;

/// What every thread shares with its creator here.
const THREAD: u64 = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
/// What a thread's clone may add to [`THREAD`]: the tid and TLS requests,
/// and flags with nothing to do here (no System V semaphores, no tracing,
/// no I/O contexts; `CLONE_DETACHED` is ignored by Linux too).
const THREAD_OPTIONS: u64 = CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_CHILD_SETTID
    | CLONE_DETACHED
    | CLONE_PTRACE
    | CLONE_UNTRACED
    | CLONE_IO;

/// A thread clone, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ThreadClone {
    /// Set the new thread's FS base (its TLS) to the `tls` argument.
    pub settls: bool,
    /// Store the new thread's id at `parent_tid` (in the shared memory).
    pub parent_settid: bool,
    /// Store the new thread's id at `child_tid`.
    pub child_settid: bool,
    /// At the new thread's exit, store 0 at `child_tid` and wake one futex
    /// waiter there (what `pthread_join` and musl's thread list wait for).
    pub child_cleartid: bool,
}

/// Decodes `clone`'s flags (their lower 32 bits, as Linux reads them).
///
/// EINVAL for what Linux refuses (`CLONE_THREAD` without `CLONE_SIGHAND`,
/// `CLONE_SIGHAND` without `CLONE_VM`, `CLONE_PIDFD` with a thread, an
/// unknown bit for a thread) and for a thread that would not share
/// everything (this kernel's threads share the address space, descriptors
/// and current directory); ENOSYS for a new process (processes come from
/// `fork` and `vfork`) or a namespace.
pub fn decode(flags: u64) -> Result<ThreadClone, Errno> {
    let flags = flags & 0xffff_ffff;
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
        || flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
        || flags & CLONE_PIDFD != 0 && flags & (CLONE_THREAD | CLONE_PARENT_SETTID) != 0
    {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD == 0 {
        // fork, vfork and posix_spawn's CLONE_VM|CLONE_VFORK.
        return Err(Errno::ENOSYS);
    }
    let options = flags & !(THREAD | CSIGNAL);
    if flags & THREAD != THREAD || options & !THREAD_OPTIONS != 0 {
        return Err(if options & (CLONE_NEWNS | 0x7e00_0000) != 0 {
            Errno::ENOSYS
        } else {
            Errno::EINVAL
        });
    }
    Ok(ThreadClone {
        settls: flags & CLONE_SETTLS != 0,
        parent_settid: flags & CLONE_PARENT_SETTID != 0,
        child_settid: flags & CLONE_CHILD_SETTID != 0,
        child_cleartid: flags & CLONE_CHILD_CLEARTID != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What musl 1.2's `pthread_create` passes.
    const MUSL: u64 = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_DETACHED;

    #[test]
    fn accepts_c_library_threads() {
        let t = decode(MUSL).unwrap();
        assert!(t.settls && t.parent_settid && t.child_cleartid && !t.child_settid);
        // glibc: CLONE_CHILD_SETTID-less as well, without DETACHED.
        assert!(decode(MUSL & !CLONE_DETACHED).is_ok());
        assert_eq!(decode(THREAD), Ok(ThreadClone::default()));
        assert!(
            decode(MUSL | 0xffff_ffff_0000_0000).is_ok(),
            "upper bits are ignored"
        );
    }

    #[test]
    fn refuses_what_linux_refuses() {
        assert_eq!(decode(MUSL & !CLONE_SIGHAND), Err(Errno::EINVAL));
        assert_eq!(decode(CLONE_SIGHAND), Err(Errno::EINVAL));
        assert_eq!(decode(MUSL | CLONE_PIDFD), Err(Errno::EINVAL));
        assert_eq!(decode(MUSL | CLONE_VFORK), Err(Errno::EINVAL));
        assert_eq!(decode(MUSL | CLONE_PARENT), Err(Errno::EINVAL));
        assert_eq!(
            decode(MUSL & !CLONE_FILES),
            Err(Errno::EINVAL),
            "threads share descriptors"
        );
    }

    #[test]
    fn processes_and_namespaces_are_not_supported() {
        assert_eq!(decode(17), Err(Errno::ENOSYS), "fork is clone(SIGCHLD)");
        assert_eq!(decode(CLONE_VM | CLONE_VFORK | 17), Err(Errno::ENOSYS));
        assert_eq!(decode(MUSL | CLONE_NEWNS), Err(Errno::ENOSYS));
        assert_eq!(
            decode(MUSL | 0x4000_0000),
            Err(Errno::ENOSYS),
            "CLONE_NEWNET"
        );
    }
}
