//! Files, directories, devices and pipes under QEMU: each test boots one
//! program of `userland/src/bin/` and checks it passed; init's leak check
//! (processes, threads, frames, doors, descriptors, open files, pipes)
//! runs after every one.

use qemu::test_program;

/// Files across processes (by path and by an inherited descriptor with
/// its shared offset), offsets and holes, a removed file alive while open,
/// `/bin` read-only with the boot archive's programs (listed, read,
/// started by path), current directories and the umask inherited, the
/// devices, dup2/dup3/fcntl.
#[test]
fn fs_files() {
    test_program("fs_files", &[])
        .expect_success()
        .assert_line("fs_files: written to /dev/console")
        .assert_line("hello from ring 3")
        .assert_line("fs_files: ok");
}

/// Every error: bad pointers (nothing moves), bad flags, descriptors of the
/// wrong kind, path errors, a full table, permissions under seteuid (the
/// sticky /tmp, access with the real ids), and a full file system (the
/// page limit and the node limit, space back at the last close).
#[test]
fn fs_errors() {
    test_program("fs_errors", &[])
        .expect_success()
        .assert_line("fs_errors: the file system took")
        .assert_line("fs_errors: ok");
}

/// Pipes between processes and threads: end of file, blocking readers and
/// writers, partial reads, EPIPE with the count written first, O_NONBLOCK,
/// PIPE_BUF writes that never mix, a blocked thread holding its end.
#[test]
fn pipes() {
    test_program("pipes", &[])
        .expect_success()
        .assert_line("pipes: ok");
}

/// Descriptors of every kind through doors: a file passed with
/// DOOR_RELEASE read at the shared offset on both sides, a pipe end, a
/// directory and a device; door operations on them are EBADF (fattach
/// EINVAL).
#[test]
fn fs_doors() {
    test_program("fs_doors", &[])
        .expect_success()
        .assert_line("fs_doors: ok");
}

/// A process that dies holding descriptors of every kind (and threads
/// blocked on pipes, a parked server thread, a removed current directory)
/// leaves nothing behind, whether it exits or faults; a door it left
/// attached stays until detached.
#[test]
fn fs_exit() {
    test_program("fs_exit", &[])
        .expect_success()
        .assert_line("fs_exit: a child that ended by exit left nothing behind")
        .assert_line("fs_exit: a child that ended by fault left nothing behind")
        .assert_line("fs_exit: ok");
}
