//! How the fuzzer makes the process, thread, memory and limit calls of the
//! [`table`](crate::table): arguments from every class, what the result
//! must be, and what a success leaves to clean up (mappings, threads,
//! children).

use crate::fuzzer::{Ctx, Expect, Stub};
use crate::mem::{
    self, Access, MAP_REGION, PAGE, Ptr, SCRATCH_RW, STRIDE, TOP_PAGE, bad_addr, beyond_user, wire,
};
use crate::paths::{self, NAMES};
use crate::rng::choose;
use alloc::format;
use alloc::vec::Vec;
use core::arch::naked_asm;
use userland::abi::fs::{AT_FDCWD, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
use userland::abi::{Errno, MEM_MAP_MAX, SpawnArgs, Sys, limit};
use userland::process;

/// Where the kernel places mappings made without a fixed address.
const AUTO_AREA: usize = 0x0000_1000_0000_0000;

pub fn debug_write(c: &mut Ctx) {
    // Only writes that must fail: a successful one would print noise.
    let len = mem::size(&mut c.rng);
    if len == 0 {
        let ptr = c.ptr(0).addr;
        c.issue([ptr, 0, 0, 0, 0, 0], Expect::Any);
    } else {
        let ptr = bad_addr(&mut c.rng);
        c.issue([ptr, len, 0, 0, 0, 0], Expect::Fail);
    }
}

pub fn spawn(c: &mut Ctx) {
    if c.rng.chance(10) {
        truncated_program(c);
        return;
    }
    // Only this program can start: in its "quick" mode, which exits 0.
    // Names without a `/` are programs of `/bin`; paths start from the
    // current directory (in the fuzz area, or `/bin`). The area's files
    // hold whatever the calls wrote (pieces of `/bin/fuzz` among it, read
    // into the scratch area): the loader must refuse them.
    let area_file = format!("{}/{}", paths::home(c.worker, c.slot), c.rng.pick(&NAMES));
    let name: &[u8] = c.rng.pick(&[
        &b"fuzz"[..],
        b"fuzz",
        b"/bin/fuzz",
        b"./fuzz",
        b"boot.args",
        b"no-such-program",
        b"fuzz\0",
        b"",
        b"f0",
        b"/tmp/fuzz",
        b"/dev/null",
        b"/bin/fuzz/",
        area_file.as_bytes(),
        area_file.as_bytes(),
    ]);
    let blob: &[u8] = c.rng.pick(&[
        &b"quick\0"[..],
        b"quick\0",
        b"quick\0\0",
        b"quick",
        b"quick\0x",
    ]);
    // Each piece in its own page: a child only ever sees "quick" (or a
    // prefix of it, or nothing) as its first argument.
    let name_at = c.place_in(name, Some(0));
    let blob_at = c.place_in(blob, Some(1));
    let count = choose([0, 0, 1, 2, 3, c.rng.boundary() as usize], &mut c.rng);
    let descs = if (1..=3).contains(&count) {
        let fds: Vec<u8> = (0..count)
            .flat_map(|_| (c.fd() as i32).to_le_bytes())
            .collect();
        c.place_in(&fds, Some(2)).addr
    } else {
        c.ptr(count.saturating_mul(4)).addr
    };
    let args_len = if c.rng.chance(90) {
        blob.len()
    } else {
        c.rng.boundary() as usize
    };
    let args = SpawnArgs {
        name_ptr: name_at.addr as u64,
        name_len: name.len() as u64,
        args_ptr: blob_at.addr as u64,
        args_len: args_len as u64,
        descs_ptr: descs as u64,
        descs_len: count as u64,
    };
    let at = c.place_in(&wire(&args), Some(3));
    let sent = c.scratch.read(blob_at.addr, args_len).unwrap_or_default();
    let expect = if at.access == Access::Bad || name_at.access == Access::Bad {
        Expect::Fail
    } else {
        Expect::Any
    };
    let pid = c.issue([at.addr, 0, 0, 0, 0, 0], expect);
    if pid > 0 {
        // In quick mode it exits 0; with no arguments it prints its usage
        // and exits 2. (Another thread's wait(-1) may reap it first.)
        let quick = sent.starts_with(b"quick\0");
        if let Ok((_, status)) = process::wait(Some(pid as u32)) {
            c.check(
                status == 0 || (status == 2 && !quick),
                format_args!("child {pid} (arguments {sent:?}) exited with {status}"),
            );
        }
    }
}

/// Copies a prefix of this program's file (at most the scratch area's
/// size, far short of the whole; a byte changed at times) to the junk
/// directory with execute permission and spawns it: that must fail (the
/// program's segments lie beyond the file), never start it.
fn truncated_program(c: &mut Ctx) {
    let len = 1 + c.rng.below(SCRATCH_RW as u64) as usize;
    let buf = c.scratch.slot(&mut c.rng, len, false);
    let cwd = AT_FDCWD as isize as usize;
    let bin = "/bin/fuzz";
    let args = [
        cwd,
        bin.as_ptr() as usize,
        bin.len(),
        O_RDONLY as usize,
        0,
        0,
    ];
    let fd = c.issue_nr(Sys::Openat.number(), args, Expect::SuccessOr(&[]));
    if fd < 0 {
        return;
    }
    let args = [fd as usize, buf, len, 0, 0, 0];
    c.issue_nr(Sys::Pread.number(), args, Expect::Value(len as isize));
    c.issue_nr(
        Sys::Close.number(),
        [fd as usize, 0, 0, 0, 0, 0],
        Expect::Value(0),
    );
    if c.rng.chance(30) {
        let at = buf + c.rng.index(len);
        let byte = c.rng.next() as u8;
        c.scratch.write(at, &[byte]);
    }
    let path = format!("{}/j/elf", paths::home(c.worker, c.slot));
    let flags = (O_WRONLY | O_CREAT | O_TRUNC) as usize;
    let args = [cwd, path.as_ptr() as usize, path.len(), flags, 0o755, 0];
    let fd = c.issue_nr(Sys::Openat.number(), args, Expect::Any);
    if fd < 0 {
        return;
    }
    let wrote = [fd as usize, buf, len, 0, 0, 0];
    let expect = Expect::ValueOr(len as isize, &[Errno::ENOSPC]);
    c.issue_nr(Sys::Write.number(), wrote, expect);
    c.issue_nr(
        Sys::Fchmod.number(),
        [fd as usize, 0o755, 0, 0, 0, 0],
        Expect::Any,
    );
    c.issue_nr(
        Sys::Close.number(),
        [fd as usize, 0, 0, 0, 0, 0],
        Expect::Value(0),
    );
    let spawn = SpawnArgs {
        name_ptr: path.as_ptr() as u64,
        name_len: path.len() as u64,
        args_ptr: c"quick".as_ptr() as u64,
        args_len: 6,
        descs_ptr: 0,
        descs_len: 0,
    };
    let args = [&raw const spawn as usize, 0, 0, 0, 0, 0];
    let pid = c.issue_nr(Sys::Spawn.number(), args, Expect::Fail);
    if pid > 0 {
        let _ = process::wait(Some(pid as u32));
    }
}

pub fn wait(c: &mut Ctx) {
    let pid = choose(
        [usize::MAX, 0, 1, c.pid as usize, c.rng.boundary() as usize],
        &mut c.rng,
    );
    c.issue([pid, 0, 0, 0, 0, 0], Expect::Any);
}

/// Where a thread made by a fuzzed `thread_create` starts: it ends at once
/// with `thread_exit(arg, 0, 0)`, touching no memory, so any stack pointer
/// will do.
#[unsafe(naked)]
extern "C" fn exit_stub() -> ! {
    naked_asm!(
        "xor esi, esi",
        "xor edx, edx",
        "mov eax, {exit}",
        "syscall",
        "ud2",
        exit = const Sys::ThreadExit.number(),
    )
}

/// As [`exit_stub`], but the thread unmaps an area on its way out:
/// `thread_exit(arg, arg, stack_top)`, given the area's address as its
/// argument and its length as its stack pointer (which it never uses).
#[unsafe(naked)]
extern "C" fn unmap_stub() -> ! {
    naked_asm!(
        "mov rsi, rdi",
        "mov rdx, rsp",
        "mov eax, {exit}",
        "syscall",
        "ud2",
        exit = const Sys::ThreadExit.number(),
    )
}

/// Lowest and highest stack pointer `thread_create` accepts.
const STACK_RANGE: core::ops::RangeInclusive<usize> = PAGE..=TOP_PAGE;

pub fn thread_create(c: &mut Ctx) {
    let (entry, arg, stack, area) = match c.rng.below(10) {
        0..=2 => {
            let entry = choose(
                [beyond_user(&mut c.rng), c.rng.below(PAGE as u64) as usize],
                &mut c.rng,
            );
            let (arg, stack) = (c.rng.boundary() as usize, c.rng.boundary() as usize);
            c.issue([entry, arg, stack, 0, 0, 0], Expect::Errno(Errno::EINVAL));
            return;
        }
        // The thread unmaps an area of its own as it ends.
        3 | 4 => {
            let Some(area) = c.stub_area() else { return };
            let (addr, len) = c.stub_area_range(area);
            (unmap_stub as *const () as usize, addr, len, Some(area))
        }
        // ... or a bad one, which the kernel ignores.
        5 => {
            let len = PAGE * (1 + c.rng.below(16) as usize);
            (
                unmap_stub as *const () as usize,
                bad_addr(&mut c.rng),
                len,
                None,
            )
        }
        _ => {
            let stack = match c.rng.below(3) {
                0 => c.rng.boundary() as usize,
                1 => bad_addr(&mut c.rng),
                _ => c.ptr(0).addr,
            };
            (
                exit_stub as *const () as usize,
                c.rng.next() as usize,
                stack,
                None,
            )
        }
    };
    let expect = if STACK_RANGE.contains(&stack) {
        Expect::Any
    } else {
        Expect::Errno(Errno::EINVAL)
    };
    let tid = c.issue([entry, arg, stack, 0, 0, 0], expect);
    if tid > 0 {
        c.stub(Stub {
            tid: tid as u32,
            value: arg as u64,
            maybe_joined: false,
            area,
        });
    } else if let Some(area) = area {
        let (addr, len) = c.stub_area_range(area);
        c.unmap(addr, len);
    }
}

pub fn thread_join(c: &mut Ctx) {
    match c.rng.below(3) {
        0 => {
            c.issue(
                [c.tid as usize, 0, 0, 0, 0, 0],
                Expect::Errno(Errno::EDEADLK),
            );
        }
        1 if !c.stubs.is_empty() => {
            let mut stub = c.stubs.remove(c.rng.index(c.stubs.len()));
            let out = if c.rng.chance(20) {
                Ptr {
                    addr: 0,
                    access: Access::Unknown,
                }
            } else {
                c.ptr(8)
            };
            let expect = match out.access {
                Access::Write | Access::Unknown => Expect::Value(0),
                Access::Read | Access::Bad => Expect::Errno(Errno::EFAULT),
            };
            if stub.maybe_joined {
                // A failed join may have taken it already: the fuzz
                // thread's final join checks it.
                c.stubs.push(stub);
                return;
            }
            if c.issue([stub.tid as usize, out.addr, 0, 0, 0, 0], expect) == 0 {
                c.joined(&stub);
                if out.access == Access::Write {
                    let value = c.scratch.get::<u64>(out.addr);
                    c.check(
                        value == Some(stub.value),
                        format_args!(
                            "thread {} ended with {:#x}, join stored {value:#x?}",
                            stub.tid, stub.value
                        ),
                    );
                }
            } else {
                // EFAULT: the pointer was refused first (the thread is
                // still to join), or the value could not be stored (it
                // was joined).
                stub.maybe_joined = true;
                c.stubs.push(stub);
            }
        }
        _ => {
            let tid = (1 << 32) + c.rng.below(1 << 40) as usize;
            c.issue([tid, 0, 0, 0, 0, 0], Expect::Errno(Errno::ESRCH));
        }
    }
}

pub fn thread_detach(c: &mut Ctx) {
    let stub = (c.rng.chance(60) && !c.stubs.is_empty())
        .then(|| c.stubs.remove(c.rng.index(c.stubs.len())));
    let Some(stub) = stub else {
        let tid = choose([0, (1 << 32) + c.rng.below(1 << 40) as usize], &mut c.rng);
        c.issue([tid, 0, 0, 0, 0, 0], Expect::Errno(Errno::ESRCH));
        return;
    };
    let tid = stub.tid as usize;
    let expect = if stub.maybe_joined {
        Expect::Any
    } else {
        Expect::Value(0)
    };
    if c.issue([tid, 0, 0, 0, 0, 0], expect) != 0 {
        return;
    }
    // Detached: nobody can detach it again or join it (EINVAL while it
    // runs, ESRCH once it ended: it left nothing behind).
    if c.rng.chance(50) {
        c.issue([tid, 0, 0, 0, 0, 0], Expect::Errno(Errno::ESRCH));
    } else {
        c.issue_nr(Sys::ThreadJoin.number(), [tid, 0, 0, 0, 0, 0], Expect::Fail);
    }
}

/// Whose limits a limit call names, as far as the fuzzer knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// This process's (pid 0 or its own).
    Own,
    /// No process the caller may name (init, or beyond 32 bits): ESRCH.
    Nobody,
    /// Maybe a child's, maybe nobody's.
    Unknown,
}

/// A pid argument for a limit call.
fn limit_pid(c: &mut Ctx) -> (usize, Whose) {
    let pid = match c.rng.below(5) {
        0 | 1 => 0,
        2 => c.pid as usize,
        3 => {
            let far = (1 << 32) + c.rng.below(1 << 40) as usize;
            return (choose([1, far], &mut c.rng), Whose::Nobody);
        }
        _ => c.rng.boundary() as usize,
    };
    let whose = if pid == 0 || pid == c.pid as usize {
        Whose::Own
    } else {
        Whose::Unknown
    };
    (pid, whose)
}

/// The resources of `abi::limit`.
const RESOURCES: u64 = 4;

/// The least value of each limit the fuzzer can live with (no fuzzed
/// `set_limit` goes lower), and the width of the range it draws from.
fn floor_and_span(resource: usize) -> (u64, u64) {
    match resource {
        limit::THREADS => (128, 2 * limit::DEFAULT_THREADS),
        limit::MEMORY => (crate::MEM_LIMIT, crate::MEM_LIMIT),
        limit::CHILDREN => (8, 2 * limit::DEFAULT_CHILDREN),
        // The own descriptors of the fuzz threads sit in slots 400 to 471,
        // and no draw names a slot from 2560 on.
        _ => (512, 2 * limit::DEFAULT_DESCRIPTORS),
    }
}

/// A resource argument: mostly a known one.
fn resource(c: &mut Ctx) -> usize {
    choose([c.rng.below(RESOURCES), c.rng.boundary()], &mut c.rng) as usize
}

pub fn get_limit(c: &mut Ctx) {
    let (pid, whose) = limit_pid(c);
    let resource = resource(c);
    let known = (resource as u64) < RESOURCES;
    let expect = match whose {
        Whose::Own if known => Expect::Any,
        Whose::Own => Expect::Errno(Errno::EINVAL),
        Whose::Nobody => Expect::Errno(Errno::ESRCH),
        Whose::Unknown => Expect::Any,
    };
    let value = c.issue([pid, resource, 0, 0, 0, 0], expect);
    if whose == Whose::Own && known {
        let (floor, _) = floor_and_span(resource);
        c.check(
            value >= 0 && value as u64 >= floor,
            format_args!("limit {resource} is {value}, below the fuzzer's floor {floor}"),
        );
    }
}

pub fn set_limit(c: &mut Ctx) {
    let (pid, whose) = limit_pid(c);
    let resource = resource(c);
    let known = (resource as u64) < RESOURCES;
    // Never below the floor, whatever the target (a boundary pid may be
    // this process's); sometimes far beyond what any table can hold.
    let (floor, span) = floor_and_span(resource);
    let huge = c.rng.chance(10);
    let value = match huge {
        true => c.rng.pick(&[1 << 40, u64::MAX]),
        false => floor + c.rng.below(span),
    };
    let expect = match whose {
        // Unknown, or a value get_limit could not return.
        Whose::Own if !known || value > i64::MAX as u64 => Expect::Errno(Errno::EINVAL),
        // EPERM unprivileged, EINVAL beyond the descriptor encoding.
        Whose::Own if huge && resource == limit::DESCRIPTORS => Expect::Fail,
        Whose::Nobody => Expect::Errno(Errno::ESRCH),
        _ => Expect::Any,
    };
    c.issue([pid, resource, value as usize, 0, 0, 0], expect);
}

pub fn mem_map(c: &mut Ctx) {
    let len = match c.rng.below(8) {
        0 => 0,
        1..=4 => PAGE * (1 + c.rng.below(16) as usize) - c.rng.pick(&[0, 0, 1, PAGE - 1]),
        5 => c.rng.below(PAGE as u64 * 4) as usize,
        6 => c.rng.pick(&[
            1 << 18,
            MEM_MAP_MAX as usize,
            MEM_MAP_MAX as usize + 1,
            1 << 30,
            1 << 40,
            usize::MAX,
        ]),
        _ => c.rng.boundary() as usize,
    };
    let prot = if c.rng.chance(90) {
        c.rng.below(8)
    } else {
        c.rng.boundary()
    } as usize;
    let region = MAP_REGION + c.slot * STRIDE;
    let (fixed, bad_fixed) = match c.rng.below(7) {
        0..=2 => (0, false),
        3 => (region + c.rng.below(256) as usize * PAGE, false),
        // Among the automatic mappings (thread stacks, result areas).
        6 => (AUTO_AREA + c.rng.below(1 << 14) as usize * PAGE, false),
        4 => (region + 1 + c.rng.below(PAGE as u64 - 1) as usize, true),
        _ => {
            let near_top = TOP_PAGE - c.rng.below(4) as usize * PAGE;
            let reaches_top = len > TOP_PAGE - near_top;
            choose(
                [(near_top, reaches_top), (beyond_user(&mut c.rng), true)],
                &mut c.rng,
            )
        }
    };
    let invalid = len == 0 || len as u64 > MEM_MAP_MAX || prot & !7 != 0 || bad_fixed;
    let expect = if invalid {
        Expect::Errno(Errno::EINVAL)
    } else {
        Expect::Any
    };
    let addr = c.issue([len, prot, fixed, 0, 0, 0], expect);
    c.check(
        invalid || fixed != 0 || addr != Errno::EINVAL.raw(),
        format_args!("a valid automatic mapping was refused with EINVAL"),
    );
    if addr > 0 {
        c.mapped(addr as usize, len.next_multiple_of(PAGE));
    }
}

pub fn mem_unmap(c: &mut Ctx) {
    match c.rng.below(4) {
        0 if !c.maps.is_empty() => {
            let (addr, len) = c.maps.remove(c.rng.index(c.maps.len()));
            c.issue([addr, len, 0, 0, 0, 0], Expect::Value(0));
        }
        1 if !c.maps.is_empty() => {
            let (addr, len) = c.maps[c.rng.index(c.maps.len())];
            let wrong = c.rng.pick(&[0, len + PAGE, len - PAGE]);
            c.issue([addr, wrong, 0, 0, 0, 0], Expect::Fail);
        }
        2 => {
            let addr = MAP_REGION + c.slot * STRIDE + c.rng.below(256) as usize * PAGE;
            let len = c.rng.below(16) as usize * PAGE;
            if c.issue([addr, len, 0, 0, 0, 0], Expect::Any) == 0 {
                c.maps.retain(|&(a, _)| a != addr);
            }
        }
        _ => {
            let (addr, len) = (bad_addr(&mut c.rng), c.rng.below(16) as usize * PAGE);
            c.issue([addr, len, 0, 0, 0, 0], Expect::Fail);
        }
    }
}
