//! Hostile programs: user RFLAGS on every kernel entry.

use qemu::test_program;

/// NT and AC set by a program survive no entry into the kernel (syscall,
/// timer interrupt, fault), and TF on a syscall traps in user mode.
#[test]
fn userflags() {
    test_program("userflags", &[])
        .expect_success()
        .assert_line("userflags: syscalls with NT|AC set: ok")
        .assert_line("userflags: timer interrupts with NT|AC set: ok")
        .assert_line("userflags: faults with NT|AC set: ok")
        .assert_line("userflags: syscall with TF set: ok");
}

/// The last user page cannot be mapped, so no `syscall` returns to the
/// non-canonical address after it; the page below still works.
#[test]
fn toppage() {
    test_program("toppage", &[])
        .expect_success()
        .assert_line("toppage: the top page is refused: ok")
        .assert_line("toppage: syscall at the end of the page below: #PF in user mode: ok");
}

/// LDT selectors fault (#GP): the CPU never reads descriptors from user
/// memory at the reset LDT base 0.
#[test]
fn ldt() {
    test_program("ldt", &[]).expect_success().assert_line("ldt: ok");
}
