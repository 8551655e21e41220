//! FIFOs in the capability layer: `mknod` with the umask, opens that
//! complete or wait, a waiting open completed or given up, the table
//! filling while one waits, what a FIFO descriptor says of itself, and
//! its references across fork and exit.

use super::*;

const PATH: &[u8] = b"/tmp/fifo";

/// Processes 1 and 2 and a FIFO made by 1 with umask 027.
fn with_fifo() -> TestObjects {
    let mut o = objects();
    o.create_process(1, 4).unwrap();
    o.create_process(2, CAPACITY).unwrap();
    o.umask(1, 0o027).unwrap();
    o.mknod(1, ROOT, AT_FDCWD, PATH, S_IFIFO | 0o666).unwrap();
    o
}

fn waiting(opened: Result<Open, Errno>) -> FifoOpen {
    match opened {
        Ok(Open::Wait(open)) => open,
        other => panic!("expected a wait, got {other:?}"),
    }
}

/// No description, pipe or descriptor is left.
fn assert_nothing_held(o: &TestObjects) {
    assert_eq!(o.caps.fs.usage().ofds, 0);
    assert_eq!(o.caps.pipes.usage().pipes, 0);
    assert_eq!(o.caps.descriptors(), 0);
}

#[test]
fn mknod_applies_the_umask_and_keeps_the_type() {
    let o = with_fifo();
    let st = o.stat(1, ROOT, AT_FDCWD, PATH, 0).unwrap();
    assert_eq!(st.st_mode, S_IFIFO | 0o640);
    let mut o = o;
    assert_eq!(
        o.mknod(1, ROOT, AT_FDCWD, PATH, S_IFIFO | 0o666),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        o.mknod(1, ROOT, 99, b"x", S_IFIFO | 0o666),
        Err(Errno::EBADF)
    );
}

#[test]
fn a_waiting_open_completes_once_the_other_side_opens() {
    let mut o = with_fifo();
    let open = waiting(o.open(1, ROOT, AT_FDCWD, PATH, O_RDONLY | O_CLOEXEC, 0));
    assert_eq!(open.wait_at(), (open.fifo.pipe, End::Read));
    assert!(!o.fifo_partner_came(open));
    assert_eq!(o.caps.descriptors(), 0, "no descriptor before it completes");
    while o.caps.pop_wake().is_some() {}
    let Ok(Open::Done(w)) = o.open(2, ROOT, AT_FDCWD, PATH, O_WRONLY, 0) else {
        panic!("a writer with a reader waiting opens at once");
    };
    assert_eq!(o.caps.pop_wake(), Some((open.fifo.pipe, Wake::Readers)));
    assert!(o.fifo_partner_came(open));
    let r = o.fifo_opened(1, open).unwrap();
    assert!(o.caps.table(1).unwrap().entry(r).unwrap().cloexec);

    let (reader, writer) = (o.cap(1, r).unwrap(), o.cap(2, w).unwrap());
    assert_eq!(o.fstat(reader).st_mode, S_IFIFO | 0o640);
    assert_eq!(o.status_flags(writer), O_WRONLY);
    assert_eq!(o.check_readable(writer), Err(Errno::EBADF));
    assert_eq!(o.check_writable(reader), Err(Errno::EBADF));
    assert_eq!(o.lseek(reader, 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(o.truncate(writer, 0), Err(Errno::EINVAL));
    assert_eq!(o.write(writer, &mut &b"hi"[..]), Ok(Written::Bytes(2)));
    let mut buf = [0; 4];
    assert_eq!(o.read(reader, &mut &mut buf[..]), Ok(2));
    o.fcntl(1, r, F_SETFL, u64::from(O_NONBLOCK)).unwrap();
    assert!(o.nonblocking(reader));
    assert!(!o.nonblocking(writer), "each open has its own flags");
    assert_eq!(o.read(reader, &mut &mut buf[..]), Err(Errno::EAGAIN));

    // Fork shares both; the last close of the writers is end of file.
    o.doors.create_thread(2, 20, 0).unwrap();
    o.fork(2, 20, 3, 30, 0).unwrap();
    o.close(2, w).unwrap();
    assert_eq!(o.read(reader, &mut &mut buf[..]), Err(Errno::EAGAIN));
    o.exit_process(3);
    assert_eq!(o.read(reader, &mut &mut buf[..]), Ok(0));
    o.exit_process(1);
    o.exit_process(2);
    assert_nothing_held(&o);
}

#[test]
fn a_waiting_open_given_up_or_refused_leaves_nothing() {
    let mut o = with_fifo();
    let open = waiting(o.open(2, ROOT, AT_FDCWD, PATH, O_WRONLY, 0));
    o.release(open.cap());
    assert_nothing_held(&o);
    assert_eq!(
        o.open(2, ROOT, AT_FDCWD, PATH, O_WRONLY | O_NONBLOCK, 0),
        Err(Errno::ENXIO)
    );

    // Process 1's table (4 descriptors) fills while its open waits.
    let open = waiting(o.open(1, ROOT, AT_FDCWD, PATH, O_RDONLY, 0));
    let fds: Vec<Fd> = (0..4)
        .map(|_| {
            o.open_fd(1, ROOT, AT_FDCWD, b"/dev/null", O_RDONLY, 0)
                .unwrap()
        })
        .collect();
    let Ok(Open::Done(w)) = o.open(2, ROOT, AT_FDCWD, PATH, O_WRONLY, 0) else {
        panic!("a writer with a reader waiting opens at once");
    };
    assert_eq!(o.fifo_opened(1, open), Err(Errno::EMFILE));
    let writer = o.cap(2, w).unwrap();
    assert_eq!(o.write(writer, &mut &b"x"[..]), Err(Errno::EPIPE));
    for fd in fds {
        o.close(1, fd).unwrap();
    }
    o.close(2, w).unwrap();
    assert_nothing_held(&o);
}

#[test]
fn read_write_opens_never_wait_and_share_the_pipe() {
    let mut o = with_fifo();
    let Ok(Open::Done(a)) = o.open(1, ROOT, AT_FDCWD, PATH, O_RDWR, 0) else {
        panic!("O_RDWR never waits");
    };
    let Ok(Open::Done(b)) = o.open(2, ROOT, AT_FDCWD, PATH, O_RDONLY, 0) else {
        panic!("a writer is there");
    };
    let (a, b) = (o.cap(1, a).unwrap(), o.cap(2, b).unwrap());
    assert_eq!(o.status_flags(a), O_RDWR);
    assert_eq!(o.write(a, &mut &b"shared"[..]), Ok(Written::Bytes(6)));
    let mut buf = [0; 8];
    assert_eq!(o.read(b, &mut &mut buf[..]), Ok(6));
    assert_eq!(&buf[..6], b"shared");
    o.fchmod(ROOT, a, 0o600).unwrap();
    assert_eq!(o.fstat(b).st_mode, S_IFIFO | 0o600);
    o.exit_process(1);
    o.exit_process(2);
    assert_nothing_held(&o);
}
