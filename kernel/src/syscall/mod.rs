//! The system-call layer: decodes the registers of a [`TrapFrame`], checks
//! every argument (user pointers through [`UserSlice`]), and only then acts.
//! Bad input gets an error code; nothing a program passes can fault or hang
//! the kernel. The door calls are in [`door`].

mod door;

use crate::arch::traps::TrapFrame;
use crate::mem::PAGE_SIZE;
use crate::mem::space::{MapError, USER_END, USER_START};
use crate::mem::user::{UserSlice, read_wire};
use crate::task::{self, SCHED};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use doors::abi::errno::*;
use doors::abi::{MAX_ARGS, MAX_ARGS_BYTES, SpawnArgs, exit_code, kstat, prot, sys};
use kernel::bootfs::NAME_MAX;

/// Longest single `debug_write`.
const MAX_WRITE: u64 = 1 << 20;
/// Largest single `mem_map`.
const MAX_MAP: u64 = 1 << 30;
/// Longest `sleep_ticks`.
const MAX_SLEEP: u64 = 1_000_000;

type SysResult = Result<u64, isize>;

pub fn dispatch(frame: &mut TrapFrame) {
    let a = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let result = match frame.rax as usize {
        sys::EXIT => task::exit_process(a[0] as i32),
        sys::DEBUG_WRITE => debug_write(a[0], a[1]),
        sys::YIELD => {
            task::yield_now();
            Ok(0)
        }
        sys::GETPID => Ok(u64::from(SCHED.lock().current_pid())),
        sys::GETTID => Ok(u64::from(SCHED.lock().current_tid())),
        sys::SPAWN => spawn(a[0]),
        sys::WAIT => task::wait_child(a[0] as i64)
            .map(|(pid, status)| (u64::from(pid) << 32) | u64::from(status as u32)),
        sys::THREAD_CREATE => thread_create(a[0], a[1], a[2]),
        sys::THREAD_EXIT => task::exit_thread(a[0]),
        sys::THREAD_JOIN => u32::try_from(a[0])
            .map_err(|_| ESRCH)
            .and_then(task::join_thread),
        sys::MEM_MAP => mem_map(a[0], a[1], a[2]),
        sys::MEM_UNMAP => mem_unmap(a[0], a[1]),
        sys::SHUTDOWN => shutdown(a[0]),
        sys::BOOTFS_READ => bootfs_read(a[0], a[1], a[2], a[3]),
        sys::KSTAT => kstat(a[0]),
        sys::SLEEP_TICKS => sleep(a[0]),
        sys::DOOR_CREATE => door::door_create(a[0], a[1], a[2]),
        sys::DOOR_CALL => door::door_call(a[0], a[1]),
        sys::DOOR_RETURN => door::door_return(frame, a),
        sys::DOOR_INFO => door::door_info(a[0], a[1]),
        sys::DOOR_REVOKE => door::door_revoke(a[0]),
        sys::DOOR_SETPARAM => door::door_setparam(a[0], a[1], a[2]),
        sys::DOOR_GETPARAM => door::door_getparam(a[0], a[1], a[2]),
        sys::DOOR_UCRED => door::door_ucred(a[0]),
        sys::DOOR_CRED => door::door_cred(a[0]),
        sys::DOOR_BIND => door::door_bind(a[0]),
        sys::DOOR_UNBIND => door::door_unbind(),
        sys::DOOR_CANCELLED => door::door_cancelled(),
        sys::DOOR_ABORT => door::door_abort(a[0]),
        sys::FATTACH => door::fattach(a[0], a[1], a[2]),
        sys::FDETACH => door::fdetach(a[0], a[1]),
        sys::OPEN => door::open(a[0], a[1]),
        sys::CLOSE => door::close(a[0]),
        sys::DUP => door::dup(a[0]),
        sys::DOOR_HANDOFF => door::door_handoff(a[0]),
        sys::SETEUID => door::seteuid(a[0]),
        sys::SET_TLS => match a[0] {
            base if base < USER_END => {
                SCHED.lock().set_fs_base(base);
                Ok(0)
            }
            _ => Err(EINVAL),
        },
        sys::MEM_LIMIT => {
            SCHED.lock().current_space().lower_map_limit(a[0]);
            Ok(0)
        }
        n => {
            crate::warn!(
                "process {} called unknown syscall {n}",
                SCHED.lock().current_pid()
            );
            Err(ENOSYS)
        }
    };
    frame.rax = match result {
        Ok(v) => v,
        Err(e) => (-e) as u64,
    };
    task::check_exiting();
}

fn debug_write(ptr: u64, len: u64) -> SysResult {
    if len > MAX_WRITE {
        return Err(EINVAL);
    }
    let bytes = UserSlice::new(ptr, len)?.read_vec(SCHED.lock().current_space())?;
    crate::log::write_bytes(&bytes);
    Ok(len)
}

fn spawn(args_ptr: u64) -> SysResult {
    let sa: SpawnArgs = read_wire(SCHED.lock().current_space(), args_ptr)?;
    if sa.name_len > NAME_MAX as u64 {
        return Err(ENAMETOOLONG);
    }
    if sa.args_len > MAX_ARGS_BYTES as u64 {
        return Err(E2BIG);
    }
    let (name, blob) = {
        let mut g = SCHED.lock();
        let space = g.current_space();
        let name = UserSlice::new(sa.name_ptr, sa.name_len)?.read_vec(space)?;
        let blob = UserSlice::new(sa.args_ptr, sa.args_len)?.read_vec(space)?;
        (name, blob)
    };
    let fds = door::read_fds(sa.descs_ptr, sa.descs_len)?;
    let name = core::str::from_utf8(&name).map_err(|_| EINVAL)?;
    if blob.last().is_some_and(|&b| b != 0) {
        return Err(EINVAL);
    }
    let args: Vec<&[u8]> = match blob.split_last() {
        Some((_, body)) => body.split(|&b| b == 0).collect(),
        None => Vec::new(),
    };
    if args.len() >= MAX_ARGS {
        return Err(E2BIG);
    }
    let parent = SCHED.lock().current_pid();
    task::spawn(parent, name, &args, &fds).map(u64::from)
}

fn thread_create(entry: u64, arg: u64, stack_top: u64) -> SysResult {
    if !(USER_START..USER_END).contains(&entry) || !(USER_START..=USER_END).contains(&stack_top) {
        return Err(EINVAL);
    }
    let frame = task::user_frame(entry, stack_top, arg, 0);
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    g.add_user_thread(pid, &frame).map(u64::from)
}

fn mem_map(len: u64, protection: u64, fixed: u64) -> SysResult {
    let known = (prot::READ | prot::WRITE | prot::EXEC) as u64;
    if len == 0 || len > MAX_MAP || protection & !known != 0 || !fixed.is_multiple_of(PAGE_SIZE) {
        return Err(EINVAL);
    }
    let pages = len.div_ceil(PAGE_SIZE);
    let fixed = match fixed {
        0 => None,
        a if a >= USER_START
            && a.checked_add(pages * PAGE_SIZE)
                .is_some_and(|e| e <= USER_END) =>
        {
            Some(a)
        }
        _ => return Err(EINVAL),
    };
    let writable = protection & prot::WRITE as u64 != 0;
    let executable = protection & prot::EXEC as u64 != 0;
    match SCHED
        .lock()
        .current_space()
        .map_area(fixed, pages, writable, executable)
    {
        Ok(addr) => Ok(addr),
        Err(MapError::OutOfMemory) => Err(ENOMEM),
        Err(MapError::AlreadyMapped) => Err(EINVAL),
    }
}

fn mem_unmap(addr: u64, len: u64) -> SysResult {
    if SCHED.lock().current_space().unmap_area(addr, len) {
        Ok(0)
    } else {
        Err(EINVAL)
    }
}

fn shutdown(code: u64) -> SysResult {
    if SCHED.lock().current_pid() != 1 {
        return Err(EPERM);
    }
    if code == 0 || code > 0x7f {
        return Err(EINVAL);
    }
    crate::info!("shutdown requested by init: exit code {code:#x}");
    crate::arch::qemu_exit(code as u32)
}

fn bootfs_read(name_ptr: u64, name_len: u64, buf: u64, buf_len: u64) -> SysResult {
    if name_len > NAME_MAX as u64 {
        return Err(ENAMETOOLONG);
    }
    let mut g = SCHED.lock();
    let space = g.current_space();
    let name = UserSlice::new(name_ptr, name_len)?.read_vec(space)?;
    let name = core::str::from_utf8(&name).map_err(|_| ENOENT)?;
    let data = task::bootfs().find(name).ok_or(ENOENT)?;
    let n = (data.len() as u64).min(buf_len);
    UserSlice::new(buf, n)?.write(space, &data[..n as usize])?;
    Ok(data.len() as u64)
}

fn kstat(which: u64) -> SysResult {
    let g = SCHED.lock();
    let (procs, threads) = g.counts();
    Ok(match which as usize {
        kstat::PROCESSES => procs as u64,
        kstat::THREADS => threads as u64,
        kstat::FREE_FRAMES => crate::mem::frames::free_count(),
        kstat::TIMER_TICKS => g.ticks(),
        kstat::DOORS => g.door_counts().0 as u64,
        kstat::DESCRIPTORS => g.door_counts().1 as u64,
        kstat::BOOT_TSC => task::BOOT_TSC.load(Ordering::Relaxed),
        kstat::DOOR_HANDOFFS => task::HANDOFFS.load(Ordering::Relaxed),
        kstat::DOOR_FAST_PATHS => door::FAST_PATHS.load(Ordering::Relaxed),
        kstat::FIRST_USER_TSC => task::FIRST_USER_TSC.load(Ordering::Relaxed),
        _ => return Err(EINVAL),
    })
}

fn sleep(ticks: u64) -> SysResult {
    if ticks > MAX_SLEEP {
        return Err(EINVAL);
    }
    task::sleep(ticks);
    Ok(0)
}

/// The QEMU exit value init uses for a program's status (re-exported for
/// the kernel's own failure path).
pub const KERNEL_FAILURE: u32 = exit_code::FAILURE;
