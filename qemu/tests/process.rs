//! fork, exec, wait, signals and resource limits under QEMU: each test
//! boots one program of `userland/src/bin/` and checks it passed; init's
//! leak check (processes, threads, frames, doors, descriptors, open files,
//! pipes) runs after every one.

use qemu::test_program;

/// fork: a copy of the calling thread returning 0, copy-on-write memory
/// (each side's writes its own, also the kernel's: read, pipe2, door
/// results), frames for page tables at fork and one per written page, all
/// back after the child; descriptors (one file offset), close-on-exec
/// flags, current directory, umask, ids and limits inherited; children of
/// a process whose other threads allocate and print all the time.
#[test]
fn proc_fork() {
    test_program("proc_fork", &[])
        .expect_success()
        .assert_line("proc_fork: child 19 allocated 10000 bytes")
        .assert_line("proc_fork: ok");
}

/// Doors across fork, as illumos: inherited descriptors reach the parent's
/// server (di_target the parent, no DOOR_LOCAL, revoke and setparam EPERM,
/// bind EINVAL), the child's own doors and threads, a forked server called
/// by its parent and killed, the unreferenced notice at the child's exit,
/// door_bind(3C)'s rule, fork while a thread is in a call, a server and a
/// client killed mid-call.
#[test]
fn proc_doors() {
    test_program("proc_doors", &[])
        .expect_success()
        .assert_line("proc_doors: ok");
}

/// execve: a door descriptor kept across exec called by the new image
/// (with its arguments and environment), the close-on-exec one closed,
/// the process's doors revoked, the other threads ended, relative paths,
/// a Linux program in a native one's place (keeping a descriptor's
/// number with a generation), and every error leaving the
/// caller working.
#[test]
fn proc_exec() {
    test_program("proc_exec", &[])
        .expect_success()
        .assert_line("proc_image: called door 10 after exec")
        .assert_line("hello from C: from proc_exec")
        .assert_line("c_fdnum carried: a number with a generation from a native image ok")
        .assert_line("proc_exec: every failed exec left the caller working")
        .assert_line("proc_exec: ok");
}

/// wait4 (a pid, any, the group, WNOHANG, statuses, ECHILD, EINVAL,
/// EFAULT), zombies, orphans adopted and reaped by init, kill's rules
/// (default actions, probes, init, ESRCH, EINVAL, EPERM after setuid),
/// alarm and pause.
#[test]
fn proc_wait() {
    test_program("proc_wait", &[])
        .expect_success()
        .assert_line("proc_wait: ok");
}

/// setrlimit/getrlimit: RLIMIT_NOFILE as the table size (EMFILE, also for
/// descriptors a door call or return delivers into a full table, which
/// lose nothing), RLIMIT_AS/DATA as the memory limit, the rest.
#[test]
fn proc_limits() {
    test_program("proc_limits", &[])
        .expect_success()
        .assert_line("proc_limits: ok");
}

/// A fork bomb fills the system to its process limit, where fork fails
/// with EAGAIN; once released, everything is reaped and fork works.
#[test]
fn proc_bomb() {
    test_program("proc_bomb", &[])
        .expect_success()
        .assert_line("proc_bomb: 256 processes, fork fails with EAGAIN")
        .assert_line("proc_bomb: ok");
}

/// A fork bomb whose processes fill their descriptor tables with new doors
/// and open files stops at the system-wide limits (ENFILE), before the
/// kernel heap runs out (it used to panic); as root they raise their tables
/// to 4,096 and have calls wait with 256 descriptors each, which stop at
/// `abi::MAX_QUEUED_DESCS` (EAGAIN); everything comes back.
#[test]
fn objbomb() {
    test_program("objbomb", &[])
        .expect_success()
        .assert_line(
            "objbomb: 256 processes, 16384 doors, 16384 open files: \
             door_create and open fail with ENFILE",
        )
        .assert_line(
            "objbomb: 64 calls wait with 256 descriptors each, beside tables of 4096: \
             door_call fails with EAGAIN",
        )
        .assert_line("objbomb: ok");
}

/// A fork tree of root processes that raise their tables to 4,096 and
/// fill them with duplicates while calls wait with 256 descriptors each
/// (C, `userland/c/c_tablebomb.c`): the system-wide bound on table slots
/// (`abi::MAX_TABLE_SLOTS`) stops them with ENFILE before the kernel heap
/// runs out (it used to panic); everything comes back.
#[test]
fn c_tablebomb() {
    test_program("c_tablebomb", &[])
        .expect_success()
        .assert_line("stopped by the system's bound (ENFILE)")
        .assert_line("c_tablebomb: ok");
}

/// A root process that raised its thread limit makes threads that exit
/// at once and are never joined: the system-wide bound on threads
/// (`abi::MAX_THREADS`, exited ones nobody joined included) stops it with
/// EAGAIN, as it does fork, spawn and a C program's pthread_create (a
/// Linux clone, `userland/c/c_threadbomb.c`) at the bound, before the
/// threads' exit values fill the kernel heap (the kernel slowed to a crawl
/// on the way to a panic); everything joined, threads are made again.
#[test]
fn threadbomb() {
    test_program("threadbomb", &[])
        .expect_success()
        .assert_line(
            "threadbomb: thread_create, fork and spawn fail with EAGAIN at 4096 threads \
             (exited ones nobody joined included)",
        )
        .assert_line("c_threadbomb: 7 threads, then pthread_create fails with EAGAIN")
        .assert_line("c_threadbomb: ok")
        .assert_line("threadbomb: ok");
}

/// An exit value nobody joined keeps its tid: threads made and joined
/// until every slot they get has gone round all its generations (the
/// number of uses after which a slot's tids repeat) never get that tid,
/// and joining it gives its own value; joined, its slot is used again.
#[test]
fn tidwrap() {
    test_program("tidwrap", &[])
        .expect_success()
        .assert_line("tidwrap: once joined, its slot is used again under a new tid")
        .assert_line("tidwrap: ok");
}

/// Copy-on-write with every frame taken: the writing child is killed
/// (SIGKILL, with the kernel's report), a kernel write fails with ENOMEM,
/// the parent is untouched and every frame comes back.
#[test]
fn proc_oom() {
    test_program("proc_oom", &[])
        .expect_success()
        .assert_line("no free memory to copy the copy-on-write page")
        .assert_line("proc_oom: ok");
}
