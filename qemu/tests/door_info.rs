//! door_info, door_revoke, door_setparam/getparam and door_ucred/door_cred
//! under QEMU, across processes: each test boots one `dinfo_*` program (in
//! `userland/src/bin/`) and checks it passed; init's leak check runs after
//! every one.

use qemu::test_program;

/// Every door_info field and attribute bit, DOOR_QUERY, uniquifiers, errors.
#[test]
fn dinfo_info() {
    test_program("dinfo_info", &[])
        .expect_success()
        .assert_line("dinfo_info: ok");
}

/// door_revoke: EPERM, EBADF, waiting callers woken, running call completes.
#[test]
fn dinfo_revoke() {
    test_program("dinfo_revoke", &[])
        .expect_success()
        .assert_line("dinfo_revoke: ok");
}

/// door_setparam/getparam: defaults, limits enforced on calls, all errors.
#[test]
fn dinfo_params() {
    test_program("dinfo_params", &[])
        .expect_success()
        .assert_line("dinfo_params: ok");
}

/// door_ucred/door_cred: the immediate caller (chain A -> B -> C), euids,
/// unreferenced invocations, EINVAL and EFAULT.
#[test]
fn dinfo_ucred() {
    test_program("dinfo_ucred", &[])
        .expect_success()
        .assert_line("dinfo_ucred: ok");
}
