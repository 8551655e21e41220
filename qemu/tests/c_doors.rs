//! Doors from C: the man pages' examples and every door behaviour the Rust
//! tests check, as C programs built with musl-gcc against `<door.h>` and
//! libdoor (`userland/c/`), run on the kernel's Linux personality. Every
//! run also checks that nothing leaked, server threads that were never
//! joined included.

use qemu::test_program;

/// A door called within its process and from a child that received it.
#[test]
fn c_door_hello() {
    test_program("c_door_hello", &[])
        .expect_success()
        .assert_line("child: hello, child")
        .assert_line("c_door_hello: ok");
}

/// door_create(3C), Example 1: the server attaches its door at a path,
/// the client (another process) opens the path and calls it.
#[test]
fn c_door_create() {
    test_program("c_door_create", &[])
        .expect_success()
        .assert_line("said \"hello\"")
        .assert_line("server: the client exited with status 0");
}

/// door_server_create(3C), Example 1: 8 KiB server threads made by the
/// create procedure, serving three calls at once.
#[test]
fn c_door_server_create() {
    test_program("c_door_server_create", &[])
        .expect_success()
        .assert_line("c_door_server_create: call 2 served by thread")
        .assert_line("c_door_server_create: ok");
}

/// door_bind(3C), Example 1: two private pools served by bound threads.
#[test]
fn c_door_bind() {
    test_program("c_door_bind", &[])
        .expect_success()
        .assert_line("c_door_bind client: door d2 answered \"bar ")
        .assert_line("c_door_bind: ok");
}

/// door_info(3C): every field, DOOR_QUERY, errors, across processes.
#[test]
fn c_door_info() {
    test_program("c_door_info", &[])
        .expect_success()
        .assert_line("c_door_info child: the parent's doors seen from here ok")
        .assert_line("c_door_info: across processes, exited servers and revoked doors ok");
}

/// The door_arg_t contract, results in a new mapping, EOVERFLOW.
#[test]
fn c_door_calls() {
    test_program("c_door_calls", &[])
        .expect_success()
        .assert_line("c_door_calls child: EOVERFLOW without memory for results ok")
        .assert_line("c_door_calls: ok");
}

/// Door errors by name: door_call's, door_return's, door_abort's, the
/// parameters', across processes too.
#[test]
fn c_door_errors() {
    test_program("c_door_errors", &[])
        .expect_success()
        .assert_line("c_door_errors: EINTR, EMFILE and EPERM across processes ok")
        .assert_line("c_door_errors: ok");
}

/// Descriptor passing of doors in both directions and of a file,
/// DOOR_RELEASE, d_id.
#[test]
fn c_door_desc() {
    test_program("c_door_desc", &[])
        .expect_success()
        .assert_line("c_door_desc: client gets a door in the results ok")
        .assert_line("c_door_desc: a file passed with DOOR_RELEASE shares its offset ok")
        .assert_line("c_door_desc: ok");
}

/// DOOR_UNREF and DOOR_UNREF_MULTI notices.
#[test]
fn c_door_unref() {
    test_program("c_door_unref", &[])
        .expect_success()
        .assert_line("c_door_unref: DOOR_UNREF_MULTI fires each time ok")
        .assert_line("c_door_unref: ok");
}

/// door_ucred and door_cred across a chain of three processes.
#[test]
fn c_door_ucred() {
    test_program("c_door_ucred", &[])
        .expect_success()
        .assert_line("C sees B (euid 100), B sees A ok")
        .assert_line("c_door_ucred: ok");
}

/// Cancellation notices, door_abort, signals, procedures that return,
/// revocation.
#[test]
fn c_door_cancel() {
    test_program("c_door_cancel", &[])
        .expect_success()
        .assert_line("c_door_cancel: DOOR_NO_CANCEL keeps door_cancelled() 0 ok")
        .assert_line(
            "c_door_cancel: a signal interrupts door_call: EINTR (server cancelled), \
             EAGAIN while waiting, the handler first ok",
        )
        .assert_line("c_door_cancel: ok");
}

/// Signals to a server parked in door_return: handled there, it parks
/// again; a blocked one stays pending; a call made while the only server
/// thread runs a handler is served after; a default action still kills.
#[test]
fn c_door_signal() {
    test_program("c_door_signal", &[])
        .expect_success()
        .assert_line(
            "c_door_signal: a handler runs in the main thread parked in door_return, \
             which parks again ok",
        )
        .assert_line("c_door_signal: a signal the parked thread blocks stays pending ok")
        .assert_line(
            "c_door_signal: a call that comes while the only server thread runs a handler \
             is served once it parks again ok",
        )
        .assert_line("c_door_signal: a signal's default action ends the parked server ok")
        .assert_line("c_door_signal: ok");
}

/// The C benchmark runs (its figures are for `cargo run -- bench`): three
/// door rows and the Linux mmap and munmap rows.
#[test]
fn c_bench() {
    let report = test_program("c_bench", &[]);
    report.expect_success();
    let rows: Vec<_> = report.lines_with(qemu::bench::PREFIX).collect();
    assert_eq!(rows.len(), 5, "{rows:?}");
}
