//! The one table of system calls the fuzzer knows, made from `abi::Sys`:
//! [`spec`] matches every variant with no catch-all, so a system call added
//! to the ABI does not compile here until the fuzzer says how to make it.
//! Each entry has the call, how often a fuzz thread draws it, whether a
//! wild child may make it with random registers, and the function that
//! makes its arguments, issues it through [`Ctx::issue`] with what the
//! result must be, and deals with what a success leaves behind. One more
//! entry makes numbers that name no call.

use crate::calls::{
    debug_write, get_limit, mem_map, mem_unmap, set_limit, spawn, thread_create, thread_detach,
    thread_join, wait,
};
use crate::door_calls::{door_call, door_create_call, door_return};
use crate::dup_calls::{close, dup, dup3, fcntl, pipe2};
use crate::fd_calls::{
    fchdir, fchmod, fstat, ftruncate, getdents64, lseek, pread, pwrite, read, write,
};
use crate::fds;
use crate::fuzzer::{Ctx, Expect, PROGRESS};
use crate::mem::{Access, Ptr, beyond_user};
use crate::path_calls::{
    chdir, faccessat, fattach, fchmodat, fdetach, fstatat, getcwd, mkdirat, openat, renameat,
    umask, unlinkat,
};
use crate::process_calls::{alarm, execve, fork, getppid, kill, prlimit, setuid, wait4};
use crate::rng::{Rng, choose};
use core::fmt;
use core::sync::atomic::Ordering::Relaxed;
use userland::abi::{Errno, NATIVE_BASE, Sys};

/// One entry of the table.
#[derive(Clone, Copy)]
pub struct Syscall {
    /// The call (`None`: the entry of numbers that name none).
    pub call: Option<Sys>,
    /// How often a fuzz thread draws it, relative to the others.
    pub weight: u64,
    /// Whether a wild child may make it with random registers: it cannot
    /// end the child, block it for long, start programs or print (a wild
    /// child holds no descriptors, so reads and writes fail with EBADF).
    pub wild: bool,
    /// Makes, issues and judges one call (`None`: never fuzzed).
    pub run: Option<fn(&mut Ctx)>,
}

impl Syscall {
    /// The call's number (for the unknown entry: the first number past
    /// the calls; its function picks the numbers it makes).
    pub fn nr(&self) -> usize {
        self.call.map_or(NATIVE_BASE + CALLS, Sys::number)
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.call {
            Some(call) => write!(f, "{call:?}"),
            None => f.write_str("unknown"),
        }
    }
}

/// Names call number `nr` in reports.
pub fn name(nr: usize) -> impl fmt::Display {
    struct Name(usize);
    impl fmt::Display for Name {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match Sys::try_from(self.0) {
                Ok(call) => write!(f, "{call:?}"),
                Err(()) => write!(f, "unknown call {:#x}", self.0),
            }
        }
    }
    Name(nr)
}

const fn fuzz(call: Sys, weight: u64, wild: bool, run: fn(&mut Ctx)) -> Syscall {
    Syscall {
        call: Some(call),
        weight,
        wild,
        run: Some(run),
    }
}

/// A call the fuzz threads never make (it would end them).
const fn never(call: Sys) -> Syscall {
    Syscall {
        call: Some(call),
        weight: 0,
        wild: false,
        run: None,
    }
}

/// How the fuzzer makes `call`.
const fn spec(call: Sys) -> Syscall {
    match call {
        Sys::Exit | Sys::ThreadExit => never(call),
        Sys::DebugWrite => fuzz(call, 12, false, debug_write),
        Sys::Yield => fuzz(call, 8, true, |c| {
            c.issue([0; 6], Expect::Value(0));
        }),
        Sys::GetPid => fuzz(call, 8, true, |c| {
            let pid = c.pid as isize;
            let args = garbage(c);
            c.issue(args, Expect::Value(pid));
        }),
        Sys::Spawn => fuzz(call, 4, false, spawn),
        Sys::Wait => fuzz(call, 8, true, wait),
        Sys::ThreadCreate => fuzz(call, 8, false, thread_create),
        Sys::ThreadDetach => fuzz(call, 4, true, thread_detach),
        Sys::ThreadJoin => fuzz(call, 8, true, thread_join),
        Sys::MemMap => fuzz(call, 16, true, mem_map),
        Sys::MemUnmap => fuzz(call, 12, true, mem_unmap),
        Sys::GetTid => fuzz(call, 8, true, |c| {
            let tid = c.tid as isize;
            let args = garbage(c);
            c.issue(args, Expect::Value(tid));
        }),
        // Only init may trace.
        Sys::Trace => fuzz(call, 4, true, |c| {
            let args = garbage(c);
            c.issue(args, Expect::Errno(Errno::EPERM));
        }),
        Sys::Shutdown => fuzz(call, 4, true, |c| {
            let code = c.rng.boundary() as usize;
            c.issue([code, 0, 0, 0, 0, 0], Expect::Errno(Errno::EPERM));
        }),
        Sys::Kstat => fuzz(call, 8, true, |c| {
            let which = choose([c.rng.below(16), c.rng.boundary()], &mut c.rng);
            let expect = if which >= 1 << 16 {
                Expect::Errno(Errno::EINVAL)
            } else {
                Expect::Any
            };
            c.issue([which as usize, 0, 0, 0, 0, 0], expect);
        }),
        Sys::SleepTicks => fuzz(call, 4, false, |c| {
            if c.rng.chance(80) {
                c.issue([0, 0, 0, 0, 0, 0], Expect::Value(0));
            } else {
                let forever = (1 << 40) + c.rng.below(1 << 40) as usize;
                let ticks = c.rng.pick(&[forever, usize::MAX]);
                c.issue([ticks, 0, 0, 0, 0, 0], Expect::Errno(Errno::EINVAL));
            }
        }),
        Sys::DoorCreate => fuzz(call, 8, true, door_create_call),
        Sys::DoorCall => fuzz(call, 96, true, door_call),
        Sys::DoorReturn => fuzz(call, 16, false, door_return),
        Sys::DoorInfo => fuzz(call, 16, true, |c| {
            let (d, out) = (c.target(), c.ptr(48));
            c.issue([d, out.addr, 0, 0, 0, 0], unwritable(out));
        }),
        Sys::DoorRevoke => fuzz(call, 4, true, |c| {
            let d = c.fd();
            if c.issue([d, 0, 0, 0, 0, 0], Expect::Any) == 0 {
                fds::closed(&mut c.rng, d as i32);
            }
        }),
        Sys::DoorSetparam => fuzz(call, 8, true, |c| {
            let (d, param) = (
                c.target(),
                choose([c.rng.below(6), c.rng.boundary()], &mut c.rng),
            );
            let value = c.rng.boundary() as usize;
            c.issue([d, param as usize, value, 0, 0, 0], Expect::Any);
        }),
        Sys::DoorGetparam => fuzz(call, 8, true, |c| {
            let (d, param, out) = (c.target(), c.rng.below(6) as usize, c.ptr(8));
            c.issue([d, param, out.addr, 0, 0, 0], unwritable(out));
        }),
        // Fuzz threads never serve an invocation: an error whatever the
        // pointer.
        Sys::DoorUcred => fuzz(call, 4, true, |c| {
            let out = c.ptr(32).addr;
            c.issue([out, 0, 0, 0, 0, 0], Expect::Fail);
        }),
        Sys::DoorCred => fuzz(call, 4, true, |c| {
            let out = c.ptr(36).addr;
            c.issue([out, 0, 0, 0, 0, 0], Expect::Fail);
        }),
        Sys::DoorBind => fuzz(call, 4, true, |c| {
            let d = c.fd();
            c.issue([d, 0, 0, 0, 0, 0], Expect::Any);
        }),
        Sys::DoorUnbind => fuzz(call, 4, true, |c| {
            c.issue([0; 6], Expect::Any);
        }),
        Sys::DoorCancelled => fuzz(call, 4, true, |c| {
            c.issue([0; 6], Expect::Value(0));
        }),
        // A sibling may be in a door_call; the thread itself is not
        // (EINVAL); numbers beyond 32 bits name no thread (ESRCH).
        Sys::DoorAbort => fuzz(call, 8, true, |c| {
            let (tid, expect) = match c.rng.below(4) {
                0 => (c.tid as usize, Expect::Errno(Errno::EINVAL)),
                1 => (
                    (1 << 32) + c.rng.below(1 << 40) as usize,
                    Expect::Errno(Errno::ESRCH),
                ),
                2 => (c.rng.boundary() as usize, Expect::Any),
                _ => {
                    let sibling = PROGRESS[c.rng.index(PROGRESS.len())].tid.load(Relaxed);
                    (sibling as usize, Expect::Any)
                }
            };
            c.issue([tid, 0, 0, 0, 0, 0], expect);
        }),
        Sys::Fattach => fuzz(call, 8, true, fattach),
        Sys::Fdetach => fuzz(call, 8, true, fdetach),
        Sys::Close => fuzz(call, 8, true, close),
        Sys::Dup => fuzz(call, 8, true, dup),
        Sys::DoorHandoff => fuzz(call, 4, true, |c| {
            let on = choose([1, 1, 0, c.rng.boundary()], &mut c.rng);
            let expect = if on > 1 {
                Expect::Errno(Errno::EINVAL)
            } else {
                Expect::Value(0)
            };
            c.issue([on as usize, 0, 0, 0, 0, 0], expect);
        }),
        // An unprivileged process (euid 1000, real uid 0) may take only
        // its real id, which it never does.
        Sys::Seteuid => fuzz(call, 4, true, |c| {
            let uid = match c.unprivileged {
                true => choose([1000, 1001, c.rng.boundary().max(1)], &mut c.rng),
                false => choose([0, 0, 1000, c.rng.boundary()], &mut c.rng),
            };
            let expect = match uid {
                0x1_0000_0000.. => Expect::Errno(Errno::EINVAL),
                _ if c.unprivileged => Expect::Errno(Errno::EPERM),
                _ => Expect::Any,
            };
            c.issue([uid as usize, 0, 0, 0, 0, 0], expect);
        }),
        Sys::GetLimit => fuzz(call, 4, true, get_limit),
        // The process calls never end, stop or replace the fuzzer (see
        // `process_calls`), so none is for wild children but those that
        // change only the caller.
        Sys::Fork => fuzz(call, 2, false, fork),
        Sys::Execve => fuzz(call, 4, false, execve),
        Sys::Wait4 => fuzz(call, 6, false, wait4),
        Sys::Kill => fuzz(call, 6, false, kill),
        Sys::Alarm => fuzz(call, 4, false, alarm),
        Sys::Pause => never(call),
        Sys::GetPpid => fuzz(call, 4, true, getppid),
        Sys::Setuid => fuzz(call, 4, true, setuid),
        Sys::Prlimit => fuzz(call, 4, true, prlimit),
        Sys::SetLimit => fuzz(call, 4, true, set_limit),
        // The runtime keeps each thread's control block at its FS base:
        // only the current one, and addresses beyond user space.
        Sys::SetTls => fuzz(call, 4, true, |c| {
            if c.rng.chance(50) {
                let tcb: usize;
                // SAFETY: the runtime set FS to this thread's control
                // block, whose first word is its own address.
                unsafe {
                    core::arch::asm!("mov {}, fs:[0]", out(reg) tcb, options(nostack, readonly))
                };
                c.issue([tcb, 0, 0, 0, 0, 0], Expect::Value(0));
            } else {
                let addr = beyond_user(&mut c.rng);
                c.issue([addr, 0, 0, 0, 0, 0], Expect::Errno(Errno::EINVAL));
            }
        }),
        Sys::Openat => fuzz(call, 12, true, openat),
        Sys::Read => fuzz(call, 12, true, read),
        Sys::Write => fuzz(call, 12, true, write),
        Sys::Pread => fuzz(call, 6, true, pread),
        Sys::Pwrite => fuzz(call, 6, true, pwrite),
        Sys::Lseek => fuzz(call, 6, true, lseek),
        Sys::Fstat => fuzz(call, 6, true, fstat),
        Sys::Fstatat => fuzz(call, 8, true, fstatat),
        Sys::Getdents64 => fuzz(call, 6, true, getdents64),
        Sys::Ftruncate => fuzz(call, 4, true, ftruncate),
        Sys::Fchmod => fuzz(call, 4, true, fchmod),
        Sys::Fchmodat => fuzz(call, 6, true, fchmodat),
        Sys::Mkdirat => fuzz(call, 6, true, mkdirat),
        Sys::Unlinkat => fuzz(call, 6, true, unlinkat),
        Sys::Renameat => fuzz(call, 6, true, renameat),
        Sys::Faccessat => fuzz(call, 6, true, faccessat),
        Sys::Chdir => fuzz(call, 4, true, chdir),
        Sys::Fchdir => fuzz(call, 4, true, fchdir),
        Sys::Getcwd => fuzz(call, 4, true, getcwd),
        Sys::Umask => fuzz(call, 2, true, umask),
        Sys::Pipe2 => fuzz(call, 6, true, pipe2),
        Sys::Dup3 => fuzz(call, 6, true, dup3),
        Sys::Fcntl => fuzz(call, 8, true, fcntl),
    }
}

/// The number of system calls.
const CALLS: usize = Sys::ALL.len();

/// Rare: the kernel logs every unknown number.
const UNKNOWN: Syscall = Syscall {
    call: None,
    weight: 1,
    wild: true,
    run: Some(|c| {
        let nr = c.rng.boundary() as usize;
        let nr = if Sys::try_from(nr).is_ok() {
            NATIVE_BASE + CALLS + nr
        } else {
            nr
        };
        let args = garbage(c);
        c.issue_nr(nr, args, Expect::Errno(Errno::ENOSYS));
    }),
};

/// Every call in number order, then [`UNKNOWN`].
pub static TABLE: [Syscall; CALLS + 1] = {
    let mut table = [UNKNOWN; CALLS + 1];
    let mut i = 0;
    while i < CALLS {
        table[i] = spec(Sys::ALL[i]);
        i += 1;
    }
    table
};

const TOTAL_WEIGHT: u64 = {
    let mut total = 0;
    let mut i = 0;
    while i < TABLE.len() {
        total += TABLE[i].weight;
        i += 1;
    }
    total
};

/// Draws an entry by weight.
pub fn draw(rng: &mut Rng) -> &'static Syscall {
    let mut left = rng.below(TOTAL_WEIGHT);
    for entry in &TABLE {
        if left < entry.weight {
            return entry;
        }
        left -= entry.weight;
    }
    unreachable!("the weights add up to TOTAL_WEIGHT")
}

/// Six random argument words (for calls that take none: the kernel must
/// ignore them).
fn garbage(c: &mut Ctx) -> [usize; 6] {
    core::array::from_fn(|_| c.rng.boundary() as usize)
}

/// What a call needing to write `p` must return.
pub fn unwritable(p: Ptr) -> Expect {
    match p.access {
        Access::Read | Access::Bad => Expect::Fail,
        _ => Expect::Any,
    }
}
