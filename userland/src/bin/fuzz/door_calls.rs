//! How the fuzzer makes the door calls of the [`table`](crate::table)
//! that need more than a line: `door_create` (valid ones through the
//! library, which starts server threads), `door_call` with well-formed
//! and with random `door_arg_t`s and descriptor arrays (and what a
//! success leaves: received descriptors, result areas), and `door_return`
//! from threads that serve nothing.

use crate::fds;
use crate::fuzzer::{Ctx, Expect};
use crate::mem::{self, Access, CONSTANTS, PAGE, bad_addr, wire};
use crate::rng::choose;
use crate::servers::{self, CHAOS};
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use userland::abi::{DoorArg, DoorDesc, Errno};
use userland::door::{
    DOOR_DESCRIPTOR, DOOR_NO_CANCEL, DOOR_PRIVATE, DOOR_REFUSE_DESC, DOOR_RELEASE, DOOR_UNREF,
    DOOR_UNREF_MULTI, door_create, dup, errno,
};

/// Doors a worker created (bounded: private ones each get a thread).
static DOORS_MADE: AtomicU32 = AtomicU32::new(0);
const MAX_DOORS: u32 = 12;

pub fn door_create_call(c: &mut Ctx) {
    if c.rng.chance(30) && DOORS_MADE.fetch_add(1, Relaxed) < MAX_DOORS {
        // Through the library, which starts server threads as needed.
        let options = [
            DOOR_UNREF,
            DOOR_PRIVATE,
            DOOR_UNREF_MULTI,
            DOOR_REFUSE_DESC,
            DOOR_NO_CANCEL,
        ];
        let attrs = options
            .iter()
            .filter(|_| c.rng.chance(30))
            .fold(0, |a, &o| a | o);
        let cookie = choose([CHAOS, c.rng.next() as usize], &mut c.rng);
        let args = [
            servers::serve as *const () as usize,
            cookie,
            attrs as usize,
            0,
            0,
            0,
        ];
        let nr = c.entry.nr();
        c.note(nr, &args);
        let fd = door_create(servers::serve, cookie as *mut c_void, attrs);
        let ret = if fd < 0 { errno().raw() } else { fd as isize };
        c.judge(nr, &args, Expect::Any, ret);
        if fd >= 0 && (attrs & DOOR_PRIVATE == 0 || servers::bind_thread(fd)) {
            fds::add(&mut c.rng, fd);
        }
    } else {
        // Attributes the kernel must refuse, so the procedure never runs.
        let attrs = choose(
            [
                0x100 << c.rng.below(24),
                (DOOR_UNREF | DOOR_UNREF_MULTI) as u64,
                1 << (32 + c.rng.below(32)),
            ],
            &mut c.rng,
        );
        let (pc, cookie) = (c.rng.boundary() as usize, c.rng.next() as usize);
        c.issue(
            [pc, cookie, attrs as usize, 0, 0, 0],
            Expect::Errno(Errno::EINVAL),
        );
    }
}

/// Descriptor entries in the scratch area (or a bad or huge array).
fn desc_array(c: &mut Ctx) -> (usize, u32) {
    let count = choose(
        [0, 0, 0, 1, 2, 4, 257, u32::MAX, c.rng.boundary() as u32],
        &mut c.rng,
    );
    if !(1..=4).contains(&count) || c.rng.chance(20) {
        return (c.ptr(count as usize * size_of::<DoorDesc>()).addr, count);
    }
    let entries: Vec<u8> = (0..count)
        .flat_map(|_| {
            let attributes = choose(
                [
                    DOOR_DESCRIPTOR,
                    DOOR_DESCRIPTOR,
                    DOOR_DESCRIPTOR | DOOR_RELEASE,
                    DOOR_RELEASE,
                    0,
                    c.rng.next() as u32,
                ],
                &mut c.rng,
            );
            let d = DoorDesc::new(c.fd() as i32, attributes);
            wire(&d)
        })
        .collect();
    (c.place(&entries).addr, count)
}

pub fn door_call(c: &mut Ctx) {
    let d = c.target();
    let (params, expect, sent) = match c.rng.below(10) {
        0 => (0, Expect::Any, None),
        1 => (bad_addr(&mut c.rng), Expect::Fail, None),
        2 => (c.ptr(size_of::<DoorArg>()).addr, Expect::Any, None),
        3..=6 => well_formed_call(c),
        _ => random_call(c),
    };
    let ret = c.issue([d, params, 0, 0, 0, 0], expect);
    if ret == Errno::EBADF.raw() {
        fds::tidy(&mut c.rng, d as i32);
    }
    if ret == 0
        && let Some(sent) = sent
    {
        results(c, params, sent);
    }
}

/// A `door_arg_t` (in the scratch area) that a live door accepts: some
/// data, up to two known descriptors, a result buffer that may be too
/// small. Returns its address, what to expect, and its contents.
fn well_formed_call(c: &mut Ctx) -> (usize, Expect, Option<DoorArg>) {
    let data_size = c.rng.below(512) as usize;
    let data = c.scratch.slot(&mut c.rng, data_size, false);
    c.scratch.scribble(&mut c.rng, data, data_size);
    let mut entries = Vec::new();
    for _ in 0..c.rng.below(3) {
        if let Some(fd) = fds::known(&mut c.rng) {
            // Released descriptors are duplicates (known too, until the
            // call succeeds), so the known ones do not run out.
            let entry = if c.rng.chance(30) {
                let copy = dup(fd);
                fds::add(&mut c.rng, copy);
                DoorDesc::new(copy, DOOR_DESCRIPTOR | DOOR_RELEASE)
            } else {
                DoorDesc::new(fd, DOOR_DESCRIPTOR)
            };
            entries.extend_from_slice(&wire(&entry));
        }
    }
    let descs = c.scratch.slot(&mut c.rng, entries.len(), false);
    c.scratch.write(descs, &entries);
    let rsize = c.rng.pick(&[0, 64, PAGE]);
    let arg = DoorArg {
        data_ptr: data as u64,
        data_size: data_size as u64,
        desc_ptr: descs as u64,
        desc_num: (entries.len() / size_of::<DoorDesc>()) as u32,
        rbuf: c.scratch.slot(&mut c.rng, rsize, false) as u64,
        rsize: rsize as u64,
    };
    let at = c.scratch.slot(&mut c.rng, size_of::<DoorArg>(), false);
    c.scratch.write(at, &wire(&arg));
    (at, Expect::Any, Some(arg))
}

/// A `door_arg_t` with every field drawn from every class.
fn random_call(c: &mut Ctx) -> (usize, Expect, Option<DoorArg>) {
    let data_size = mem::size(&mut c.rng);
    let data = c.ptr(data_size);
    if data.access == Access::Write {
        c.scratch.scribble(&mut c.rng, data.addr, data_size.min(64));
    }
    let (desc_ptr, desc_num) = desc_array(c);
    let rsize = choose([0, 64, PAGE, mem::size(&mut c.rng)], &mut c.rng);
    let rbuf = if c.rng.chance(10) {
        0
    } else {
        c.ptr(rsize).addr
    };
    let arg = DoorArg {
        data_ptr: data.addr as u64,
        data_size: data_size as u64,
        desc_ptr: desc_ptr as u64,
        desc_num,
        rbuf: rbuf as u64,
        rsize: rsize as u64,
    };
    let at = c.place(&wire(&arg));
    let unreadable_data = data.access == Access::Bad && at.access == Access::Write;
    let expect = if at.access == Access::Bad || unreadable_data {
        Expect::Fail
    } else {
        Expect::Any
    };
    (at.addr, expect, (at.access == Access::Write).then_some(arg))
}

/// After a successful call with its `door_arg_t` at `at`: keeps or closes
/// the descriptors received, and unmaps the result area if the kernel
/// made one. Skipped when the results could have overwritten the
/// structure itself.
fn results(c: &mut Ctx, at: usize, sent: DoorArg) {
    let overlaps = (sent.rbuf as usize) < at + size_of::<DoorArg>()
        && at < (sent.rbuf as usize).saturating_add(sent.rsize as usize);
    let Some(got) = c.scratch.get::<DoorArg>(at).filter(|_| !overlaps) else {
        return;
    };
    let (start, len) = (got.rbuf as usize, got.rsize as usize);
    let mapped = got.rbuf != sent.rbuf && len > 0;
    let n = got.desc_num as usize;
    let descs_at = got.desc_ptr as usize;
    let inside = descs_at >= start
        && descs_at.saturating_add(n * size_of::<DoorDesc>()) <= start.saturating_add(len);
    let mut received = Vec::new();
    if n <= 16 && inside && (mapped || c.scratch.holds(start, len)) {
        for i in 0..n {
            // SAFETY: the entries lie in the result area the kernel
            // reported: this thread's scratch area or a mapping made for it.
            let d = unsafe { (descs_at as *const DoorDesc).add(i).read_unaligned() };
            if d.d_attributes & DOOR_DESCRIPTOR != 0 {
                received.push(d.d_descriptor);
            }
        }
    }
    c.receive(&received);
    released(c, &sent);
    if mapped {
        c.unmap(start, len);
    }
    let expected_data = CONSTANTS.len().max(sent.data_size as usize);
    c.check(
        got.data_size as usize <= expected_data,
        format_args!("door_call results of {} bytes", got.data_size),
    );
}

/// After a successful call: the descriptors `sent` passed with
/// DOOR_RELEASE are closed (if the array is still in the scratch area).
fn released(c: &mut Ctx, sent: &DoorArg) {
    let n = (sent.desc_num as usize).min(4);
    for i in 0..n {
        let at = sent.desc_ptr as usize + i * size_of::<DoorDesc>();
        if let Some(d) = c.scratch.get::<DoorDesc>(at)
            && d.d_attributes & (DOOR_DESCRIPTOR | DOOR_RELEASE) == DOOR_DESCRIPTOR | DOOR_RELEASE
        {
            fds::closed(&mut c.rng, d.d_descriptor);
        }
    }
}

pub fn door_return(c: &mut Ctx) {
    // A fuzz thread serves nothing, and the stack area is never usable, so
    // this must fail rather than park the thread. A quarter of them have
    // no results, the door fast path's case (which must leave them to the
    // general path).
    let (data, data_size, desc, n) = if c.rng.chance(25) {
        (0, 0, 0, 0)
    } else {
        let data_size = mem::size(&mut c.rng);
        let data = c.ptr(data_size).addr;
        let (desc, n) = desc_array(c);
        (data, data_size, desc, n)
    };
    let base = bad_addr(&mut c.rng);
    let size = choose(
        [PAGE, 16 * PAGE, (c.rng.boundary() as usize).max(PAGE)],
        &mut c.rng,
    );
    c.issue(
        [data, data_size, desc, n as usize, base, size],
        Expect::Fail,
    );
}
