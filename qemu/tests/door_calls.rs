//! The door_call / door_return contract of doors-semantics.md under QEMU.
//! Each test boots one program of `userland/src/bin/dcall_*.rs`, which runs
//! its checks within one process and across two and prints a line per group
//! of checks; init's leak check (processes, threads, frames, doors,
//! descriptors) runs after every one.

use qemu::test_program;

/// door_create attributes as door_info reports them (and the EINVAL
/// cases); the door_arg_t contract: arguments in, results out in rbuf
/// (exactly rsize bytes stay there), descriptors at rbuf +
/// roundup(data_size, sizeof(door_desc_t)), one buffer for both.
#[test]
fn dcall_contract() {
    test_program("dcall_contract", &[])
        .expect_success()
        .assert_line(
            "dcall_contract: door_create attributes reported by door_info; bad ones EINVAL",
        )
        .assert_line("dcall_contract: child: results of exactly rsize bytes stay in rbuf")
        .assert_line("dcall_contract: ok");
}

/// The result side of the door_arg_t contract: params == NULL, results
/// larger than rsize in a new zero-filled page-rounded mapping (also with
/// rbuf NULL), EOVERFLOW when it cannot be made.
#[test]
fn dcall_results() {
    test_program("dcall_results", &[])
        .expect_success()
        .assert_line("dcall_results: child: large results in a new zero-filled page-rounded area")
        .assert_line("dcall_results: child: rbuf NULL, rsize 0: results in a new area")
        .assert_line("dcall_results: child: EOVERFLOW when the result area cannot be mapped")
        .assert_line("dcall_results: ok");
}

/// The door_call error codes of the call itself, each with its own check:
/// E2BIG, EAGAIN, EBADF, EFAULT, EINTR, EINVAL.
#[test]
fn dcall_errors() {
    test_program("dcall_errors", &[])
        .expect_success()
        .assert_line("dcall_errors: E2BIG: ok")
        .assert_line("dcall_errors: EAGAIN: ok")
        .assert_line("dcall_errors: EBADF: ok")
        .assert_line("dcall_errors: EFAULT: ok")
        .assert_line("dcall_errors: EINTR: ok")
        .assert_line("dcall_errors: EINVAL: ok")
        .assert_line("dcall_errors: ok");
}

/// The door_call error codes of the server's limits, each with its own
/// check: EMFILE, ENFILE, ENOBUFS, ENOTSUP.
#[test]
fn dcall_limits() {
    test_program("dcall_limits", &[])
        .expect_success()
        .assert_line("dcall_limits: EMFILE: ok")
        .assert_line("dcall_limits: ENFILE: ok")
        .assert_line("dcall_limits: ENOBUFS: ok")
        .assert_line("dcall_limits: ENOTSUP: ok")
        .assert_line("dcall_limits: ok");
}

/// door_return's errors (E2BIG, EFAULT, EINVAL, EMFILE without a silent
/// drop) and door_return with no caller left (client exited, killed, or
/// its call aborted).
#[test]
fn dcall_return() {
    test_program("dcall_return", &[])
        .expect_success()
        .assert_line("dcall_return: child: EMFILE (the caller's table is full), no silent drop")
        .assert_line("dcall_return: no caller left (exit): results discarded, the server goes on")
        .assert_line("dcall_return: no caller left (fault): results discarded, the server goes on")
        .assert_line("dcall_return: no caller left (abort): results discarded, the server goes on")
        .assert_line("dcall_return: ok");
}
