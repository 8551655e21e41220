//! The one table of system calls the fuzzer knows, built from the
//! `doors::abi::sys` numbers: each entry has the call's name, how often a
//! fuzz thread draws it, whether a wild child may make it with random
//! registers, and the function that makes its arguments, issues it
//! through [`Ctx::issue`] with what the result must be, and deals with what
//! a success leaves behind. No other part of the fuzzer names a syscall
//! number.

use crate::calls::{
    bootfs_read, debug_write, mem_map, mem_unmap, path, spawn, thread_create, thread_join, wait,
};
use crate::door_calls::{door_call, door_create_call, door_return};
use crate::fds;
use crate::fuzzer::{Ctx, Expect, PROGRESS};
use crate::mem::{Access, Ptr, beyond_user};
use crate::rng::{Rng, choose};
use core::sync::atomic::Ordering::Relaxed;
use userland::abi::errno::{ENOSYS, EPERM};
use userland::abi::sys;

/// One system call the fuzzer makes.
pub struct Syscall {
    pub nr: usize,
    pub name: &'static str,
    /// How often a fuzz thread draws it, relative to the others.
    pub weight: u64,
    /// Whether a wild child may make it with random registers: it cannot
    /// end the child, block it for long, start programs or print.
    pub wild: bool,
    /// Makes, issues and judges one call (`None`: never fuzzed).
    pub run: Option<fn(&mut Ctx)>,
}

const fn call(
    nr: usize,
    name: &'static str,
    weight: u64,
    wild: bool,
    run: fn(&mut Ctx),
) -> Syscall {
    Syscall {
        nr,
        name,
        weight,
        wild,
        run: Some(run),
    }
}

pub static TABLE: [Syscall; sys::COUNT + 1] = [
    Syscall {
        nr: sys::EXIT,
        name: "exit",
        weight: 0,
        wild: false,
        run: None,
    },
    call(sys::DEBUG_WRITE, "debug_write", 12, false, debug_write),
    call(sys::YIELD, "yield", 8, true, |c| {
        c.issue([0; 6], Expect::Value(0));
    }),
    call(sys::GETPID, "getpid", 8, true, |c| {
        let pid = c.pid as isize;
        let args = garbage(c);
        c.issue(args, Expect::Value(pid));
    }),
    call(sys::SPAWN, "spawn", 4, false, spawn),
    call(sys::WAIT, "wait", 8, true, wait),
    call(sys::THREAD_CREATE, "thread_create", 8, false, thread_create),
    Syscall {
        nr: sys::THREAD_EXIT,
        name: "thread_exit",
        weight: 0,
        wild: false,
        run: None,
    },
    call(sys::THREAD_JOIN, "thread_join", 8, true, thread_join),
    call(sys::MEM_MAP, "mem_map", 16, true, mem_map),
    call(sys::MEM_UNMAP, "mem_unmap", 12, true, mem_unmap),
    call(sys::GETTID, "gettid", 8, true, |c| {
        let tid = c.tid as isize;
        let args = garbage(c);
        c.issue(args, Expect::Value(tid));
    }),
    call(sys::SHUTDOWN, "shutdown", 4, true, |c| {
        let code = c.rng.boundary() as usize;
        c.issue([code, 0, 0, 0, 0, 0], Expect::Errno(EPERM));
    }),
    call(sys::BOOTFS_READ, "bootfs_read", 8, true, bootfs_read),
    call(sys::KSTAT, "kstat", 8, true, |c| {
        let which = choose([c.rng.below(16), c.rng.boundary()], &mut c.rng);
        let expect = if which >= 1 << 16 {
            Expect::Fail
        } else {
            Expect::Any
        };
        c.issue([which as usize, 0, 0, 0, 0, 0], expect);
    }),
    call(sys::SLEEP_TICKS, "sleep_ticks", 4, false, |c| {
        if c.rng.chance(80) {
            c.issue([0, 0, 0, 0, 0, 0], Expect::Value(0));
        } else {
            let forever = (1 << 40) + c.rng.below(1 << 40) as usize;
            let ticks = c.rng.pick(&[forever, usize::MAX]);
            c.issue([ticks, 0, 0, 0, 0, 0], Expect::Fail);
        }
    }),
    call(sys::DOOR_CREATE, "door_create", 8, true, door_create_call),
    call(sys::DOOR_CALL, "door_call", 96, true, door_call),
    call(sys::DOOR_RETURN, "door_return", 16, false, door_return),
    call(sys::DOOR_INFO, "door_info", 16, true, |c| {
        let (d, out) = (c.target(), c.ptr(48));
        c.issue([d, out.addr, 0, 0, 0, 0], unwritable(out));
    }),
    call(sys::DOOR_REVOKE, "door_revoke", 4, true, |c| {
        let d = c.fd();
        if c.issue([d, 0, 0, 0, 0, 0], Expect::Any) == 0 {
            fds::closed(&mut c.rng, d as i32);
        }
    }),
    call(sys::DOOR_SETPARAM, "door_setparam", 8, true, |c| {
        let (d, param) = (
            c.target(),
            choose([c.rng.below(6), c.rng.boundary()], &mut c.rng),
        );
        let value = c.rng.boundary() as usize;
        c.issue([d, param as usize, value, 0, 0, 0], Expect::Any);
    }),
    call(sys::DOOR_GETPARAM, "door_getparam", 8, true, |c| {
        let (d, param, out) = (c.target(), c.rng.below(6) as usize, c.ptr(8));
        c.issue([d, param, out.addr, 0, 0, 0], unwritable(out));
    }),
    // Fuzz threads never serve an invocation: EINVAL whatever the pointer.
    call(sys::DOOR_UCRED, "door_ucred", 4, true, |c| {
        let out = c.ptr(32).addr;
        c.issue([out, 0, 0, 0, 0, 0], Expect::Fail);
    }),
    call(sys::DOOR_CRED, "door_cred", 4, true, |c| {
        let out = c.ptr(36).addr;
        c.issue([out, 0, 0, 0, 0, 0], Expect::Fail);
    }),
    call(sys::DOOR_BIND, "door_bind", 4, true, |c| {
        let d = c.fd();
        c.issue([d, 0, 0, 0, 0, 0], Expect::Any);
    }),
    call(sys::DOOR_UNBIND, "door_unbind", 4, true, |c| {
        c.issue([0; 6], Expect::Any);
    }),
    call(sys::DOOR_CANCELLED, "door_cancelled", 4, true, |c| {
        c.issue([0; 6], Expect::Value(0));
    }),
    call(sys::DOOR_ABORT, "door_abort", 8, true, |c| {
        let sibling = PROGRESS[c.rng.index(PROGRESS.len())].tid.load(Relaxed);
        let tid = choose([sibling as u64, c.tid as u64, c.rng.boundary()], &mut c.rng);
        c.issue([tid as usize, 0, 0, 0, 0, 0], Expect::Any);
    }),
    call(sys::FATTACH, "fattach", 8, true, |c| {
        let d = c.target();
        let (path, len) = path(c);
        // A relative path, which cannot be attached, when names must not be.
        let (path, len) = if c.names {
            (path, len)
        } else {
            (c.place(b"fuzz"), 4)
        };
        if c.issue([d, path.addr, len, 0, 0, 0], unreadable(path)) == 0 {
            // The name the kernel read (the path may be longer or shorter).
            match c.scratch.read(path.addr, len) {
                Some(name) => c.attached.push(name),
                None => c.check(false, format_args!("attached a name it cannot read back")),
            }
        }
    }),
    call(sys::FDETACH, "fdetach", 8, true, |c| {
        let (path, len) = path(c);
        c.issue([path.addr, len, 0, 0, 0, 0], unreadable(path));
    }),
    call(sys::OPEN, "open", 8, true, |c| {
        let (path, len) = path(c);
        let fd = c.issue([path.addr, len, 0, 0, 0, 0], unreadable(path));
        fds::add(&mut c.rng, fd as i32);
    }),
    call(sys::CLOSE, "close", 8, true, |c| {
        let d = c.fd();
        if c.issue([d, 0, 0, 0, 0, 0], Expect::Any) == 0 {
            fds::closed(&mut c.rng, d as i32);
        }
    }),
    call(sys::DUP, "dup", 8, true, |c| {
        let d = c.target();
        let fd = c.issue([d, 0, 0, 0, 0, 0], Expect::Any);
        fds::add(&mut c.rng, fd as i32);
    }),
    call(sys::DOOR_HANDOFF, "door_handoff", 4, true, |c| {
        let on = choose([1, 1, 0, c.rng.boundary()], &mut c.rng);
        let expect = if on > 1 {
            Expect::Fail
        } else {
            Expect::Value(0)
        };
        c.issue([on as usize, 0, 0, 0, 0, 0], expect);
    }),
    call(sys::SETEUID, "seteuid", 4, true, |c| {
        let uid = choose([0, 0, 1000, c.rng.boundary()], &mut c.rng);
        c.issue([uid as usize, 0, 0, 0, 0, 0], Expect::Any);
    }),
    // Never below the limit the worker set, so the fuzzer's own memory fits.
    call(sys::MEM_LIMIT, "mem_limit", 4, true, |c| {
        let bytes = crate::MEM_LIMIT + c.rng.below(u64::MAX - crate::MEM_LIMIT);
        c.issue([bytes as usize, 0, 0, 0, 0, 0], Expect::Value(0));
    }),
    // The runtime keeps each thread's control block at its FS base: only
    // the current one, and addresses beyond user space.
    call(sys::SET_TLS, "set_tls", 4, true, |c| {
        if c.rng.chance(50) {
            let tcb: usize;
            // SAFETY: the runtime set FS to this thread's control block,
            // whose first word is its own address.
            unsafe { core::arch::asm!("mov {}, fs:[0]", out(reg) tcb, options(nostack, readonly)) };
            c.issue([tcb, 0, 0, 0, 0, 0], Expect::Value(0));
        } else {
            let addr = beyond_user(&mut c.rng);
            c.issue([addr, 0, 0, 0, 0, 0], Expect::Fail);
        }
    }),
    // Rare: the kernel logs every unknown number.
    call(sys::COUNT, "unknown", 1, true, |c| {
        let nr = c.rng.boundary() as usize;
        let nr = if nr < sys::COUNT { sys::COUNT + nr } else { nr };
        let args = garbage(c);
        c.issue_nr(nr, args, Expect::Errno(ENOSYS));
    }),
];

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

/// The number of the call named `name`.
pub fn nr(name: &str) -> usize {
    TABLE
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.nr)
        .expect("a call of the table")
}

/// The entry of number `nr`.
pub fn entry(nr: usize) -> Option<&'static Syscall> {
    TABLE.iter().find(|e| e.nr == nr)
}

/// Six random argument words (for calls that take none: the kernel must
/// ignore them).
fn garbage(c: &mut Ctx) -> [usize; 6] {
    core::array::from_fn(|_| c.rng.boundary() as usize)
}

/// What a call needing to write `p` must return.
fn unwritable(p: Ptr) -> Expect {
    match p.access {
        Access::Read | Access::Bad => Expect::Fail,
        _ => Expect::Any,
    }
}

/// What a call needing to read `p` must return.
fn unreadable(p: Ptr) -> Expect {
    match p.access {
        Access::Bad => Expect::Fail,
        _ => Expect::Any,
    }
}
