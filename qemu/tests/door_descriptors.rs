//! Descriptors under QEMU: capability tables, descriptor passing between
//! processes, and the fattach name space. Each test boots one program of
//! `userland/src/bin/` (which spawns the other processes it needs) and
//! checks it passed; init's leak check (processes, threads, frames, doors,
//! descriptors) runs after every one.

use qemu::test_program;

/// Generations (stale, forged, negative descriptors are EBADF), close, dup,
/// EMFILE on a full table, and a spawned child holding exactly the
/// descriptors handed to it as 0, 1, ...
#[test]
fn ddesc_tables() {
    test_program("ddesc_tables", &[])
        .expect_success()
        .assert_line("ddesc_tables: ok");
}

/// DOOR_DESCRIPTOR in both directions across three processes, DOOR_RELEASE
/// on success and failure, and the EINVAL, ENOTSUP, ENFILE, ENOBUFS,
/// EFAULT and EBADF cases.
#[test]
fn ddesc_pass() {
    test_program("ddesc_pass", &[])
        .expect_success()
        .assert_line("ddesc_pass: ok");
}

/// EMFILE when the receiver's table is full, for arguments (door_call) and
/// for results (door_return, reported by the server, nothing dropped).
#[test]
fn ddesc_full() {
    test_program("ddesc_full", &[])
        .expect_success()
        .assert_line("ddesc_full: ok");
}

/// fattach, fdetach and open across processes: several paths, descriptors
/// surviving fdetach, the path errors, and EPERM under seteuid.
#[test]
fn ddesc_names() {
    test_program("ddesc_names", &[])
        .expect_success()
        .assert_line("ddesc_names: ok");
}

#[test]
fn dharden() {
    test_program("dharden", &[])
        .expect_success()
        .assert_line("dharden: ok");
}
