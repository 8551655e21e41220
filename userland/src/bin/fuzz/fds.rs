//! The descriptors a fuzz process knows: a fixed set of slots (atomics, so
//! fuzz and server threads share them without locks) holding descriptors
//! it created, opened, duplicated or received, and a short list of
//! numbers it closed. Calls that need a live door draw [`target`]s, mostly
//! known ones; the rest draw from [`any`], which also gives closed and
//! forged values (small numbers, other generations of known slots,
//! negative, `DOOR_QUERY`, beyond 32 bits). The slots hold descriptors of
//! every kind (doors, files, directories, pipe ends, never a device or the
//! console); every pipe end in a fuzz process is non-blocking.
//!
//! Calls close, pass away and revoke descriptors all the time, so the
//! process also keeps [`anchor`]s, which the fuzzer never hands out: when
//! few known descriptors are left, [`refill`] adds duplicates of them.
//!
//! Every call a thread of the process makes on descriptors runs under
//! [`shared`]; a fuzz thread making a descriptor its own (see `own`) holds
//! [`exclusive`] from the call that makes it until it is out of every
//! other thread's reach, so no draw of another thread can name, close or
//! duplicate it in between.

use crate::rng::Rng;
use core::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, Ordering::Relaxed};
use userland::abi::Sys;
use userland::abi::fs::F_GETFD;
use userland::door::{DOOR_QUERY, DOOR_REVOKED, close, door_info, door_info_t, dup};
use userland::sys::syscall3;
use userland::{process, thread};

/// Threads inside [`shared`] (or -1: one inside [`exclusive`]), and the
/// thread inside [`exclusive`].
static HOLDERS: AtomicI64 = AtomicI64::new(0);
static EXCLUSIVE: AtomicU32 = AtomicU32::new(0);

/// Runs `f` (which makes calls on descriptors) while no thread of the
/// process holds [`exclusive`] (or inside it, from its holder).
pub fn shared<R>(f: impl FnOnce() -> R) -> R {
    if HOLDERS.load(Relaxed) < 0 && EXCLUSIVE.load(Relaxed) == thread::gettid() {
        return f();
    }
    loop {
        let holders = HOLDERS.load(Relaxed);
        if holders >= 0
            && HOLDERS
                .compare_exchange(holders, holders + 1, Relaxed, Relaxed)
                .is_ok()
        {
            break;
        }
        process::yield_now();
    }
    let result = f();
    HOLDERS.fetch_sub(1, Relaxed);
    result
}

/// Runs `f` while no other thread of the process makes a call on
/// descriptors.
pub fn exclusive<R>(f: impl FnOnce() -> R) -> R {
    while HOLDERS.compare_exchange(0, -1, Relaxed, Relaxed).is_err() {
        process::yield_now();
    }
    EXCLUSIVE.store(thread::gettid(), Relaxed);
    let result = f();
    EXCLUSIVE.store(0, Relaxed);
    HOLDERS.store(0, Relaxed);
    result
}

/// Descriptor slots; a new descriptor replaces (and closes) a random one
/// when all are taken, so the process's table stays small.
static OPEN: [AtomicI32; 48] = [const { AtomicI32::new(-1) }; 48];
/// Recently closed descriptor numbers.
static CLOSED: [AtomicI32; 16] = [const { AtomicI32::new(-1) }; 16];
/// Descriptors kept back to refill the slots from.
static ANCHORS: [AtomicI32; 8] = [const { AtomicI32::new(-1) }; 8];
/// Below this many known descriptors, [`refill`] adds some.
const LOW: usize = 8;

/// Bits of a descriptor that hold the table slot (the rest is the slot's
/// generation; see the kernel's `cap::table`).
const INDEX_BITS: u32 = 12;

/// Keeps a duplicate of `fd` back as an anchor.
pub fn anchor(fd: i32) {
    if let Some(slot) = ANCHORS.iter().find(|s| s.load(Relaxed) < 0) {
        slot.store(shared(|| dup(fd)), Relaxed);
    }
}

/// Adds duplicates of the anchors when few known descriptors are left.
pub fn refill(rng: &mut Rng) {
    if OPEN.iter().filter(|s| s.load(Relaxed) >= 0).count() < LOW {
        for a in &ANCHORS {
            match a.load(Relaxed) {
                fd if fd >= 0 => add(rng, shared(|| dup(fd))),
                _ => {}
            }
        }
    }
}

/// Remembers `fd`, closing the descriptor whose slot it takes.
pub fn add(rng: &mut Rng, fd: i32) {
    if fd < 0 {
        return;
    }
    let slot = match OPEN.iter().position(|s| s.load(Relaxed) < 0) {
        Some(free) => free,
        None => rng.index(OPEN.len()),
    };
    let old = OPEN[slot].swap(fd, Relaxed);
    if old >= 0 && old != fd {
        shared(|| close(old));
        closed(rng, old);
    }
}

/// Moves `fd`, which was closed, from the open slots to the closed ones.
pub fn closed(rng: &mut Rng, fd: i32) {
    for slot in &OPEN {
        let _ = slot.compare_exchange(fd, -1, Relaxed, Relaxed);
    }
    CLOSED[rng.index(CLOSED.len())].store(fd, Relaxed);
}

/// After a door call on `fd` failed with EBADF: forgets it if it is not
/// open, and closes and forgets it if its door was revoked (calls on it
/// can only fail), so the known descriptors stay mostly useful. A
/// descriptor of another kind stays.
pub fn tidy(rng: &mut Rng, fd: i32) {
    shared(|| {
        let open = syscall3(Sys::Fcntl, fd as isize as usize, F_GETFD as usize, 0) >= 0;
        let mut info = door_info_t::default();
        let revoked = door_info(fd, &mut info) == 0 && info.di_attributes & DOOR_REVOKED != 0;
        if revoked {
            close(fd);
        }
        if !open || revoked {
            closed(rng, fd);
        }
    });
}

/// A known open descriptor, if any.
pub fn known(rng: &mut Rng) -> Option<i32> {
    let start = rng.index(OPEN.len());
    (0..OPEN.len())
        .map(|i| OPEN[(start + i) % OPEN.len()].load(Relaxed))
        .find(|&fd| fd >= 0)
}

/// A descriptor argument for a call that needs a live door: known most
/// often.
pub fn target(rng: &mut Rng) -> usize {
    match known(rng) {
        Some(fd) if rng.chance(85) => fd as usize,
        _ => any(rng),
    }
}

/// A descriptor argument: known, closed or forged.
pub fn any(rng: &mut Rng) -> usize {
    let fd = match rng.below(10) {
        0..=3 => known(rng).unwrap_or(0),
        4 | 5 => CLOSED[rng.index(CLOSED.len())].load(Relaxed),
        6 | 7 => {
            let base = known(rng).unwrap_or(0);
            let generation = rng.below(4) as i32 + 1;
            base.wrapping_add(generation << INDEX_BITS)
        }
        8 => rng.pick(&[-1, DOOR_QUERY, i32::MAX, i32::MIN, 0, 1, 2, 4095, 4096]),
        _ => return rng.boundary() as usize,
    };
    fd as isize as usize
}
