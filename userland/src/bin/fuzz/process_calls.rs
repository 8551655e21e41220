//! How the fuzzer makes the process calls of the [`table`](crate::table)
//! (fork, execve, wait4, kill, alarm, getppid, setuid, prlimit) without
//! ending or stopping the fuzzer: a forked child exits at once from a stub
//! and is reaped, execve only ever names what cannot be started, wait4
//! never blocks, kill sends only probes and signals that do nothing (a
//! stop signal only to init, which no signal reaches, or to nobody),
//! alarm only cancels, setuid never changes an id, prlimit
//! only reads.

use crate::fds;
use crate::fuzzer::{Ctx, Expect};
use crate::mem::{Access, wire};
use crate::rng::choose;
use crate::table::unwritable;
use core::arch::naked_asm;
use userland::abi::signal::{SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGURG, SIGWINCH, wait::WNOHANG};
use userland::abi::{Errno, ExecArgs, Sys};
use userland::process;

/// fork, whose child exits with 0 straight away: it touches nothing of its
/// copy of the fuzzer (whose heap or output another thread may hold
/// locked), and its `syscall` needs no stack.
#[unsafe(naked)]
extern "C" fn fork_stub() -> isize {
    naked_asm!(
        "mov eax, {fork}",
        "syscall",
        "test rax, rax",
        "jnz 2f",
        "xor edi, edi",
        "mov eax, {exit}",
        "syscall",
        "ud2",
        "2:",
        "ret",
        fork = const Sys::Fork.number(),
        exit = const Sys::Exit.number(),
    )
}

/// fork: a child that exits 0 (reaped here, unless another thread's wait
/// takes it first), or EAGAIN at the process limits, ENOMEM. While the
/// child lives it holds copies of every descriptor (a pipe's read end
/// among them keeps writes from EPIPE), so no other thread makes a call on
/// descriptors until it is gone: the model of them stays exact.
pub fn fork(c: &mut Ctx) {
    let nr = Sys::Fork.number();
    c.note(nr, &[0; 6]);
    let (pid, reaped) = fds::exclusive(|| {
        let pid = fork_stub();
        let reaped = (pid > 0).then(|| process::wait4(pid as i32, 0));
        (pid, reaped)
    });
    c.judge(
        nr,
        &[0; 6],
        Expect::SuccessOr(&[Errno::EAGAIN, Errno::ENOMEM]),
        pid,
    );
    match reaped {
        Some(Ok(Some((_, status)))) => c.check(
            status == 0,
            format_args!("forked child {pid} ended with status {status:#x}"),
        ),
        Some(Ok(None) | Err(Errno::ECHILD)) | None => {}
        Some(Err(e)) => c.check(false, format_args!("wait4 for forked child {pid}: {e:?}")),
    }
}

/// execve of what cannot start (a missing program, a directory, a device,
/// an empty path), with blocks that may also be bad in every other way:
/// it never succeeds.
pub fn execve(c: &mut Ctx) {
    // No prefix of these names a program either (a path is never cut
    // short below: its length is exact or longer).
    let path: &[u8] = c.rng.pick(&[
        &b"no-such-program"[..],
        b"/bin/no-such-program",
        b"/bin",
        b"/tmp",
        b"/dev/null",
        b"",
    ]);
    let blob: &[u8] = c.rng.pick(&[&b"x\0"[..], b"", b"x", b"a\0b\0"]);
    let path_at = c.place_in(path, Some(0));
    let args_at = c.place_in(blob, Some(1));
    let env_at = c.place_in(blob, Some(2));
    let longer = |n: usize, rng: &mut crate::rng::Rng| match rng.chance(90) {
        true => n as u64,
        false => rng.boundary().max(n as u64),
    };
    let block = ExecArgs {
        path_ptr: path_at.addr as u64,
        path_len: longer(path.len(), &mut c.rng),
        args_ptr: args_at.addr as u64,
        args_len: longer(blob.len(), &mut c.rng),
        env_ptr: env_at.addr as u64,
        env_len: longer(blob.len(), &mut c.rng),
    };
    let at = c.place_in(&wire(&block), Some(3));
    c.issue([at.addr, 0, 0, 0, 0, 0], Expect::Fail);
}

/// wait4 with WNOHANG (never blocking), for a child, any child, the group
/// or nonsense; unknown option bits are EINVAL, and a process that is no
/// child is ECHILD.
pub fn wait4(c: &mut Ctx) {
    let out = c.ptr(4);
    let bad_options = c.rng.chance(20);
    let options = match bad_options {
        true => WNOHANG as usize | (1 << (4 + c.rng.below(20))),
        false => WNOHANG as usize,
    };
    let (pid, expect) = match c.rng.below(4) {
        0 => (1, Expect::Errno(Errno::ECHILD)),
        1 => (c.pid as usize, Expect::Errno(Errno::ECHILD)),
        2 => (usize::MAX, Expect::Any),
        _ => (c.rng.boundary() as usize, Expect::Any),
    };
    let expect = match bad_options {
        true => Expect::Errno(Errno::EINVAL),
        false => expect,
    };
    c.issue([pid, out.addr, options, 0, 0, 0], expect);
}

/// kill with a probe, a signal that does nothing here (ignored, continue
/// with nothing stopped), a stop signal to init (no signal reaches it;
/// EPERM unprivileged) or to a group that cannot exist (ESRCH), or no
/// signal at all (EINVAL).
pub fn kill(c: &mut Ctx) {
    let pid = choose(
        [0, 1, usize::MAX, c.pid as usize, c.rng.boundary() as usize],
        &mut c.rng,
    );
    let (pid, sig, expect) = match c.rng.below(4) {
        0 => (pid, 0, Expect::Any),
        1 => (
            pid,
            choose([SIGCHLD, SIGCONT, SIGURG, SIGWINCH], &mut c.rng) as usize,
            Expect::Any,
        ),
        2 => {
            let stop = choose([SIGSTOP, SIGTSTP], &mut c.rng) as usize;
            match c.rng.chance(50) {
                true => (1, stop, Expect::Any),
                false => (
                    i32::MIN as isize as usize,
                    stop,
                    Expect::Errno(Errno::ESRCH),
                ),
            }
        }
        _ => (
            pid,
            choose([65, -1isize as usize, 1 << 40], &mut c.rng),
            Expect::Errno(Errno::EINVAL),
        ),
    };
    c.issue([pid, sig, 0, 0, 0, 0], expect);
}

/// alarm: cancelling the alarm nobody sets (0 seconds left), or more
/// seconds than the call takes (EINVAL).
pub fn alarm(c: &mut Ctx) {
    match c.rng.chance(50) {
        true => c.issue([0; 6], Expect::Value(0)),
        false => {
            let seconds = (1usize << 32) + c.rng.below(1 << 40) as usize;
            c.issue([seconds, 0, 0, 0, 0, 0], Expect::Errno(Errno::EINVAL))
        }
    };
}

/// getppid: whoever started the fuzzing process.
pub fn getppid(c: &mut Ctx) {
    let ret = c.issue([0; 6], Expect::Any);
    c.check(ret > 0, format_args!("getppid gave {ret}"));
}

/// setuid that changes nothing: root keeps 0; an unprivileged process
/// (euid 1000, real uid 0) may not take another id (EPERM); ids beyond 32
/// bits are EINVAL.
pub fn setuid(c: &mut Ctx) {
    let (uid, expect) = match (c.rng.chance(20), c.unprivileged) {
        (true, _) => (
            (1usize << 32) + c.rng.below(1 << 20) as usize,
            Expect::Errno(Errno::EINVAL),
        ),
        (false, true) => (
            choose([1000, 1001, 65534], &mut c.rng),
            Expect::Errno(Errno::EPERM),
        ),
        (false, false) => (0, Expect::Value(0)),
    };
    c.issue([uid, 0, 0, 0, 0, 0], expect);
}

/// prlimit that only reads, of this process or another: unknown resources
/// are EINVAL, an unwritable result pointer EFAULT.
pub fn prlimit(c: &mut Ctx) {
    let pid = choose(
        [0, 0, c.pid as usize, 1, c.rng.boundary() as usize],
        &mut c.rng,
    );
    let resource = match c.rng.chance(80) {
        true => c.rng.below(16) as usize,
        false => c.rng.boundary() as usize,
    };
    let out = c.ptr(16);
    let expect = match (pid, resource, out.access) {
        (_, 16.., Access::Write) => Expect::Errno(Errno::EINVAL),
        (0, _, _) => unwritable(out),
        _ => Expect::Any,
    };
    c.issue([pid, resource, 0, out.addr, 0, 0], expect);
}
