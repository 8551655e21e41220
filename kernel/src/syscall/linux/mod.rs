//! The Linux personality: system calls of Linux x86-64 programs (numbers
//! below `abi::NATIVE_BASE`; above it their calls are native, which is how
//! libdoor reaches the doors). Each call is decoded with Linux's argument
//! rules and errors (`kernel::linux` holds the decoding and the state),
//! then carried out on this kernel's objects; its errors reach the program
//! as Linux's numbers (see `Resume::apply`). A call this kernel does not
//! support fails with ENOSYS and a one-line kernel log naming it, so a user
//! knows what is missing. Each call ends by taking the thread's pending
//! signals (`task::deliver_signals`), which may restart it.

mod file;
mod ident;
mod mem;
mod poll;
mod process_calls;
mod signal;
mod socket;
mod thread;
mod time;

use super::process;
use crate::arch::traps::TrapFrame;
use crate::mem::user::UserSlice;
use crate::task::{self, Interrupted, Resume, SCHED};
use abi::Errno;
use kernel::linux::names;
use kernel::linux::signal::Restart;

/// Linux x86-64 system call numbers this personality handles.
mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const OPEN: usize = 2;
    pub const CLOSE: usize = 3;
    pub const STAT: usize = 4;
    pub const FSTAT: usize = 5;
    pub const LSTAT: usize = 6;
    pub const POLL: usize = 7;
    pub const LSEEK: usize = 8;
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const MUNMAP: usize = 11;
    pub const BRK: usize = 12;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const RT_SIGRETURN: usize = 15;
    pub const IOCTL: usize = 16;
    pub const PREAD64: usize = 17;
    pub const PWRITE64: usize = 18;
    pub const READV: usize = 19;
    pub const WRITEV: usize = 20;
    pub const ACCESS: usize = 21;
    pub const PIPE: usize = 22;
    pub const SELECT: usize = 23;
    pub const SCHED_YIELD: usize = 24;
    pub const MREMAP: usize = 25;
    pub const MADVISE: usize = 28;
    pub const DUP: usize = 32;
    pub const DUP2: usize = 33;
    pub const PAUSE: usize = 34;
    pub const NANOSLEEP: usize = 35;
    pub const GETPID: usize = 39;
    pub const ALARM: usize = 37;
    pub const SETITIMER: usize = 38;
    pub const SENDTO: usize = 44;
    pub const RECVFROM: usize = 45;
    pub const SENDMSG: usize = 46;
    pub const RECVMSG: usize = 47;
    pub const SHUTDOWN: usize = 48;
    pub const SOCKETPAIR: usize = 53;
    pub const CLONE: usize = 56;
    pub const FORK: usize = 57;
    pub const VFORK: usize = 58;
    pub const EXECVE: usize = 59;
    pub const EXIT: usize = 60;
    pub const WAIT4: usize = 61;
    pub const KILL: usize = 62;
    pub const UNAME: usize = 63;
    pub const FCNTL: usize = 72;
    pub const FSYNC: usize = 74;
    pub const FDATASYNC: usize = 75;
    pub const TRUNCATE: usize = 76;
    pub const FTRUNCATE: usize = 77;
    pub const GETCWD: usize = 79;
    pub const CHDIR: usize = 80;
    pub const FCHDIR: usize = 81;
    pub const RENAME: usize = 82;
    pub const MKDIR: usize = 83;
    pub const RMDIR: usize = 84;
    pub const CREAT: usize = 85;
    pub const UNLINK: usize = 87;
    pub const READLINK: usize = 89;
    pub const CHMOD: usize = 90;
    pub const FCHMOD: usize = 91;
    pub const UMASK: usize = 95;
    pub const GETTIMEOFDAY: usize = 96;
    pub const GETRLIMIT: usize = 97;
    pub const GETRUSAGE: usize = 98;
    pub const TIMES: usize = 100;
    pub const GETUID: usize = 102;
    pub const GETGID: usize = 104;
    pub const SETUID: usize = 105;
    pub const SETGID: usize = 106;
    pub const GETEUID: usize = 107;
    pub const GETEGID: usize = 108;
    pub const SETPGID: usize = 109;
    pub const GETPPID: usize = 110;
    pub const GETPGRP: usize = 111;
    pub const SETSID: usize = 112;
    pub const SETREUID: usize = 113;
    pub const SETREGID: usize = 114;
    pub const SETRESUID: usize = 117;
    pub const GETRESUID: usize = 118;
    pub const SETRESGID: usize = 119;
    pub const GETRESGID: usize = 120;
    pub const GETPGID: usize = 121;
    pub const GETSID: usize = 124;
    pub const RT_SIGPENDING: usize = 127;
    pub const RT_SIGTIMEDWAIT: usize = 128;
    pub const RT_SIGQUEUEINFO: usize = 129;
    pub const RT_SIGSUSPEND: usize = 130;
    pub const SIGALTSTACK: usize = 131;
    pub const MKNOD: usize = 133;
    pub const ARCH_PRCTL: usize = 158;
    pub const SETRLIMIT: usize = 160;
    pub const GETTID: usize = 186;
    pub const TKILL: usize = 200;
    pub const TIME: usize = 201;
    pub const FUTEX: usize = 202;
    pub const SCHED_GETAFFINITY: usize = 204;
    pub const GETDENTS64: usize = 217;
    pub const SET_TID_ADDRESS: usize = 218;
    pub const CLOCK_GETTIME: usize = 228;
    pub const CLOCK_GETRES: usize = 229;
    pub const CLOCK_NANOSLEEP: usize = 230;
    pub const EXIT_GROUP: usize = 231;
    pub const TGKILL: usize = 234;
    pub const OPENAT: usize = 257;
    pub const MKDIRAT: usize = 258;
    pub const MKNODAT: usize = 259;
    pub const NEWFSTATAT: usize = 262;
    pub const UNLINKAT: usize = 263;
    pub const RENAMEAT: usize = 264;
    pub const READLINKAT: usize = 267;
    pub const FCHMODAT: usize = 268;
    pub const FACCESSAT: usize = 269;
    pub const PSELECT6: usize = 270;
    pub const PPOLL: usize = 271;
    pub const DUP3: usize = 292;
    pub const PIPE2: usize = 293;
    pub const RT_TGSIGQUEUEINFO: usize = 297;
    pub const PRLIMIT64: usize = 302;
    pub const RENAMEAT2: usize = 316;
    pub const GETRANDOM: usize = 318;
    pub const STATX: usize = 332;
    pub const FACCESSAT2: usize = 439;
}

/// What most calls return.
type SysResult = Result<u64, Errno>;

/// Runs Linux system call `nr` with arguments `a` from `frame` (the
/// caller's user state), writes its outcome there, and takes the thread's
/// pending signals on the way out.
pub fn run(nr: usize, a: [u64; 6], frame: &mut TrapFrame) {
    dispatch(nr, a, frame).apply(frame, || true);
    task::check_exiting();
    let call = Interrupted {
        nr: nr as u64,
        restart: restart(nr, a),
    };
    task::deliver_signals(frame, Some(call));
}

/// What a handled signal does to call `nr` with arguments `a` that it
/// interrupts (signal(7)): SA_RESTART restarts reads and writes (which
/// block only on pipes here), wait4, and futex waits without a timeout;
/// everything else fails with EINTR.
fn restart(nr: usize, a: [u64; 6]) -> Restart {
    match nr {
        nr::READ | nr::WRITE | nr::READV | nr::WRITEV | nr::WAIT4 => Restart::OnSaRestart,
        nr::FUTEX if thread::is_untimed_wait(a[1], a[3]) => Restart::OnSaRestart,
        _ => Restart::Never,
    }
}

/// Runs Linux system call `nr` with arguments `a`; `frame` is the caller's
/// user state (a new thread starts from a copy of it).
fn dispatch(nr: usize, a: [u64; 6], frame: &mut TrapFrame) -> Resume {
    let result = match nr {
        nr::MMAP => mem::mmap(a),
        nr::MPROTECT => mem::mprotect(a[0], a[1], a[2]),
        nr::MUNMAP => mem::munmap(a[0], a[1]),
        nr::BRK => mem::brk(a[0]),
        nr::MREMAP => mem::mremap(a),
        nr::MADVISE => mem::madvise(a[0], a[1], a[2]),
        nr::CLONE => thread::clone(a, frame),
        nr::FORK | nr::VFORK => process_calls::fork(frame),
        nr::EXECVE => process_calls::execve(a[0], a[1], a[2], frame),
        nr::ALARM => process_calls::alarm(a[0]),
        nr::SETITIMER => process_calls::setitimer(a[0], a[1], a[2]),
        nr::EXIT => thread::exit(a[0]),
        nr::EXIT_GROUP => crate::task::exit_process((a[0] & 0xff) as i32),
        nr::SET_TID_ADDRESS => thread::set_tid_address(a[0]),
        nr::FUTEX => thread::futex(a),
        nr::ARCH_PRCTL => thread::arch_prctl(a[0], a[1]),
        nr::SCHED_YIELD => {
            crate::task::yield_now();
            Ok(0)
        }
        nr::SCHED_GETAFFINITY => thread::sched_getaffinity(a[0], a[1], a[2]),
        nr::WAIT4 => thread::wait4(a[0], a[1], a[2], a[3]),
        nr::CLOCK_GETTIME => time::clock_gettime(a[0], a[1]),
        nr::CLOCK_GETRES => time::clock_getres(a[0], a[1]),
        nr::GETRUSAGE => time::getrusage(a[0], a[1]),
        nr::TIMES => time::times(a[0]),
        nr::GETTIMEOFDAY => time::gettimeofday(a[0], a[1]),
        nr::TIME => time::time(a[0]),
        nr::NANOSLEEP => time::nanosleep(a[0], a[1]),
        nr::CLOCK_NANOSLEEP => time::clock_nanosleep(a[0], a[1], a[2], a[3]),
        nr::GETPID => Ok(u64::from(SCHED.lock().current_pid())),
        nr::GETTID => Ok(u64::from(SCHED.lock().current_tid())),
        nr::GETPPID => process::getppid(),
        nr::SETPGID => SCHED
            .lock()
            .setpgid(int_arg(a[0]), int_arg(a[1]))
            .map(|()| 0),
        nr::GETPGRP => SCHED.lock().getpgid(0).map(u64::from),
        nr::GETPGID => SCHED.lock().getpgid(int_arg(a[0])).map(u64::from),
        nr::SETSID => SCHED.lock().setsid().map(u64::from),
        nr::GETSID => SCHED.lock().getsid(int_arg(a[0])).map(u64::from),
        nr::POLL => poll::poll(a[0], a[1], int_arg(a[2])),
        nr::PPOLL => poll::ppoll(a[0], a[1], a[2], a[3], a[4]),
        nr::SELECT => poll::select(a),
        nr::PSELECT6 => poll::pselect6(a),
        nr::GETUID => Ok(u64::from(SCHED.lock().current_cred().ruid)),
        nr::GETEUID => Ok(u64::from(SCHED.lock().current_cred().euid)),
        nr::GETGID => Ok(u64::from(SCHED.lock().current_cred().rgid)),
        nr::GETEGID => Ok(u64::from(SCHED.lock().current_cred().egid)),
        nr::SETUID => ident::setresid(ident::Ids::User, u64::MAX, a[0], u64::MAX, true),
        nr::SETGID => ident::setresid(ident::Ids::Group, u64::MAX, a[0], u64::MAX, true),
        nr::SETREUID => ident::setresid(ident::Ids::User, a[0], a[1], u64::MAX, false),
        nr::SETREGID => ident::setresid(ident::Ids::Group, a[0], a[1], u64::MAX, false),
        nr::SETRESUID => ident::setresid(ident::Ids::User, a[0], a[1], a[2], false),
        nr::SETRESGID => ident::setresid(ident::Ids::Group, a[0], a[1], a[2], false),
        nr::GETRESUID => ident::getresid(ident::Ids::User, [a[0], a[1], a[2]]),
        nr::GETRESGID => ident::getresid(ident::Ids::Group, [a[0], a[1], a[2]]),
        nr::UNAME => ident::uname(a[0]),
        nr::GETRANDOM => ident::getrandom(a[0], a[1], a[2]),
        nr::PRLIMIT64 => process::prlimit_native(a[0], a[1], a[2], a[3]),
        nr::GETRLIMIT => process::prlimit_native(0, a[0], 0, a[1]),
        nr::SETRLIMIT => process::prlimit_native(0, a[0], a[1], 0),
        nr::RT_SIGACTION => signal::rt_sigaction(a[0], a[1], a[2], a[3]),
        nr::RT_SIGPROCMASK => signal::rt_sigprocmask(a[0], a[1], a[2], a[3]),
        nr::SIGALTSTACK => signal::sigaltstack(a[0], a[1]),
        nr::KILL => signal::kill(a[0], a[1]),
        nr::TKILL => signal::tgkill(None, a[0], a[1]),
        nr::TGKILL => signal::tgkill(Some(a[0]), a[1], a[2]),
        nr::RT_SIGQUEUEINFO => signal::rt_sigqueueinfo(a[0], a[1], a[2]),
        nr::SOCKETPAIR => socket::socketpair(a[0], a[1], a[2], a[3]),
        nr::SHUTDOWN => socket::shutdown(a[0], a[1]),
        nr::SENDTO => socket::sendto(a),
        nr::RECVFROM => socket::recvfrom(a),
        nr::SENDMSG => socket::sendmsg(a[0], a[1], a[2]),
        nr::RECVMSG => socket::recvmsg(a[0], a[1], a[2]),
        nr::RT_TGSIGQUEUEINFO => signal::rt_tgsigqueueinfo(a[0], a[1], a[2], a[3]),
        nr::PAUSE => task::pause(),
        nr::RT_SIGSUSPEND => signal::rt_sigsuspend(a[0], a[1]),
        nr::RT_SIGPENDING => signal::rt_sigpending(a[0], a[1]),
        nr::RT_SIGTIMEDWAIT => signal::rt_sigtimedwait(a[0], a[1], a[2], a[3]),
        nr::RT_SIGRETURN => task::sigreturn(frame),
        call => match file::dispatch(call, a) {
            Some(result) => result,
            None => return unsupported(nr),
        },
    };
    Resume::Return(result)
}

/// ENOSYS for a call this kernel does not have, with a log line naming it.
fn unsupported(nr: usize) -> Resume {
    log_unsupported(&alloc::format!(
        "Linux system call {nr} ({})",
        names::name(nr).unwrap_or("unknown")
    ));
    Resume::Return(Err(Errno::ENOSYS))
}

/// The log line of an ENOSYS: what the calling program asked for that
/// this kernel does not have.
fn log_unsupported(what: &str) {
    let g = SCHED.lock();
    let pid = g.current_pid();
    let program = g.process(pid).map_or("?", |p| p.name.as_str());
    crate::warn!("process {pid} ({program}): {what} is not supported here: ENOSYS");
}

/// A Linux `int` argument (file descriptors, ids) from a 64-bit register:
/// its low 32 bits, as Linux reads them.
fn int_arg(reg: u64) -> i32 {
    reg as u32 as i32
}

/// A NUL-terminated path at `addr`, without its NUL: EFAULT if unreadable,
/// ENAMETOOLONG if no NUL comes within `abi::fs::PATH_MAX` bytes (the file
/// system's bound). Read a page at a time.
fn path_arg(addr: u64) -> Result<alloc::vec::Vec<u8>, Errno> {
    const PATH_MAX: u64 = abi::fs::PATH_MAX as u64;
    let mut path = alloc::vec::Vec::new();
    let mut at = addr;
    while (path.len() as u64) < PATH_MAX {
        let chunk = (4096 - at % 4096).min(PATH_MAX - path.len() as u64);
        let bytes = UserSlice::<u8>::new(at, chunk)?.read_all(SCHED.lock().current_space())?;
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            path.extend_from_slice(&bytes[..end]);
            return Ok(path);
        }
        path.extend_from_slice(&bytes);
        at += chunk;
    }
    Err(Errno::ENAMETOOLONG)
}
