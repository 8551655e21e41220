//! Door stress under QEMU: big transfers, many calls under preemption, and
//! nested/concurrent calls. Each test boots one `dstress_*` program (in
//! `userland/src/bin/`); init's leak check runs after every one.

use qemu::test_program;

/// 1 MiB arguments and 1 MiB results between processes, hashed on both
/// sides; kernel-mapped result areas (page rounded, unmapped by the caller,
/// no frames kept); results in place in the argument buffer and in an rbuf
/// of exactly their size; E2BIG for arguments beyond the server thread's
/// stack area; EOVERFLOW when no result area can be mapped.
#[test]
fn dstress_big() {
    test_program("dstress_big", &[])
        .expect_success()
        .assert_line("dstress_big: 1 MiB results in an rbuf of exactly 1 MiB: ok")
        .assert_line(
            "dstress_big: tight: results too big for rbuf and no room to map: EOVERFLOW: ok",
        )
        .assert_line("dstress_big: ok");
}

/// 100,000 checked echo calls between two processes while a third spins
/// on the CPU for the whole run (only timer preemption shares the CPU).
#[test]
fn dstress_many() {
    test_program("dstress_many", &[])
        .expect_success()
        .assert_line("dstress_many: client: 100000 calls checked")
        .assert_line("dstress_many: ok");
}

/// A -> B -> C and A -> B -> C -> A across processes, a process calling
/// its own doors (from its main thread and from server threads, 8 levels
/// deep), and 6 threads calling the same door at once.
#[test]
fn dstress_nested() {
    test_program("dstress_nested", &[])
        .expect_success()
        .assert_line("dstress_nested: A -> B -> C -> A (A's leaf on a server thread of A): ok")
        .assert_line("dstress_nested: a door calling itself 8 levels deep: ok")
        .assert_line("dstress_nested: ok");
}
