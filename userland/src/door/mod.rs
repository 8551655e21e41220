//! The doors API under the illumos names and signatures, for people who know
//! doors from C: functions return -1 and set [`errno`] on failure, server
//! procedures are `extern "C" fn(cookie, argp, arg_size, dp, n_desc)`, and
//! `door_return` does not return on success. [`safe`] is an idiomatic Rust
//! layer over it.
//!
//! How serving works here (as in illumos): a server thread calls
//! `door_return`, which parks it in the kernel with its stack area
//! registered. An invocation resumes it on that stack at
//! [`door_invocation`], which runs the door_server_create procedure first
//! when the pool has just run dry (`nservers == 0`), then the door's server
//! procedure. A server procedure that returns instead of calling
//! `door_return` ends its thread (its caller gets an error).

pub mod safe;

use crate::sys::{Errno, check, syscall, syscall_of_two, syscall0, syscall1, syscall2, syscall3};
use crate::thread;
use abi::{DOOR_CREATE_RUN_SERVER_CREATE, Sys, invocation};
use core::arch::asm;
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};

pub use abi::{
    DOOR_DESCRIPTOR, DOOR_IS_UNREF, DOOR_LOCAL, DOOR_NO_CANCEL, DOOR_PARAM_DATA_MAX,
    DOOR_PARAM_DATA_MIN, DOOR_PARAM_DESC_MAX, DOOR_PRIVATE, DOOR_QUERY, DOOR_REFUSE_DESC,
    DOOR_RELEASE, DOOR_REVOKED, DOOR_UNREF, DOOR_UNREF_DATA, DOOR_UNREF_MULTI,
};
#[allow(non_camel_case_types)]
pub type door_arg_t = abi::DoorArg;
#[allow(non_camel_case_types)]
pub type door_desc_t = abi::DoorDesc;
#[allow(non_camel_case_types)]
pub type door_info_t = abi::DoorInfo;
#[allow(non_camel_case_types)]
pub type door_cred_t = abi::DoorCred;
#[allow(non_camel_case_types)]
pub type ucred_t = abi::Ucred;

/// A server procedure: `(cookie, argp, arg_size, dp, n_desc)`.
pub type ServerProc = extern "C" fn(*mut c_void, *mut u8, usize, *mut door_desc_t, u32);
/// A door_server_create procedure: gets the door's information for a
/// private pool, NULL for the shared pool.
pub type CreateProc = extern "C" fn(*mut door_info_t);

/// The process's door_server_create procedure (0: the default).
static CREATE_PROC: AtomicUsize = AtomicUsize::new(0);

/// The calling thread's last door error.
pub fn errno() -> Errno {
    crate::tcb::errno()
}

/// Turns a raw syscall result into the C convention.
fn c_result(ret: isize) -> i32 {
    match check(ret) {
        Ok(v) => v as i32,
        Err(e) => {
            crate::tcb::set_errno(e);
            -1
        }
    }
}

/// Server threads the default create procedure started that have not yet
/// reached the pool.
static STARTING: AtomicUsize = AtomicUsize::new(0);

/// The default door_server_create procedure: one more server thread for the
/// shared pool, parked in `door_return`, unless one it made earlier is still
/// on its way there (it will take the waiting work; without this check a
/// caller and a server handing the CPU to each other would make a new
/// thread at every depletion while the last one waits to run: the
/// "unbounded server thread creation" pitfall). As in illumos it does not
/// bind the thread to a private door: programs with DOOR_PRIVATE doors
/// install a create procedure whose threads call `door_bind` (see
/// door_bind(3C)).
extern "C" fn default_create_proc(_info: *mut door_info_t) {
    if STARTING.load(Ordering::Relaxed) > 0 {
        return;
    }
    if STARTING.fetch_add(1, Ordering::Relaxed) > 0 {
        STARTING.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    let started = thread::spawn(|| {
        // Counted out by its first invocation (it has parked by then), or
        // here if it could not park.
        let (base, len) = thread::current_stack();
        let null = core::ptr::null_mut();
        park::<true>(null, 0, null.cast(), 0, base, len);
        STARTING.fetch_sub(1, Ordering::Relaxed);
        0
    });
    if started.is_err() {
        STARTING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// In a fork child: the server threads on their way to a pool are the
/// parent's.
pub(crate) fn after_fork() {
    STARTING.store(0, Ordering::Relaxed);
}

/// Whether the create procedure is the default one and would return at
/// once: a server thread it started is still on its way to the pool.
#[inline(always)]
fn default_would_wait() -> bool {
    CREATE_PROC.load(Ordering::Relaxed) == 0 && STARTING.load(Ordering::Relaxed) > 0
}

#[cold]
#[inline(never)]
fn run_create_proc(info: *mut door_info_t) {
    let p = CREATE_PROC.load(Ordering::Acquire);
    if p == 0 {
        default_create_proc(info);
    } else {
        // SAFETY: only `door_server_create` stores here, and only a `CreateProc`.
        let f: CreateProc = unsafe { core::mem::transmute::<usize, CreateProc>(p) };
        f(info);
    }
}

/// Sets the process's door_server_create procedure; returns the previous one
/// (`None`: the default). Cannot fail.
pub fn door_server_create(create_proc: Option<CreateProc>) -> Option<CreateProc> {
    let new = create_proc.map_or(0, |f| f as usize);
    let old = CREATE_PROC.swap(new, Ordering::AcqRel);
    // SAFETY: only `CreateProc` values are stored.
    (old != 0).then(|| unsafe { core::mem::transmute::<usize, CreateProc>(old) })
}

/// Creates a door served by `server_procedure` with `cookie`.
pub fn door_create(server_procedure: ServerProc, cookie: *mut c_void, attributes: u32) -> i32 {
    let ret = syscall3(
        Sys::DoorCreate,
        server_procedure as usize,
        cookie as usize,
        attributes as usize,
    );
    if ret < 0 {
        return c_result(ret);
    }
    let fd = (ret & 0xffff_ffff) as i32;
    if ret & DOOR_CREATE_RUN_SERVER_CREATE != 0 {
        if attributes & DOOR_PRIVATE != 0 {
            let mut info = door_info_t::default();
            if door_info(fd, &mut info) == 0 {
                run_create_proc(&mut info);
            }
        } else {
            run_create_proc(core::ptr::null_mut());
        }
    }
    fd
}

/// Calls door `d`; `params` may be NULL.
pub fn door_call(d: i32, params: *mut door_arg_t) -> i32 {
    c_result(syscall_of_two(Sys::DoorCall, d as usize, params as usize))
}

/// Where an invocation starts: on the server thread's stack area, with the
/// invocation in registers (`abi::invocation`). The common start (nothing
/// to do before the procedure) calls nothing first, so it keeps nothing
/// across a call and saves no registers: everything else is in
/// [`start_invocation`]. `FIRST`: the first invocation of a thread the
/// default create procedure started (the thread has reached its pool; its
/// first return chose this entry, so later ones check nothing for it).
extern "C" fn door_invocation<const FIRST: bool>(
    cookie: *mut c_void,
    argp: *mut u8,
    arg_size: usize,
    dp: *mut door_desc_t,
    n_desc: u32,
    pc: usize,
    status: u64,
) -> ! {
    if FIRST {
        STARTING.fetch_sub(1, Ordering::Relaxed);
        start_invocation(cookie, argp, arg_size, dp, n_desc, pc, status)
    }
    // What the default procedure would find on a depletion is checked
    // here: while the thread it made is on its way it does nothing.
    let nothing_first = match status {
        invocation::RUN => true,
        invocation::DEPLETED_SHARED => default_would_wait(),
        _ => false,
    };
    if !nothing_first {
        start_invocation(cookie, argp, arg_size, dp, n_desc, pc, status)
    }
    serve(cookie, argp, arg_size, dp, n_desc, pc)
}

/// [`door_invocation`] with work before the procedure: the create
/// procedure runs (unless the default one would do nothing).
#[cold]
#[inline(never)]
fn start_invocation(
    cookie: *mut c_void,
    argp: *mut u8,
    arg_size: usize,
    dp: *mut door_desc_t,
    n_desc: u32,
    pc: usize,
    status: u64,
) -> ! {
    match status {
        invocation::RUN => {}
        invocation::DEPLETED_SHARED if default_would_wait() => {}
        invocation::DEPLETED_SHARED => run_create_proc(core::ptr::null_mut()),
        private_info => run_create_proc(private_info as *mut door_info_t),
    }
    serve(cookie, argp, arg_size, dp, n_desc, pc)
}

/// Runs server procedure `pc` on the invocation.
#[inline(always)]
fn serve(
    cookie: *mut c_void,
    argp: *mut u8,
    arg_size: usize,
    dp: *mut door_desc_t,
    n_desc: u32,
    pc: usize,
) -> ! {
    // SAFETY: `pc` is the server procedure given to door_create.
    let pc: ServerProc = unsafe { core::mem::transmute::<usize, ServerProc>(pc) };
    pc(cookie, argp, arg_size, dp, n_desc);
    // The procedure returned instead of calling door_return.
    thread::exit(0)
}

/// Returns results to the caller and parks this thread for the next
/// invocation. Does not return on success; returns -1 with errno otherwise.
pub fn door_return(data: *mut u8, size: usize, desc: *mut door_desc_t, n_desc: u32) -> i32 {
    let (base, len) = thread::current_stack();
    door_return_on(data, size, desc, n_desc, base, len)
}

/// [`door_return`] registering `[base, base + len)` (instead of the
/// thread's own stack) as the area the next invocation is laid out in,
/// and runs on.
pub fn door_return_on(
    data: *mut u8,
    size: usize,
    desc: *mut door_desc_t,
    n_desc: u32,
    base: usize,
    len: usize,
) -> i32 {
    park::<false>(data, size, desc, n_desc, base, len)
}

/// [`door_return_on`]; the next invocation starts in
/// [`door_invocation`]`::<FIRST>` (`FIRST`: the first return of a thread
/// the default create procedure started).
#[inline(always)]
fn park<const FIRST: bool>(
    data: *mut u8,
    size: usize,
    desc: *mut door_desc_t,
    n_desc: u32,
    base: usize,
    len: usize,
) -> i32 {
    let ret: isize;
    // SAFETY: on success the kernel resumes this thread with a fresh stack
    // pointer inside its registered area and the invocation in registers;
    // the old frames are abandoned and the entry (called with the status
    // as its seventh, stacked, argument) never returns. On failure nothing
    // changed but rax.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jle 2f",
            "mov rcx, r10",
            "sub rsp, 8",
            "push rax",
            "call {entry}",
            "ud2",
            "2:",
            entry = sym door_invocation::<FIRST>,
            inlateout("rax") Sys::DoorReturn.number() as isize => ret,
            inlateout("rdi") data as usize => _,
            in("rsi") size,
            in("rdx") desc as usize,
            in("r10") n_desc as usize,
            in("r8") base,
            in("r9") len,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    c_result(ret)
}

/// Information about door `d` (or, with `DOOR_QUERY`, the door this server
/// thread is serving).
pub fn door_info(d: i32, info: *mut door_info_t) -> i32 {
    c_result(syscall2(Sys::DoorInfo, d as usize, info as usize))
}

pub fn door_revoke(d: i32) -> i32 {
    c_result(syscall1(Sys::DoorRevoke, d as usize))
}

pub fn door_setparam(d: i32, param: i32, value: usize) -> i32 {
    c_result(syscall3(
        Sys::DoorSetparam,
        d as usize,
        param as usize,
        value,
    ))
}

pub fn door_getparam(d: i32, param: i32, out: *mut usize) -> i32 {
    c_result(syscall3(
        Sys::DoorGetparam,
        d as usize,
        param as usize,
        out as usize,
    ))
}

/// Credentials of the immediate caller of the invocation being served.
pub fn door_ucred(out: *mut ucred_t) -> i32 {
    c_result(syscall1(Sys::DoorUcred, out as usize))
}

/// The older form of [`door_ucred`].
pub fn door_cred(out: *mut door_cred_t) -> i32 {
    c_result(syscall1(Sys::DoorCred, out as usize))
}

/// Binds the calling thread to the private pool of door `d` (at its next
/// door_return).
pub fn door_bind(d: i32) -> i32 {
    c_result(syscall1(Sys::DoorBind, d as usize))
}

pub fn door_unbind() -> i32 {
    c_result(syscall0(Sys::DoorUnbind))
}

/// 1 when the client of the invocation being served abandoned it (and the
/// door lacks DOOR_NO_CANCEL): this kernel's cancellation notice.
pub fn door_cancelled() -> i32 {
    c_result(syscall0(Sys::DoorCancelled))
}

/// Abandons the door_call thread `tid` of this process is blocked in.
pub fn door_abort(tid: u32) -> i32 {
    c_result(syscall1(Sys::DoorAbort, tid as usize))
}

/// Names door `d` by `path`.
pub fn fattach(d: i32, path: &str) -> i32 {
    c_result(syscall3(
        Sys::Fattach,
        d as usize,
        path.as_ptr() as usize,
        path.len(),
    ))
}

pub fn fdetach(path: &str) -> i32 {
    c_result(syscall2(Sys::Fdetach, path.as_ptr() as usize, path.len()))
}

/// Opens `path` for reading (the door attached there, if any), as C's
/// `open(path, O_RDONLY)`.
pub fn open(path: &str) -> i32 {
    match crate::fs::open(path, abi::fs::O_RDONLY, 0) {
        Ok(fd) => fd,
        Err(e) => {
            crate::tcb::set_errno(e);
            -1
        }
    }
}

pub fn close(d: i32) -> i32 {
    c_result(syscall1(Sys::Close, d as usize))
}

pub fn dup(d: i32) -> i32 {
    c_result(syscall1(Sys::Dup, d as usize))
}

/// Sets the process's effective user id (root may take any; others only
/// their real id).
pub fn seteuid(uid: u32) -> i32 {
    c_result(syscall1(Sys::Seteuid, uid as usize))
}

/// Benchmark knob: 1 hands the CPU straight between caller and server (the
/// default), 0 goes through the run queue.
pub fn door_handoff(on: bool) -> i32 {
    c_result(syscall(Sys::DoorHandoff, [on as usize, 0, 0, 0, 0, 0]))
}
