//! Server pools under QEMU: private pools and door_bind, door_server_create,
//! unreferenced invocations, cancellation and the death of either side of a
//! call. Each test boots one program of `userland/src/bin/`; init's leak
//! check (processes, threads, frames, doors, descriptors) runs after it.

use qemu::test_program;

/// door_bind/door_unbind errors and rebinding; each door served only by its
/// own pool (shared or private), locally and from a child process.
#[test]
fn dpool_bind() {
    test_program("dpool_bind", &[])
        .expect_success()
        .assert_line("dpool_bind: ok");
}

/// door_server_create return values; when the create procedure runs (door
/// creation, pool depletion); callers waiting for a parking thread.
#[test]
fn dpool_create() {
    test_program("dpool_create", &[])
        .expect_success()
        .assert_line("dpool_create: ok");
}

/// 12 parallel callers served by threads made on demand; shared and private
/// doors under load; a private door whose threads never bind.
#[test]
fn dpool_load() {
    test_program("dpool_load", &[])
        .expect_success()
        .assert_line("dpool_load: ok");
}

/// The EXAMPLE programs of door_server_create(3C) (8 KiB server thread
/// stacks) and door_bind(3C) (two private doors with their own pools).
#[test]
fn dpool_examples() {
    test_program("dpool_examples", &[])
        .expect_success()
        .assert_line("dpool_examples: ok");
}

/// DOOR_UNREF once, DOOR_UNREF_MULTI five times, deferral while a call is
/// active, notice contents (DOOR_UNREF_DATA, pid 0, DOOR_IS_UNREF), process
/// exit as close, private doors' notices on their bound threads.
#[test]
fn dpool_unref() {
    test_program("dpool_unref", &[])
        .expect_success()
        .assert_line("dpool_unref: ok");
}

/// Client exit and door_abort mid-call (door_cancelled, DOOR_NO_CANCEL,
/// discarded results), server death mid-call (EINTR, EBADF, di_target -1),
/// procedures that return, door_revoke with waiting callers.
#[test]
fn dpool_death() {
    test_program("dpool_death", &[])
        .expect_success()
        .assert_line("dpool_death: ok");
}

/// The default create procedure makes at most one server thread per
/// concurrent caller (plus one on its way), however many calls are made.
#[test]
fn door_pool_growth() {
    qemu::test_program("door_pool_growth", &[])
        .expect_success()
        .assert_line("door_pool_growth: ok");
}
