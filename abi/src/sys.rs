//! The native system calls: one enumeration, so a number without a handler
//! is a compile error in the kernel's dispatcher (its `match` has no
//! catch-all), and user stubs cannot name a call that does not exist.
//!
//! # Calling convention
//! `syscall` with the number in `rax` and up to six arguments in `rdi`,
//! `rsi`, `rdx`, `r10`, `r8`, `r9`. The result comes back in `rax`: a value
//! `>= 0` on success, `-errno` ([`crate::Errno::raw`]) on failure. `rcx` and
//! `r11` are clobbered (the CPU uses them); every other register is
//! preserved.
//!
//! Native numbers start at [`NATIVE_BASE`], above every Linux x86-64 system
//! call number, so a program written for Linux can never make a native call
//! by accident.

/// The first native system call number.
pub const NATIVE_BASE: usize = 0x400;

macro_rules! syscalls {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// A native system call (see the module documentation).
        #[repr(usize)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Sys {
            $($(#[doc = $doc])* $name,)*
        }

        impl Sys {
            /// Every system call, in number order.
            pub const ALL: &'static [Sys] = &[$(Sys::$name),*];

            /// Its number (what goes in `rax`).
            pub const fn number(self) -> usize {
                NATIVE_BASE + self as usize
            }
        }

        impl TryFrom<usize> for Sys {
            type Error = ();

            /// The system call numbered `n`, if there is one.
            fn try_from(n: usize) -> Result<Sys, ()> {
                n.checked_sub(NATIVE_BASE)
                    .and_then(|i| Sys::ALL.get(i))
                    .copied()
                    .ok_or(())
            }
        }
    };
}

syscalls! {
    /// `exit(status)`: ends the whole process with `status`.
    Exit,
    /// `debug_write(ptr, len)`: writes bytes to the kernel console, whatever
    /// descriptors the caller holds (the runtime's output falls back to it
    /// when descriptor 1 takes no writes); returns how many were written
    /// (at most [`crate::DEBUG_WRITE_MAX`] per call, so no call holds the
    /// CPU long).
    DebugWrite,
    /// `yield()`: gives up the CPU to the next ready thread.
    Yield,
    /// `getpid()`: the calling process's id.
    GetPid,
    /// `spawn(&SpawnArgs)`: starts a program; returns its pid. The name is
    /// a path (relative ones from the current directory) when it holds a
    /// `/`, else a program of `/bin`. The child gets the caller's current
    /// directory, umask, credentials and limits, and exactly the
    /// descriptors the caller lists; it leads a new process group. Errors: EFAULT, EINVAL, E2BIG,
    /// ENAMETOOLONG, the errors of paths (ENOENT, ENOTDIR, EACCES: also
    /// no execute permission or not a regular file), ENOEXEC (not a valid
    /// program), EBADF (a descriptor to hand over is not open), ENOMEM,
    /// ENFILE (the child's table would take the tables beyond
    /// [`crate::MAX_TABLE_SLOTS`]), EAGAIN (the caller has its [`crate::limit::CHILDREN`] children, or
    /// [`crate::MAX_PROCESSES`] processes or [`crate::MAX_THREADS`] threads
    /// exist).
    Spawn,
    /// `wait(pid)`: reaps child `pid` (or any child, `pid == -1`; a
    /// process group as for `wait4`), waiting for it to end; returns
    /// `(pid << 32) | (status as u32)`, the status being its exit status,
    /// [`crate::KILLED_BASE`]` + vector` after a fault, or
    /// [`crate::SIGNALED_BASE`]` + signal` when a signal terminated it.
    /// Errors: ECHILD.
    Wait,
    /// `thread_create(entry, arg, stack_top)`: returns the new thread's id.
    /// The thread starts at `entry(arg)` with `rsp = stack_top`. Errors:
    /// EINVAL (`entry` outside `[0x1000, USER_END)`, `stack_top` outside
    /// `[0x1000, USER_END]`, see [`crate::USER_END`]), EAGAIN (the process has its [`crate::limit::THREADS`]
    /// threads, or the system [`crate::MAX_THREADS`], counting exited ones
    /// nobody joined), ENOMEM.
    ThreadCreate,
    /// `thread_exit(value, unmap_addr, unmap_len)`: ends the calling thread.
    /// With `unmap_len > 0` the `mem_map` area there (the thread's own stack,
    /// for a detached thread) is unmapped first; a bad area is ignored.
    ThreadExit,
    /// `thread_detach(tid)`: thread `tid` of this process leaves no exit
    /// value behind (nobody will join it); an exited one's value is
    /// dropped now. Errors: ESRCH (no such thread, or already detached).
    ThreadDetach,
    /// `thread_join(tid, value_ptr)`: waits for thread `tid` of this process
    /// and stores its exit value (a `u64`) at `value_ptr` (none if 0).
    /// Errors: ESRCH, EDEADLK (itself), EINVAL (detached), EFAULT (the exit
    /// value is dropped then).
    ThreadJoin,
    /// `mem_map(len, prot, fixed_addr)`: maps zeroed anonymous memory at
    /// `fixed_addr` (page aligned; 0 lets the kernel choose, after its
    /// previous choice, with an unmapped page on both sides); returns its
    /// address. Errors: EINVAL (`len` 0 or above [`crate::MEM_MAP_MAX`],
    /// unknown [`crate::prot`] bits, `fixed_addr` not page aligned, below
    /// 0x1000, or a range reaching [`crate::USER_END`]
    /// (0x7fff_ffff_f000: the top page is never mapped), or overlapping a
    /// mapping), ENOMEM (beyond the process's [`crate::limit::MEMORY`], no
    /// room left, or no free memory).
    MemMap,
    /// `mem_unmap(addr, len)`: unmaps memory mapped by `mem_map` (or a door
    /// result area).
    MemUnmap,
    /// `gettid()`: the calling thread's id.
    GetTid,
    /// `shutdown(code)`: only process 1 (init) may call it; exits QEMU with
    /// `code` (see [`crate::exit_code`]). Others get `EPERM`.
    Shutdown,
    /// `kstat(which)`: kernel counters for tests and leak checks (see
    /// [`crate::kstat`]).
    Kstat,
    /// `sleep_ticks(n)`: blocks the calling thread for `n` timer ticks.
    SleepTicks,
    /// `door_create(proc, cookie, attributes)`: creates a door served by the
    /// calling process. Returns the new descriptor; bit
    /// [`crate::DOOR_CREATE_RUN_SERVER_CREATE`] is also set when the library
    /// must run the process's door_server_create procedure now (the first
    /// non-private door of the process, and every private one). The
    /// descriptor is close-on-exec (`FD_CLOEXEC`), as illumos's. Errors:
    /// `EINVAL` (unknown attribute bits, or UNREF with UNREF_MULTI),
    /// `EMFILE`, `ENFILE` ([`crate::MAX_DOORS`] doors exist).
    DoorCreate,
    /// `door_call(d, params)`: `params` points to a [`crate::DoorArg`] (or is
    /// 0 for no arguments and no results). Returns 0 when the call
    /// completed; the results are described by the updated `*params`.
    /// Errors: see `door_call` in doors-semantics.md (E2BIG, EAGAIN, EBADF,
    /// EFAULT, EINTR, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOTSUP, EOVERFLOW);
    /// also EAGAIN when the call would wait for a server thread and the
    /// waiting calls would then carry more than [`crate::MAX_QUEUED_DESCS`]
    /// descriptors. DOOR_RELEASE descriptors are closed when the call fails, except on
    /// EFAULT, EBADF, and E2BIG for a descriptor count above the kernel's
    /// hard limit per message (refused before the array is read, as
    /// illumos's `door_max_desc`) or more than [`crate::DOOR_DATA_MAX`]
    /// bytes of arguments.
    DoorCall,
    /// `door_return(data_ptr, data_size, desc_ptr, desc_num, stack_base,
    /// stack_size)`: ends the invocation the thread is serving (if any),
    /// registers `[stack_base, stack_base + stack_size)` as the area where
    /// the next invocation's arguments are laid out, and parks the thread in
    /// its pool. Does not return on success: the thread resumes in its next
    /// invocation, on that area, with the invocation in registers (see
    /// [`crate::invocation`]). Errors: E2BIG (also for more than
    /// [`crate::DOOR_DATA_MAX`] bytes of results), EFAULT, EINVAL, EMFILE
    /// (nothing happened, the thread still serves its invocation); EBADF
    /// (the results were delivered, but the door the thread is bound to is
    /// gone: the thread is now unbound and did not park).
    DoorReturn,
    /// `door_info(d, info_ptr)`: fills the [`crate::DoorInfo`] at
    /// `info_ptr`; `d` may be [`crate::DOOR_QUERY`]. Errors: EBADF, EFAULT.
    DoorInfo,
    /// `door_revoke(d)`: revokes a door this process created and closes `d`.
    /// Errors: EBADF, EPERM.
    DoorRevoke,
    /// `door_setparam(d, param, value)`: one of the `DOOR_PARAM_*` limits.
    /// Errors: EBADF, EPERM, EINVAL, ENOTSUP, ERANGE.
    DoorSetparam,
    /// `door_getparam(d, param, out_ptr)`: stores the value (a `u64`) at
    /// `out_ptr`. Errors: EBADF, EINVAL, EFAULT.
    DoorGetparam,
    /// `door_ucred(ucred_ptr)`: fills the [`crate::Ucred`] of the immediate
    /// caller of the invocation this thread serves. Errors: EINVAL (not
    /// serving), EFAULT.
    DoorUcred,
    /// `door_cred(cred_ptr)`: the older form of `door_ucred`, filling a
    /// [`crate::DoorCred`]. Errors: EINVAL, EFAULT.
    DoorCred,
    /// `door_bind(d)`: the calling thread joins the private pool of door `d`
    /// at its next door_return (leaving any previous binding). Errors: EBADF
    /// (not a door, or revoked), EINVAL (not DOOR_PRIVATE, or another
    /// process's door).
    DoorBind,
    /// `door_unbind()`: drops the calling thread's binding. Errors: EBADF
    /// (not bound).
    DoorUnbind,
    /// `door_cancelled()`: 1 if the client of the invocation this thread
    /// serves abandoned its call and the door lacks DOOR_NO_CANCEL (the
    /// cancellation notice of this kernel), else 0.
    DoorCancelled,
    /// `door_abort(tid)`: abandons the door_call thread `tid` (of the
    /// calling process) is blocked in: it fails with EAGAIN if it was still
    /// waiting for a server thread, EINTR if it was being served (the server
    /// gets a cancellation notice). Errors: ESRCH (no such thread in this
    /// process), EINVAL (not in a door_call).
    DoorAbort,
    /// `fattach(d, path_ptr, path_len)`: attaches door `d` over the file
    /// or directory `path` names (relative to the current directory):
    /// `open` of it yields the door until `fdetach` (illumos's namefs
    /// rules). The attachment holds a reference to the door. Errors: EBADF
    /// (`d` not open), EINVAL (`d` not a door), the errors of paths
    /// (ENOENT, also for a removed directory that `.` still names; ENOTDIR,
    /// EACCES, ENAMETOOLONG), EBUSY (a door is attached
    /// there already, or `path` is `/` or `/bin`), EPERM (the caller is
    /// neither the file's owner nor root), EACCES (the owner lacks write
    /// permission on it).
    Fattach,
    /// `fdetach(path_ptr, path_len)`: takes the door off `path`.
    /// Descriptors opened through it stay open. Errors: the errors of
    /// paths, EINVAL (no door attached), EPERM (the caller is neither the
    /// covered file's owner nor root).
    Fdetach,
    /// `close(d)`: closes a descriptor. Errors: EBADF.
    Close,
    /// `dup(d)`: a new descriptor for the same object. Errors: EBADF, EMFILE,
    /// ENFILE (it needs a new slot, and the tables have
    /// [`crate::MAX_TABLE_SLOTS`]).
    Dup,
    /// `door_handoff(on)`: benchmark knob of the calling process. With 1
    /// (the default) its door calls, and the returns of its calls, hand the
    /// CPU straight to the other side; with 0 they wake it through the run
    /// queue instead, so one run can measure what the handoff gains.
    /// Errors: EINVAL (not 0 or 1).
    DoorHandoff,
    /// `seteuid(uid)`: sets the calling process's effective user id (what
    /// door_ucred reports, and what permission checks use). With
    /// euid 0 any id may be taken; otherwise only the real id. Errors:
    /// EPERM.
    Seteuid,
    /// `get_limit(pid, resource)`: a [`crate::limit`] of process `pid` (0:
    /// the caller). Errors: ESRCH, EINVAL (unknown resource).
    GetLimit,
    /// `set_limit(pid, resource, value)`: sets a [`crate::limit`] of process
    /// `pid` (0: the caller). Any process may lower its own limits; raising
    /// one, or changing a child's, takes euid 0 (a privileged parent).
    /// Errors: EPERM, ESRCH (not the caller or its child), EINVAL (unknown
    /// resource, a value above `i64::MAX` (which get_limit could not
    /// return), or a value beyond the system's).
    SetLimit,
    /// `set_tls(addr)`: sets the calling thread's FS base (its thread
    /// control block, read by the runtime with `mov rax, fs:[0]`). Errors:
    /// EINVAL (not a user address).
    SetTls,
    /// `openat(dirfd, path_ptr, path_len, flags, mode)`: opens `path`
    /// (relative to directory descriptor `dirfd`, or to the current
    /// directory with [`crate::fs::AT_FDCWD`]) with `O_*` flags
    /// ([`crate::fs`]); a created file gets `mode & !umask`. Returns the
    /// lowest free descriptor (close-on-exec with `O_CLOEXEC`). A path
    /// with a door attached gives the door. Errors: EMFILE, ENFILE (as
    /// for `dup`; also below), EBADF
    /// (`dirfd`), ENOTDIR, EFAULT, EINVAL (unknown flags, `O_RDWR|O_WRONLY`,
    /// `O_CREAT|O_DIRECTORY`), the errors of paths (ENOENT, EACCES,
    /// ENAMETOOLONG), EEXIST, EISDIR, EROFS, ENOSPC, ENFILE
    /// ([`crate::fs::MAX_OPEN_FILES`] open-file descriptions exist).
    Openat,
    /// `read(d, buf, len)`: reads up to `len` bytes (at most
    /// [`crate::fs::IO_MAX`] per call) into `buf`; returns how many, 0 at
    /// the end of a file or of a pipe with no writer left. A pipe with no
    /// data blocks (EAGAIN with `O_NONBLOCK`). Errors: EBADF (not open for
    /// reading, or a door), EFAULT, EISDIR, EAGAIN.
    Read,
    /// `write(d, buf, len)`: writes up to `len` bytes (at most
    /// [`crate::fs::IO_MAX`] per call); returns how many. Files take all
    /// of it or nothing; a pipe blocks while full and takes writes of at
    /// most [`crate::fs::PIPE_BUF`] bytes whole. Errors: EBADF, EFAULT,
    /// ENOSPC, EFBIG, EPIPE (no reader left: there are no signals, so no
    /// SIGPIPE), EAGAIN (`O_NONBLOCK`).
    Write,
    /// `pread(d, buf, len, offset)`: `read` at `offset`, leaving the
    /// file's offset. Errors: those of `read`, EINVAL (negative offset),
    /// ESPIPE (a pipe or the console).
    Pread,
    /// `pwrite(d, buf, len, offset)`: `write` at `offset` (even with
    /// `O_APPEND`, as POSIX says), leaving the file's offset. Errors: those
    /// of `write`, EINVAL, ESPIPE.
    Pwrite,
    /// `lseek(d, offset, whence)`: moves the offset ([`crate::fs::SEEK_SET`],
    /// `SEEK_CUR`, `SEEK_END`); returns the new one. Errors: EBADF, EINVAL,
    /// ESPIPE (a pipe, the console or a door).
    Lseek,
    /// `fstat(d, stat_ptr)`: fills the [`crate::fs::Stat`]. Errors: EBADF,
    /// EFAULT.
    Fstat,
    /// `fstatat(dirfd, path_ptr, path_len, stat_ptr, flags)`: `stat` of a
    /// path (flags: [`crate::fs::AT_SYMLINK_NOFOLLOW`], accepted, and
    /// [`crate::fs::AT_EMPTY_PATH`]: an empty path means `dirfd` itself,
    /// of any kind). A path with a door attached reports the door
    /// ([`crate::fs::S_IFDOOR`]) with the covered file's owner and
    /// permissions. Errors: EINVAL (flags), EBADF, EFAULT, the errors of
    /// paths.
    Fstatat,
    /// `getdents64(d, buf, len)`: directory entries as `linux_dirent64`
    /// records ([`crate::fs::decode_dirents64`]); returns the bytes written,
    /// 0 at the end. Errors: EBADF, ENOTDIR, EFAULT, EINVAL (`buf` too small
    /// for the next record), ENOENT (the directory was removed).
    Getdents64,
    /// `ftruncate(d, len)`: sets a regular file's size. Errors: EBADF,
    /// EINVAL (not a regular file open for writing, negative length),
    /// EROFS.
    Ftruncate,
    /// `fchmod(d, mode)`: sets permission, set-id and sticky bits. Errors:
    /// EBADF (not a file, directory or device), EPERM, EROFS.
    Fchmod,
    /// `fchmodat(dirfd, path_ptr, path_len, mode)`: `chmod`. Errors: those
    /// of paths, EBADF, EPERM, EROFS.
    Fchmodat,
    /// `mkdirat(dirfd, path_ptr, path_len, mode)`: makes a directory with
    /// `mode & !umask`. Errors: those of paths, EBADF, EEXIST, EROFS,
    /// ENOSPC.
    Mkdirat,
    /// `unlinkat(dirfd, path_ptr, path_len, flags)`: removes a file, or
    /// with [`crate::fs::AT_REMOVEDIR`] an empty directory. An open file
    /// lives on until its last descriptor closes. Errors: EINVAL (flags),
    /// those of paths, EBADF, EISDIR, ENOTDIR, ENOTEMPTY, EBUSY (a door is
    /// attached, or a mount point), EPERM (sticky directory), EROFS.
    Unlinkat,
    /// `renameat(olddirfd, old_ptr, old_len, newdirfd, new_ptr, new_len)`:
    /// renames, replacing what `new` names. Errors: those of paths, EBADF,
    /// EINVAL, EISDIR, ENOTDIR, ENOTEMPTY, EBUSY, EPERM, EROFS.
    Renameat,
    /// `faccessat(dirfd, path_ptr, path_len, mode, flags)`: whether the
    /// real ids (effective ones with [`crate::fs::AT_EACCESS`]) may access
    /// `path` as `mode` (`F_OK`, or `R_OK|W_OK|X_OK` bits) says. Errors:
    /// EINVAL, those of paths, EBADF, EACCES, EROFS.
    Faccessat,
    /// `chdir(path_ptr, path_len)`: sets the current directory. Errors:
    /// those of paths, ENOTDIR, EACCES.
    Chdir,
    /// `fchdir(d)`: sets the current directory to the one `d` opened.
    /// Errors: EBADF, ENOTDIR, EACCES.
    Fchdir,
    /// `getcwd(buf, size)`: writes the current directory's absolute path
    /// and a NUL; returns its length with the NUL. Errors: ERANGE (`size`
    /// too small), EFAULT, ENOENT (the directory was removed).
    Getcwd,
    /// `umask(mask)`: sets the file mode creation mask (`mask & 0o777`);
    /// returns the previous one.
    Umask,
    /// `pipe2(fds_ptr, flags)`: makes a pipe and writes its read and
    /// write descriptors (two `i32`) at `fds_ptr`; flags `O_NONBLOCK` and
    /// `O_CLOEXEC`. Errors: EINVAL (flags), EFAULT, EMFILE, ENFILE (the
    /// system's pipes are all in use, or new slots needed as for `dup`).
    Pipe2,
    /// `dup3(old, new, flags)`: makes descriptor `new` name what `old`
    /// names, closing what `new` named (flags: `O_CLOEXEC`). `new` may be
    /// an open descriptor or a free slot's number under any generation, but
    /// not a number whose slot another descriptor holds. Errors: EBADF
    /// (`old` not open, `new` negative, beyond the table's capacity, or
    /// stale with its slot held), EINVAL (`old == new`, flags), ENFILE
    /// (`new`'s slot would be new, and the tables have
    /// [`crate::MAX_TABLE_SLOTS`]).
    Dup3,
    /// `fcntl(d, cmd, arg)`: [`crate::fs::F_DUPFD`] and
    /// `F_DUPFD_CLOEXEC` (lowest free descriptor at or above `arg`),
    /// `F_GETFD`/`F_SETFD` ([`crate::fs::FD_CLOEXEC`]), `F_GETFL`/`F_SETFL`
    /// (access mode and `O_APPEND`, `O_NONBLOCK`; doors report `O_RDWR`).
    /// Errors: EBADF, EINVAL (unknown command, `arg` beyond the table),
    /// EMFILE, ENFILE (as for `dup`).
    Fcntl,
    /// `trace(op, a, b, c)`: kernel event tracing (see [`crate::trace`] for
    /// the operations and records); only init (process 1) may call it.
    /// Errors: EPERM (another process), EINVAL (unknown operation, flags,
    /// or a ring larger than [`crate::trace::MAX_RECORDS`]), ENOMEM (no
    /// room for the ring), EBUSY (READ while recording), EFAULT.
    Trace,
    /// `fork()`: a new process with a copy of the calling thread only
    /// (illumos's `fork1`), of the address space (copy-on-write), of the
    /// descriptor table (open-file descriptions shared), the current
    /// directory, umask, credentials, limits and process group. Returns the
    /// child's pid in the parent and 0 in the child. Doors stay their
    /// creator's (see the README). Errors: EAGAIN (the caller has its
    /// [`crate::limit::CHILDREN`] children, or [`crate::MAX_PROCESSES`]
    /// processes or [`crate::MAX_THREADS`] threads exist, or the copy of
    /// its table would take the tables beyond [`crate::MAX_TABLE_SLOTS`]),
    /// ENOMEM.
    Fork,
    /// `execve(&ExecArgs)`: replaces the calling process's image with the
    /// program at a path (relative ones from the current directory),
    /// passing its arguments (argument 0 included) and environment (see
    /// [`crate::ExecArgs`]). Descriptors stay open except close-on-exec
    /// ones; the process's doors are revoked; its other threads end. Does
    /// not return on success. Errors (the caller is unchanged): EFAULT,
    /// E2BIG, EINVAL, ENAMETOOLONG, the errors of paths (ENOENT, ENOTDIR,
    /// EACCES: also no execute permission or not a regular file), ENOEXEC
    /// (not a valid program), ENOMEM.
    Execve,
    /// `wait4(pid, status_ptr, options)`: reaps a child that has exited
    /// (`pid > 0` that child, -1 any, 0 one of the caller's process group,
    /// `< -1` one of group `-pid`), storing its wait status
    /// ([`crate::signal::wait`]) at `status_ptr` unless 0; returns its pid,
    /// or 0 with [`crate::signal::wait::WNOHANG`] when none has exited yet.
    /// With WUNTRACED (WCONTINUED) it also reports a child's stop
    /// (continue), once, leaving the child. Errors: ECHILD, EINVAL
    /// (options), EFAULT.
    Wait4,
    /// `kill(pid, sig)`: sends signal `sig` (0: only checks) to process
    /// `pid`, the caller's process group (0), group `-pid`, or every process
    /// but init and the caller (-1). No handler runs: the signal takes its
    /// default action (a stop signal stops the process until SIGCONT: see
    /// the README's "Job control"). Errors: EINVAL, ESRCH, EPERM.
    Kill,
    /// `alarm(seconds)`: SIGALRM terminates the process after `seconds`
    /// (0 cancels); returns the seconds left of the previous alarm.
    Alarm,
    /// `pause()`: blocks until the process is terminated (no signal handler
    /// ever runs, so it never returns).
    Pause,
    /// `getppid()`: the parent's pid (1 once init adopted the process).
    GetPpid,
    /// `setuid(uid)`: with euid 0 sets the real and effective user ids;
    /// otherwise only the effective one, to the real id. Errors: EPERM,
    /// EINVAL.
    Setuid,
    /// `prlimit(pid, resource, new_ptr, old_ptr)`: reads (into `old_ptr`
    /// unless 0) and sets (from `new_ptr` unless 0) a resource limit
    /// ([`crate::rlimit`]) of the caller (`pid` 0) or its child. Errors:
    /// EINVAL, EPERM, ESRCH, EFAULT.
    Prlimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_stay_above_linux() {
        for (i, &call) in Sys::ALL.iter().enumerate() {
            assert_eq!(call.number(), NATIVE_BASE + i);
            assert_eq!(Sys::try_from(call.number()), Ok(call));
        }
        assert_eq!(Sys::try_from(NATIVE_BASE - 1), Err(()));
        assert_eq!(Sys::try_from(NATIVE_BASE + Sys::ALL.len()), Err(()));
        assert_eq!(Sys::try_from(0), Err(()));
        // Linux x86-64 numbers stay far below (its highest is under 0x200).
        const { assert!(NATIVE_BASE >= 0x200) };
    }
}
