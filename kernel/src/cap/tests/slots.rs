//! The bound on the slots of all descriptor tables together
//! ([`CapSpace::max_slots`]): a descriptor that needs a new slot beyond it
//! fails with ENFILE (EAGAIN for a fork, whose copy needs the parent's
//! slots), changing nothing; free slots still serve, and a table's slots
//! come back when its process ends.

use super::*;

fn null(o: &mut TestObjects, pid: Pid) -> Result<Fd, Errno> {
    o.open_fd(pid, ROOT, AT_FDCWD, b"/dev/null", O_RDWR, 0)
}

#[test]
fn slots_beyond_the_bound_are_enfile_and_free_ones_still_serve() {
    let mut o = objects();
    o.caps.max_slots = 4;
    o.create_process(1, 8).unwrap();
    o.create_process(2, 8).unwrap();
    o.doors.create_thread(1, 10, 0).unwrap();
    let a = null(&mut o, 1).unwrap();
    assert_eq!(o.dup(1, a, 2, false), Ok(2), "slots 0 to 2");
    assert_eq!(o.caps.slots(), 3);
    assert_eq!(o.dup(1, a, 0, false), Ok(1), "a free slot needs no new one");
    assert_eq!(o.caps.slots(), 3);
    assert_eq!(null(&mut o, 2), Ok(0));
    assert_eq!(o.caps.slots(), 4);
    let ofds = o.caps.fs.usage().ofds;
    assert_eq!(null(&mut o, 1), Err(Errno::ENFILE));
    assert_eq!(o.caps.fs.usage().ofds, ofds, "nothing opened");
    assert_eq!(o.pipe(2, ROOT, 0), Err(Errno::ENFILE));
    assert_eq!(o.caps.pipes.usage().pipes, 0);
    assert_eq!(o.dup(1, a, 0, false), Err(Errno::ENFILE));
    assert_eq!(o.fcntl(1, a, F_DUPFD, 5), Err(Errno::ENFILE));
    assert_eq!(o.dup2(1, a, 3, false), Err(Errno::ENFILE));
    assert_eq!(
        o.dup2(1, a, 9, false),
        Err(Errno::EBADF),
        "beyond the table"
    );
    assert_eq!(o.caps.descriptors(), 4);
    let d = o.doors.door_create(&mut o.caps, 1, 0x1000, 0, 0);
    assert_eq!(
        d.map(|c| c.fd),
        Err(Errno::EMFILE),
        "the door logic's error"
    );
    assert_eq!(o.fork(1, 10, 3, 30, 0), Err(Errno::EAGAIN));
    assert!(o.caps.table(3).is_none());
    o.close(1, 2).unwrap();
    assert_eq!(o.caps.slots(), 4, "a closed descriptor keeps its slot");
    let again = o.dup(1, a, 0, false).unwrap();
    assert_eq!(again & 0xfff, 2, "the freed slot serves");
    o.exit_process(2);
    assert_eq!(o.caps.slots(), 3, "an ended process's slots come back");
    assert_eq!(o.dup2(1, a, 3, false), Ok(3));
    assert_eq!(o.caps.slots(), 4);
}

#[test]
fn a_fork_takes_the_parents_slots_and_gives_them_back_at_exit() {
    let mut o = objects();
    o.caps.max_slots = 6;
    o.create_process(1, 8).unwrap();
    o.doors.create_thread(1, 10, 0).unwrap();
    let a = null(&mut o, 1).unwrap();
    o.dup2(1, a, 2, false).unwrap();
    assert_eq!(o.caps.slots(), 3);
    o.fork(1, 10, 2, 20, 0).unwrap();
    assert_eq!(o.caps.slots(), 6);
    assert_eq!(null(&mut o, 2), Ok(1), "its free slot serves");
    assert_eq!(null(&mut o, 2), Err(Errno::ENFILE));
    o.exit_process(2);
    assert_eq!(o.caps.slots(), 3);
    o.exit_process(1);
    assert_eq!(o.caps.slots(), 0);
}
