//! The Linux personality: static Linux binaries (C with musl, Rust with
//! std) run unchanged, with their own system calls, and bad input from one
//! gets errors, never a kernel fault or hang. Every run also checks that
//! nothing leaked.

use qemu::Outcome;
use qemu::test_program;

/// A Rust program with std (built for x86_64-unknown-linux-musl): threads
/// with a Mutex and a Condvar, println!, std::time, std::fs, the heap.
#[test]
fn rust_std() {
    test_program("rust_std", &["x", "y"])
        .expect_success()
        .assert_line(r#"rust_std: args ["x", "y"]"#)
        .assert_line("rust_std: 8 threads counted to 8000")
        .assert_line("rust_std: sleep and clocks ok")
        .assert_line("rust_std: std::fs ok")
        .assert_line("rust_std: done");
}

/// A stack overflow in a Rust std program: std's SIGSEGV handler runs on
/// its alternate stack, says so, and aborts the program (SIGABRT).
#[test]
fn rust_std_stack_overflow() {
    test_program("rust_std", &["overflow"])
        .expect_outcome(Outcome::ProgramSignaled(160 + 6))
        .assert_line("rust_std: overflowing a thread's stack")
        .assert_line("has overflowed its stack");
}

#[test]
fn c_hello() {
    test_program("c_hello", &["a", "b"])
        .expect_success()
        .assert_line("hello from C: a b");
}

/// printf formats, malloc/free of many sizes, qsort, strings, 8 threads
/// with mutexes and condition variables, threads that exit unjoined (the
/// leak check covers them), files in /tmp, sleep, clock_gettime.
#[test]
fn c_ordinary() {
    test_program("c_ordinary", &[])
        .expect_success()
        .assert_line("c_ordinary: printf formats ok")
        .assert_line("c_ordinary: 8 threads counted to 16000")
        .assert_line("c_ordinary: threads that exit unjoined ok")
        .assert_line("c_ordinary: files in /tmp ok")
        .assert_line("c_ordinary: sleep and clock_gettime ok")
        .assert_line("c_ordinary: done");
}

/// fork, execve/execl, waitpid, kill, alarm and pause through musl: a
/// child's memory its own, a pipe across fork, signals' default actions,
/// an exec'd image reading its arguments and environment, exec errors.
#[test]
fn c_fork() {
    test_program("c_fork", &[])
        .expect_success()
        .assert_line("c_fork: a child's memory is its own")
        .assert_line("c_fork: a pipe across fork ok")
        .assert_line("c_fork: waitpid, kill and alarm ok")
        .assert_line("c_fork image: arguments and environment ok")
        .assert_line("c_fork: exec ok")
        .assert_line("c_fork: done");
}

/// mmap, munmap and mprotect of any page range, PROT_NONE guard pages (a
/// touch kills with the kernel's report), mremap, brk.
#[test]
fn c_memory() {
    test_program("c_memory", &[])
        .expect_success()
        .assert_line("user fault: ")
        .assert_line("c_memory: a guard page touch kills the process (signal 11)")
        .assert_line("c_memory: done");
}

/// Files, directories, devices and pipes through the Linux file calls.
#[test]
fn c_files() {
    test_program("c_files", &[])
        .expect_success()
        .assert_line("c_files: pipes, poll, dup2, fcntl ok")
        .assert_line("c_files unprivileged: EACCES under seteuid ok")
        .assert_line("c_files: ok");
}

/// Bad clone flags and addresses, futexes on bad words, mprotect of kernel
/// addresses, brk below its start, huge mmaps, bad signal calls: errors,
/// no kernel fault, no leak; an unsupported call is named in the log.
#[test]
fn c_hostile() {
    let report = test_program("c_hostile", &[]);
    report
        .expect_success()
        .assert_line("c_hostile: done")
        .assert_line("Linux system call 250 (keyctl) is not supported here: ENOSYS")
        .assert_line("clone of a process (fork and vfork are) or of a namespace is not supported");
    assert!(
        report.kernel_errors().is_empty(),
        "{:?}",
        report.kernel_errors()
    );
}

/// The project's own C files compile without a warning (the runner shows a
/// student's warnings and still runs the program).
#[test]
fn c_sources_compile_cleanly() {
    let images = qemu::images::images(false).expect("the images build");
    let c_broken: Vec<_> = images
        .broken
        .iter()
        .filter(|b| b.source.starts_with(qemu::cbuild::C_DIR))
        .collect();
    assert!(c_broken.is_empty(), "{c_broken:#?}");
    assert!(images.warnings.is_empty(), "{:#?}", images.warnings);
}

/// Demand-zero memory: mmap of most of the memory limit in one call takes
/// a few frames; untouched pages read as zeros from the program and the
/// kernel (read, write, door calls, as source and destination); fork of a
/// partly touched area; a touch with no frame left kills (SIGKILL, with
/// the kernel's report), a call that touches fails with ENOMEM.
#[test]
fn c_lazy() {
    test_program("c_lazy", &[])
        .expect_success()
        .assert_line("c_lazy: brk and mremap growth take no frames")
        .assert_line("c_lazy: read and write with untouched buffers ok")
        .assert_line("c_lazy: door calls with untouched buffers ok")
        .assert_line("c_lazy: fork of a partly touched area ok")
        .assert_line("no free memory to give the demand-zero page a frame")
        .assert_line("c_lazy: a touch with no frame left kills (SIGKILL)")
        .assert_line("c_lazy: a call that touches with no frame left is ENOMEM")
        .assert_line("c_lazy: ok");
}

/// CPU time (see `userland/c/c_cputime.c`): clock() and the CPU-time
/// clocks count a busy loop and not a sleep, threads add up in their
/// process, children through wait4, getrusage and times.
#[test]
fn c_cputime() {
    test_program("c_cputime", &[])
        .expect_success()
        .assert_line("c_cputime: clock() counts a busy loop, not a sleep ok")
        .assert_line("c_cputime: threads' CPU time adds up in the process's ok")
        .assert_line("c_cputime: children's time through wait4, getrusage and times ok")
        .assert_line("c_cputime: Linux's errors ok")
        .assert_line("c_cputime: done");
}

/// Stream socket pairs (see `userland/c/c_socket.c`): both directions,
/// a child ping-pong and a transfer larger than a pipe, send/recv and
/// sendmsg/recvmsg flags, shutdown, the peer's close with SIGPIPE (pipes
/// too), select, Linux's errors.
#[test]
fn c_socket() {
    test_program("c_socket", &[])
        .expect_success()
        .assert_line("c_socket: select waits for a socket ok")
        .assert_line("c_socket: both directions on each end, send/recv, fstat, poll ok")
        .assert_line("c_socket: ping-pong with a child, 200000 bytes with MSG_WAITALL ok")
        .assert_line("c_socket: sendmsg and recvmsg with iovecs ok")
        .assert_line("c_socket: shutdown of either direction, for every descriptor ok")
        .assert_line("c_socket: the peer's close: end of file, EPIPE and SIGPIPE (pipes too) ok")
        .assert_line("c_socket: Linux's errors ok")
        .assert_line("c_socket: done");
}

/// Named pipes (see `userland/c/c_fifo.c`): mkfifo/mknod and their
/// errors, unrelated processes exchanging messages, blocking opens in both
/// orders, O_NONBLOCK and ENXIO, O_RDWR, end of file, EPIPE with SIGPIPE,
/// data gone after the last close, unlink while open, fork/spawn/exec,
/// EINTR and a kill during an open, EACCES for a non-root process.
#[test]
fn c_fifo() {
    test_program("c_fifo", &[])
        .expect_success()
        .assert_line("c_fifo: mkfifo, mknod, stat, readdir, rename and errors ok")
        .assert_line("c_fifo: unrelated processes, blocking opens in both orders ok")
        .assert_line("c_fifo: O_NONBLOCK opens, ENXIO, end of file, EPIPE and SIGPIPE ok")
        .assert_line("c_fifo: O_RDWR, ESPIPE, data gone after the last close, unlink while open ok")
        .assert_line("c_fifo: descriptors across fork, spawn and exec ok")
        .assert_line("c_fifo: an open interrupted (EINTR) and one killed ok")
        .assert_line("c_fifo unprivileged: EACCES and EPERM ok")
        .assert_line("c_fifo: done");
}

/// MAP_SHARED anonymous memory across fork: a counter and buffers shared
/// by parent, child and grandchild (pages untouched before the fork too),
/// mprotect after fork, munmap on one side, MAP_PRIVATE beside it still
/// copy-on-write, read(2) into a shared page, a mapping grown before fork,
/// futexes and process-shared semaphores across processes, Linux's errors.
#[test]
fn c_shared() {
    test_program("c_shared", &[])
        .expect_success()
        .assert_line("c_shared: a counter and buffers shared by parent, child and grandchild")
        .assert_line("c_shared: mprotect after fork keeps pages shared")
        .assert_line("c_shared: munmap on one side leaves the other's view")
        .assert_line("c_shared: MAP_PRIVATE stays copy-on-write")
        .assert_line("c_shared: read(2) into a shared page is seen by the other process")
        .assert_line("c_shared: a shared mapping grown before fork is shared whole")
        .assert_line("c_shared: futexes and process-shared semaphores across processes")
        .assert_line("c_shared: Linux's errors ok")
        .assert_line("c_shared: ok");
}

/// Process groups and sessions (see `userland/c/c_groups.c`): getpgrp,
/// getpgid, getsid, setpgid and setsid with each of Linux's errors
/// (EACCES after the child's execve), kill(-pgid) and waitpid by group.
#[test]
fn c_groups() {
    test_program("c_groups", &[])
        .expect_success()
        .assert_line("c_groups: getpgrp, getpgid, getsid and setpgid of itself ok")
        .assert_line("c_groups: setpgid of children, waitpid(0) by group ok")
        .assert_line("c_groups: EACCES for a child that has exec'd ok")
        .assert_line("c_groups: setsid and sessions ok")
        .assert_line("c_groups: kill(-pgid) and waitpid(-pgid) reach exactly the group ok")
        .assert_line("c_groups: ok");
}

/// select, pselect and ppoll (see `userland/c/c_select.c`): pipes
/// becoming ready, timeouts with the time left written back, errors, and
/// the masks of pselect and ppoll (EINTR with the handler run, or the
/// signal left pending when a descriptor is ready first).
#[test]
fn c_select() {
    test_program("c_select", &[])
        .expect_success()
        .assert_line("c_select: select on pipes, timeouts, time left, errors ok")
        .assert_line("c_select: pselect and ppoll masks, time left, errors ok")
        .assert_line("c_select: ok");
}

/// POSIX descriptor numbers (see `userland/c/c_fdnum.c`): the lowest free
/// number for every new descriptor, so `close(1); open(...)` redirects
/// printf into a file and `close(0); dup(p[0])` makes a pipe stdin; pipe,
/// dup, F_DUPFD, dup2 and dup3; numbers kept across fork + exec; a
/// pipeline `ls dir | sort > file` of exec'd images; select after closes;
/// descriptors a door passes land at the receiver's lowest free numbers.
#[test]
fn c_fdnum() {
    test_program("c_fdnum", &[])
        .expect_success()
        .assert_line("c_fdnum: close(1) + open and close(0) + dup redirect ok")
        .assert_line("c_fdnum: pipe, dup, F_DUPFD, dup2 and dup3 take the lowest free numbers ok")
        .assert_line("c_fdnum: a fork + exec child keeps its numbers ok")
        .assert_line("c_fdnum: ls | sort > file through fork, close, dup and exec ok")
        .assert_line("c_fdnum: select on descriptors made after closes ok")
        .assert_line("c_fdnum: descriptors a door passes land at the lowest free numbers ok")
        .assert_line("c_fdnum: ok");
}
