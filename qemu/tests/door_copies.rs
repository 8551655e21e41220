//! Door copies across pages under QEMU (`userland/src/bin/dcopy.rs`):
//! arguments and results of 1 byte to 50 pages at offsets all over a page,
//! between areas whose frames follow each other or not, arrive exact and
//! touch nothing around them; ranges that run off the end of their area
//! (short ones, checked in the page tables, and long ones, checked against
//! the mapped areas) and read-only result buffers fail with EFAULT before
//! the server runs; the pages a thread's calls remember are not used once
//! anything was unmapped (an unmapped result buffer, a fork).

use qemu::test_program;

#[test]
fn dcopy() {
    test_program("dcopy", &[])
        .expect_success()
        .assert_line("dcopy: echoes of 1 byte to 50 pages at offsets all over a page are exact")
        .assert_line("dcopy: so are echoes between areas whose frames are out of order")
        .assert_line(
            "dcopy: ranges off the end of their area, or read-only results, fail with EFAULT",
        )
        .assert_line("dcopy: remembered pages are not used after an unmap or a fork")
        .assert_line("dcopy: ok");
}
