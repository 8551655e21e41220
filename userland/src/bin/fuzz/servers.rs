//! The live door servers of a campaign: one server procedure for every
//! door the fuzz processes create, whose cookie says how it behaves. The
//! coordinator serves [`ECHO`] (replies with the arguments and passes the
//! descriptors back), [`HUB`] (keeps a few descriptors it receives and
//! hands them to later callers, so doors travel between workers) and
//! [`SLOW`] (yields before replying, so calls overlap and can be aborted);
//! workers create doors of every kind at random, most often [`CHAOS`],
//! which first makes the calls only a server thread may make, sometimes
//! ends its thread in the middle of the invocation, then tries corrupt
//! `door_return`s, then replies with random data and descriptors.

use crate::fds;
use crate::fuzzer::finding;
use crate::mem::{CONSTANTS, bad_addr};
use crate::rng::{Rng, mix};
use alloc::sync::Arc;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};
use userland::door::{
    DOOR_DESCRIPTOR, DOOR_PRIVATE, DOOR_QUERY, DOOR_RELEASE, close, door_bind, door_cancelled,
    door_desc_t, door_info, door_info_t, door_return, door_revoke, door_ucred, dup, errno, ucred_t,
};
use userland::thread::DEFAULT_STACK_SIZE;
use userland::{process, testkit, thread};

pub const ECHO: usize = 0;
pub const HUB: usize = 1;
pub const SLOW: usize = 2;
pub const CHAOS: usize = 3;
const KINDS: usize = 4;

/// The campaign's seed (for findings) and the seed of this process's
/// server randomness.
pub static SEED: AtomicU64 = AtomicU64::new(0);
pub static STREAM: AtomicU64 = AtomicU64::new(0);
/// Invocations served so far (each gets its own random numbers).
static INVOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Doors the hub keeps for later callers.
static STOCK: [AtomicI32; 8] = [const { AtomicI32::new(-1) }; 8];
/// Server threads of shared pools that ended in the middle of an
/// invocation (their stacks stay mapped: a bounded number).
static DEATHS: AtomicU32 = AtomicU32::new(0);
const MAX_DEATHS: u32 = 16;

/// Most bytes of argument data a reply carries back.
const MAX_ECHO: usize = 4096;

fn seed() -> u64 {
    SEED.load(Relaxed)
}

/// The server procedure of every fuzz door.
pub extern "C" fn serve(
    cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    let (data, descs) = testkit::args(argp, size, dp, n);
    let mut rng = Rng::new(mix(STREAM.load(Relaxed), INVOCATIONS.fetch_add(1, Relaxed)));
    let received = descs
        .iter()
        .filter(|d| d.d_attributes & DOOR_DESCRIPTOR != 0)
        .map(|d| d.d_descriptor);
    let data = &data[..data.len().min(MAX_ECHO)];
    match cookie as usize % KINDS {
        ECHO => {
            let mut back = [door_desc_t::default(); 4];
            let mut count = 0;
            for fd in received {
                if count < back.len() {
                    back[count] = door_desc_t::new(fd, DOOR_DESCRIPTOR | DOOR_RELEASE);
                    count += 1;
                } else {
                    close(fd);
                }
            }
            reply(data, &mut back[..count]);
        }
        HUB => {
            for fd in received {
                let old = STOCK[rng.index(STOCK.len())].swap(fd, Relaxed);
                if old >= 0 {
                    close(old);
                }
            }
            let given = STOCK[rng.index(STOCK.len())].load(Relaxed);
            let mut pass = [door_desc_t::new(given, DOOR_DESCRIPTOR)];
            reply(b"hub", &mut pass[..usize::from(given >= 0)]);
        }
        SLOW => {
            for fd in received {
                close(fd);
            }
            for _ in 0..1 + rng.below(3) {
                process::yield_now();
            }
            reply(b"slow", &mut []);
        }
        _ => chaos(&mut rng, received),
    }
}

/// Ends the invocation with `data` and `descs` (empty results as null
/// pointers: the door fast path's case); if that fails (a passed
/// descriptor was closed meanwhile, or the caller cannot take it), closes
/// what was to be released and ends it with nothing. If even that fails
/// the door is gone: returning ends the thread.
fn reply(data: &[u8], descs: &mut [door_desc_t]) {
    let (data_ptr, desc_ptr) = match (data.is_empty(), descs.is_empty()) {
        (true, true) => (null_mut(), null_mut()),
        _ => (data.as_ptr() as *mut u8, descs.as_mut_ptr()),
    };
    door_return(data_ptr, data.len(), desc_ptr, descs.len() as u32);
    for d in descs.iter().filter(|d| d.d_attributes & DOOR_RELEASE != 0) {
        close(d.d_descriptor);
    }
    door_return(null_mut(), 0, null_mut(), 0);
}

/// A `door_return` with corrupt results. It fails and the thread goes on
/// serving its invocation, unless the caller is gone (an unreferenced
/// invocation, or a call abandoned with `door_abort`): then the results
/// are discarded unread and the thread parks for its next invocation.
fn corrupt_return(rng: &mut Rng) {
    let mut forged = [door_desc_t::default(); 3];
    for d in forged.iter_mut() {
        let attributes = rng.pick(&[0, DOOR_RELEASE, 0x1234_0000, u32::MAX]);
        *d = door_desc_t::new(fds::any(rng) as i32, attributes);
    }
    let good = CONSTANTS.as_ptr() as *mut u8;
    let (data, size, desc, n) = match rng.below(4) {
        0 => (
            bad_addr(rng) as *mut u8,
            1 + rng.below(4096) as usize,
            null_mut(),
            0,
        ),
        1 => (good, 1 << (40 + rng.below(20)), null_mut(), 0),
        2 => (
            good,
            8,
            bad_addr(rng) as *mut door_desc_t,
            1 + rng.below(4) as u32,
        ),
        _ => (
            good,
            8,
            forged.as_mut_ptr(),
            257 + rng.below(1 << 20) as u32,
        ),
    };
    door_return(data, size, desc, n);
}

/// A worker door: server-only calls, corrupt returns, then a random reply.
fn chaos(rng: &mut Rng, received: impl Iterator<Item = i32>) {
    if rng.chance(30) {
        let mut cred = ucred_t::default();
        if door_ucred(&mut cred) != 0 {
            let e = errno();
            finding(
                seed(),
                format_args!("door_ucred failed in an invocation: errno {e}"),
            );
        }
    }
    if rng.chance(20) && door_ucred(bad_addr(rng) as *mut ucred_t) != -1 {
        finding(seed(), format_args!("door_ucred wrote to a bad pointer"));
    }
    let mut info = door_info_t::default();
    let private = door_info(DOOR_QUERY, &mut info) == 0 && info.di_attributes & DOOR_PRIVATE != 0;
    if !private && rng.chance(3) && DEATHS.fetch_add(1, Relaxed) < MAX_DEATHS {
        // A replacement is started first, so the shared pool never empties.
        if testkit::spawn_server_thread(DEFAULT_STACK_SIZE, |_| {}).is_ok() {
            for fd in received {
                close(fd);
            }
            thread::exit(0);
        }
    }
    if rng.chance(20) && !matches!(door_cancelled(), 0 | 1) {
        finding(
            seed(),
            format_args!("door_cancelled returned neither 0 nor 1"),
        );
    }
    for _ in 0..rng.below(3) {
        corrupt_return(rng);
    }
    for fd in received {
        if rng.chance(60) {
            close(fd);
        } else {
            fds::add(rng, fd);
        }
    }
    let len = match rng.below(10) {
        0..=5 => rng.below(256) as usize,
        6..=8 => rng.below(8192) as usize,
        _ => CONSTANTS.len(),
    };
    let at = rng.below((CONSTANTS.len() - len) as u64 + 1) as usize;
    let mut pass = [door_desc_t::default(); 1];
    let count = match (rng.below(4), fds::known(rng)) {
        (0, Some(fd)) => {
            pass[0] = door_desc_t::new(fd, DOOR_DESCRIPTOR);
            1
        }
        (1, Some(fd)) => {
            pass[0] = door_desc_t::new(dup(fd), DOOR_DESCRIPTOR | DOOR_RELEASE);
            1
        }
        _ => 0,
    };
    reply(&CONSTANTS[at..at + len], &mut pass[..count]);
}

/// Starts a thread that binds to private door `fd` and serves it, and
/// waits until it is bound. If no thread can be made or the binding fails
/// (a sibling closed `fd` first), revokes the door: calls to a private
/// door without threads would wait forever. Returns whether `fd` serves.
pub fn bind_thread(fd: i32) -> bool {
    let state = Arc::new(AtomicU8::new(BINDING));
    let told = state.clone();
    let spawned = thread::spawn(move || {
        let bound = door_bind(fd) == 0;
        told.store(if bound { BOUND } else { UNBOUND }, Relaxed);
        drop(told);
        // Fails only when the door is gone (EBADF, now unbound): the next
        // one parks in the shared pool.
        for _ in 0..2 {
            door_return(null_mut(), 0, null_mut(), 0);
        }
        0
    });
    if spawned.is_ok() {
        while state.load(Relaxed) == BINDING {
            process::yield_now();
        }
    }
    let bound = state.load(Relaxed) == BOUND;
    if !bound {
        door_revoke(fd);
    }
    bound
}

/// States of a thread started by [`bind_thread`].
const BINDING: u8 = 0;
const BOUND: u8 = 1;
const UNBOUND: u8 = 2;
