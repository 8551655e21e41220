//! fork and exec in the capability layer, with every kind of descriptor:
//! what the child shares with its parent, what exec closes and keeps.

use super::*;
use abi::{DOOR_IS_UNREF, DOOR_LOCAL, DOOR_REVOKED, DOOR_UNREF_MULTI};
use doors::{Event, ReturnArgs, StackArea};

/// Process 1 with threads 10 and 11.
fn parent() -> TestObjects {
    let mut o = objects();
    o.create_process(1, 16).unwrap();
    o.doors.create_thread(1, 10, 0).unwrap();
    o.doors.create_thread(1, 11, 0).unwrap();
    o
}

fn door(o: &mut TestObjects, attrs: u32) -> Fd {
    o.doors
        .door_create(&mut o.caps, 1, 0x1000, 0, attrs)
        .unwrap()
        .fd
}

fn entries(o: &TestObjects, pid: Pid) -> Vec<(Fd, Entry<Capability>)> {
    o.caps.table(pid).unwrap().iter().collect()
}

#[test]
fn fork_copies_every_descriptor_with_its_number_and_flags() {
    let mut o = parent();
    let a = door(&mut o, 0);
    let b = door(&mut o, 0);
    o.close(1, a).unwrap();
    let reused = door(&mut o, 0);
    assert_ne!(reused, a, "a reused slot has a new generation");
    o.dup2(1, b, 9, true).unwrap();
    let file = o
        .open_fd(1, ROOT, AT_FDCWD, b"/tmp/f", O_CREAT | O_RDWR, 0o644)
        .unwrap();
    let dir = o.open_fd(1, ROOT, AT_FDCWD, b"/tmp", O_RDONLY, 0).unwrap();
    let null = o
        .open_fd(1, ROOT, AT_FDCWD, b"/dev/null", O_WRONLY, 0)
        .unwrap();
    let (r, w) = o.pipe(1, ROOT, O_CLOEXEC).unwrap();
    let ofds = o.caps.fs.usage().ofds;
    o.fork(1, 10, 2, 20, 0).unwrap();
    assert_eq!(entries(&o, 2), entries(&o, 1));
    assert!(o.caps.table(2).unwrap().entry(9).unwrap().cloexec);
    assert!(o.caps.table(2).unwrap().entry(r).unwrap().cloexec);
    assert_eq!(o.caps.table(2).unwrap().capacity(), 16);
    assert_eq!(o.caps.descriptors(), 16);
    assert_eq!(o.caps.fs.usage().ofds, ofds, "descriptions are shared");
    let info = o.doors.door_info(&o.caps, 20, b).unwrap();
    assert_eq!(
        ({ info.di_target }, { info.di_attributes } & DOOR_LOCAL),
        (1, 0)
    );
    // One offset: the child's write moves the parent's descriptor too.
    let child_file = o.cap(2, file).unwrap();
    assert_eq!(o.write(child_file, &mut &b"abc"[..]), Ok(Written::Bytes(3)));
    assert_eq!(o.lseek(o.cap(1, file).unwrap(), 0, SEEK_CUR), Ok(3));
    // Each end is referenced twice: the parent's close leaves the child's.
    o.close(1, w).unwrap();
    o.close(1, dir).unwrap();
    o.close(1, null).unwrap();
    assert!(!o.caps.has_wakes(), "the child still holds the write end");
    let child_write = o.cap(2, w).unwrap();
    assert_eq!(o.write(child_write, &mut &b"x"[..]), Ok(Written::Bytes(1)));
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Readers));
    o.exit_process(2);
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Readers));
    let mut buf = [0u8; 4];
    assert_eq!(o.read(o.cap(1, r).unwrap(), &mut &mut buf[..]), Ok(1));
    assert_eq!(o.read(o.cap(1, r).unwrap(), &mut &mut buf[..]), Ok(0));
    assert_eq!(o.caps.fs.usage().ofds, ofds - 2);
}

#[test]
fn fork_copies_the_current_directory_and_umask() {
    let mut o = parent();
    o.mkdir(1, ROOT, AT_FDCWD, b"/tmp/home", 0o777).unwrap();
    o.chdir(1, ROOT, b"/tmp/home").unwrap();
    o.umask(1, 0o077).unwrap();
    o.fork(1, 10, 2, 20, 0).unwrap();
    assert_eq!(o.getcwd(2).unwrap(), b"/tmp/home");
    assert_eq!(o.umask(2, 0o022), Ok(0o077));
    // The child's directory is a reference of its own.
    let nodes = o.caps.fs.usage().nodes;
    o.chdir(1, ROOT, b"/").unwrap();
    o.unlink(1, ROOT, AT_FDCWD, b"/tmp/home", AT_REMOVEDIR)
        .unwrap();
    assert_eq!(o.caps.fs.usage().nodes, nodes, "the child holds it");
    o.exit_process(2);
    assert_eq!(o.caps.fs.usage().nodes, nodes - 1);
}

#[test]
fn the_childs_copies_are_references_its_exit_drops() {
    let mut o = parent();
    let d = door(&mut o, DOOR_UNREF_MULTI);
    let unref = |o: &TestObjects| {
        let attrs = o.doors.door_info(&o.caps, 10, d).unwrap().di_attributes;
        attrs & DOOR_IS_UNREF != 0
    };
    assert!(unref(&o));
    o.fork(1, 10, 2, 20, 0).unwrap();
    assert!(!unref(&o), "the child's descriptor counts");
    let stack = StackArea {
        base: 0x10000,
        size: 0x10000,
    };
    let args = ReturnArgs {
        stack,
        ..ReturnArgs::default()
    };
    o.doors
        .door_return(&mut Mem::default(), &mut o.caps, 11, args)
        .unwrap();
    o.exit_process(2);
    assert!(unref(&o));
    assert!(
        matches!(o.doors.pop_event(), Some(Event::Dispatch(up)) if up.server == 11),
        "the child's exit closed its copy: a notice"
    );
    assert_eq!(o.caps.descriptors(), 1);
}

#[test]
fn fork_errors_create_nothing() {
    let mut o = parent();
    door(&mut o, 0);
    let nodes = o.caps.fs.usage().nodes;
    assert_eq!(o.fork(3, 10, 2, 20, 0), Err(Errno::ESRCH), "no parent");
    assert_eq!(o.fork(1, 99, 2, 20, 0), Err(Errno::ESRCH), "no forker");
    assert_eq!(o.fork(1, 10, 1, 20, 0), Err(Errno::EINVAL), "child exists");
    assert_eq!(o.fork(1, 10, 2, 11, 0), Err(Errno::EINVAL), "tid exists");
    assert!(o.caps.table(2).is_none());
    assert_eq!(o.caps.descriptors(), 1);
    assert_eq!(o.caps.fs.usage().nodes, nodes);
    let info = o.doors.door_info(&o.caps, 10, 0).unwrap();
    assert_ne!(
        { info.di_attributes } & DOOR_IS_UNREF,
        0,
        "no reference added"
    );
}

#[test]
fn exec_closes_the_close_on_exec_descriptors_of_every_kind() {
    let mut o = parent();
    let kept = door(&mut o, 0);
    let closed = door(&mut o, 0);
    o.caps.table_mut(1).unwrap().set_cloexec(closed, true);
    let file = o
        .open_fd(
            1,
            ROOT,
            AT_FDCWD,
            b"/tmp/f",
            O_CREAT | O_RDWR | O_CLOEXEC,
            0o644,
        )
        .unwrap();
    let file_kept = o.dup(1, file, 0, false).unwrap();
    o.pipe(1, ROOT, O_CLOEXEC).unwrap();
    o.chdir(1, ROOT, b"/tmp").unwrap();
    o.umask(1, 0o077).unwrap();
    o.fork(1, 10, 2, 20, 0).unwrap();
    o.exec(1, 11).unwrap();
    let open: Vec<Fd> = entries(&o, 1).iter().map(|e| e.0).collect();
    assert_eq!(open, [kept, file_kept]);
    assert_eq!(
        o.doors.door_info(&o.caps, 10, kept),
        Err(Errno::ESRCH),
        "the other thread is gone"
    );
    let info = o.doors.door_info(&o.caps, 11, kept).unwrap();
    assert_eq!({ info.di_target }, -1);
    assert_eq!({ info.di_attributes } & DOOR_REVOKED, DOOR_REVOKED);
    assert_eq!(entries(&o, 2).len(), 6, "the child's copies stay open");
    assert_eq!(o.getcwd(1).unwrap(), b"/tmp");
    assert_eq!(o.umask(1, 0), Ok(0o077));
    // The child's ends are the pipe's last: its exit closes the pipe.
    assert_eq!(o.caps.pipes.usage().pipes, 1);
    o.exit_process(2);
    assert_eq!(o.caps.pipes.usage().pipes, 0);
    assert_eq!(o.exec(1, 10), Err(Errno::ESRCH));
    assert_eq!(o.exec(3, 11), Err(Errno::ESRCH));
}

/// A native program that exec's a Linux one: the table numbers POSIX's way
/// from then on, the descriptor it holds under a generation keeping its
/// number until closed; a fork keeps the parent's numbering.
#[test]
fn exec_changes_the_numbering_and_fork_keeps_it() {
    let null = |o: &mut TestObjects, pid| {
        o.open_fd(pid, ROOT, AT_FDCWD, b"/dev/null", O_RDWR, 0)
            .unwrap()
    };
    let mut o = parent();
    assert_eq!(null(&mut o, 1), 0);
    o.close(1, 0).unwrap();
    let carried = null(&mut o, 1);
    assert_eq!(carried, 1 << INDEX_BITS, "with a generation");
    o.exec(1, 11).unwrap();
    o.caps.set_numbering(1, Numbering::Posix);
    assert_eq!(null(&mut o, 1), 1, "slot 0 is held");
    assert_eq!(o.dup2(1, 1, 0, false), Err(Errno::EBADF), "taken");
    assert_eq!(o.dup2(1, 1, carried, false), Ok(carried), "replaced");
    assert_eq!(o.caps.fs.usage().ofds, 1, "the replaced description closed");
    o.close(1, carried).unwrap();
    assert_eq!(o.dup(1, 1, 0, false), Ok(0), "a plain number now");
    assert_eq!(o.fcntl(1, 1, F_DUPFD, 1), Ok(2));
    o.fork(1, 11, 2, 20, 0).unwrap();
    o.close(2, 0).unwrap();
    assert_eq!(null(&mut o, 2), 0, "the child numbers POSIX's way");
    o.exec(2, 20).unwrap();
    o.caps.set_numbering(2, Numbering::Generations);
    o.close(2, 0).unwrap();
    let fresh = null(&mut o, 2);
    assert!(fresh & (MAX_CAPACITY as i32 - 1) == 0 && fresh != 0 && fresh != carried);
    assert_eq!(o.caps.table(1).unwrap().numbering(), Numbering::Posix);
}
