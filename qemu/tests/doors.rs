//! Doors under QEMU: each test boots one door test program (in
//! `userland/src/bin/`) and checks it passed; init's leak check (doors,
//! descriptors, threads, processes, frames) runs after every one.

use qemu::test_program;

/// A door called within its process and from a child that got the
/// descriptor at spawn.
#[test]
fn door_hello() {
    test_program("door_hello", &[])
        .expect_success()
        .assert_line("door_hello: child got Ok(\"dlihc eht morf\")");
}

/// Every round trip is two direct switches between caller and server (no
/// run queue), within a process and across processes.
#[test]
fn door_handoff() {
    test_program("door_handoff", &[])
        .expect_success()
        .assert_line("door_handoff: ok");
}
