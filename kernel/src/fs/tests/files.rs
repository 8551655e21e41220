//! Open-file descriptions: open flags, reads and writes, offsets, seeks,
//! truncation, unlinked files, bounds, devices, boot programs, spawning.

use super::*;

const PAGE: usize = crate::io::PAGE_SIZE;

#[test]
fn a_created_file_reads_back_what_was_written() {
    let mut fs = new_fs();
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_RDWR).unwrap();
    assert_eq!(write(&mut fs, ofd, b"hello"), Ok(5));
    assert_eq!(
        read(&mut fs, ofd, 10).unwrap(),
        b"",
        "the offset is at the end"
    );
    assert_eq!(fs.lseek(ofd, 0, SEEK_SET), Ok(0));
    assert_eq!(read(&mut fs, ofd, 3).unwrap(), b"hel");
    assert_eq!(read(&mut fs, ofd, 10).unwrap(), b"lo");
    let st = fs.fstat(ofd);
    assert_eq!(
        (st.st_mode, st.st_size, st.st_nlink),
        (S_IFREG | 0o644, 5, 1)
    );
    assert_eq!((st.st_uid, st.st_gid, st.st_blocks), (1000, 100, 8));
    assert_eq!(stat(&fs, EVE, "/tmp/f").unwrap(), st);
    fs.release(ofd);
    assert_eq!(fs.usage().ofds, 0);
    assert_eq!(fs.usage().pages, 1, "the file keeps its page after close");
    fs.audit();
}

#[test]
fn open_flags_are_checked_first() {
    let mut fs = new_fs();
    for flags in [O_ACCMODE, 0o10000000, O_CREAT | O_DIRECTORY, 0o40000] {
        assert_eq!(
            open(&mut fs, ALICE, "/tmp/f", flags | O_CREAT),
            Err(Errno::EINVAL)
        );
    }
    let accepted = O_CREAT | O_RDWR | O_CLOEXEC | O_LARGEFILE | O_NOCTTY | O_SYNC | O_NOFOLLOW;
    let ofd = open(&mut fs, ALICE, "/tmp/f", accepted).unwrap();
    assert_eq!(
        fs.status_flags(ofd),
        O_RDWR,
        "only the mode and status flags are kept"
    );
    fs.release(ofd);
    assert_eq!(fs.usage().nodes, INITIAL_NODES + 1);
}

#[test]
fn open_beyond_the_description_limit_is_enfile_and_changes_nothing() {
    let mut fs: TestFs = Fs::new(
        VecStore::default(),
        Limits {
            max_pages: 64,
            max_nodes: 64,
            max_ofds: 2,
        },
    );
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"data");
    let first = open(&mut fs, ALICE, "/dev/null", O_RDONLY).unwrap();
    let second = open(&mut fs, ALICE, "/tmp", O_RDONLY).unwrap();
    fs.retain(second);
    for (path, flags) in [
        ("/tmp/f", O_RDWR | O_TRUNC),
        ("/tmp/new", O_CREAT | O_WRONLY),
        ("/tmp/missing", O_RDONLY),
    ] {
        assert_eq!(
            open(&mut fs, ALICE, path, flags),
            Err(Errno::ENFILE),
            "{path}"
        );
    }
    assert_eq!(fs.usage().ofds, 2);
    assert_eq!(fs.usage().nodes, INITIAL_NODES + 1, "nothing was created");
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_RDONLY);
    assert_eq!(
        ofd,
        Err(Errno::ENFILE),
        "a description with two references counts once"
    );
    fs.release(first);
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_RDONLY).unwrap();
    assert_eq!(
        read(&mut fs, ofd, 8),
        Ok(b"data".to_vec()),
        "nothing was truncated"
    );
    fs.release(ofd);
    fs.release(second);
    fs.release(second);
    assert_eq!(fs.usage().ofds, 0);
    fs.audit();
}

#[test]
fn opening_reports_missing_existing_and_misnamed_paths() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"x");
    let excl = O_CREAT | O_EXCL | O_WRONLY;
    assert_eq!(open(&mut fs, ALICE, "/tmp/f", excl), Err(Errno::EEXIST));
    assert_eq!(open(&mut fs, ALICE, "/tmp", excl), Err(Errno::EEXIST));
    assert_eq!(open(&mut fs, ALICE, "/tmp/g", O_RDONLY), Err(Errno::ENOENT));
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/no/g", O_CREAT),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/f/g", O_CREAT),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(open(&mut fs, ALICE, "/tmp/g/", O_CREAT), Err(Errno::EISDIR));
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/f/", O_RDONLY),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/f", O_DIRECTORY),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(open(&mut fs, ALICE, "", O_RDONLY), Err(Errno::ENOENT));
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/a\0b", O_CREAT),
        Err(Errno::EINVAL)
    );
    // `..` above the root stays at the root; empty components are skipped.
    let ofd = open(&mut fs, ALICE, "/../..//tmp/./f", O_RDONLY).unwrap();
    assert_eq!(read(&mut fs, ofd, 4).unwrap(), b"x");
    fs.release(ofd);
    assert_eq!(
        fs.usage().nodes,
        INITIAL_NODES + 1,
        "failed opens made nothing"
    );
    fs.audit();
}

#[test]
fn directories_open_only_for_reading() {
    let mut fs = new_fs();
    for flags in [O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_RDONLY | O_CREAT] {
        assert_eq!(
            open(&mut fs, ALICE, "/tmp", flags),
            Err(Errno::EISDIR),
            "{flags:o}"
        );
    }
    let root = fs.root();
    let Opened::Dir(ofd) = fs.open(ALICE, root, b"/tmp/", O_RDONLY, 0).unwrap() else {
        panic!("not a directory");
    };
    assert_eq!(read(&mut fs, ofd, 4), Err(Errno::EISDIR));
    assert_eq!(pread(&fs, ofd, 0, 4), Err(Errno::EISDIR));
    assert_eq!(write(&mut fs, ofd, b"x"), Err(Errno::EBADF));
    assert_eq!(fs.truncate(ofd, 0), Err(Errno::EINVAL));
    assert_eq!(fs.fstat(ofd).st_mode & S_IFMT, S_IFDIR);
    fs.release(ofd);
}

#[test]
fn the_access_mode_limits_the_calls() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"data");
    let reader = open(&mut fs, ALICE, "/tmp/f", O_RDONLY).unwrap();
    let writer = open(&mut fs, ALICE, "/tmp/f", O_WRONLY).unwrap();
    assert_eq!(write(&mut fs, reader, b"x"), Err(Errno::EBADF));
    assert_eq!(fs.pwrite(reader, 0, &mut &b"x"[..]), Err(Errno::EBADF));
    assert_eq!(fs.truncate(reader, 0), Err(Errno::EINVAL));
    assert_eq!(read(&mut fs, writer, 1), Err(Errno::EBADF));
    assert_eq!(pread(&fs, writer, 0, 1), Err(Errno::EBADF));
    assert_eq!(contents(&mut fs, "/tmp/f"), b"data", "nothing changed");
    fs.release(reader);
    fs.release(writer);
}

#[test]
fn append_writes_at_the_end_but_pwrite_at_its_offset() {
    let mut fs = new_fs();
    let plain = open(&mut fs, ALICE, "/tmp/log", O_CREAT | O_WRONLY).unwrap();
    let append = open(&mut fs, ALICE, "/tmp/log", O_WRONLY | O_APPEND).unwrap();
    assert_eq!(write(&mut fs, plain, b"aaaa"), Ok(4));
    assert_eq!(write(&mut fs, append, b"bb"), Ok(2));
    assert_eq!(fs.lseek(append, 0, SEEK_CUR), Ok(6));
    assert_eq!(write(&mut fs, plain, b"c"), Ok(1), "at its own offset 4");
    assert_eq!(fs.pwrite(append, 1, &mut &b"Z"[..]), Ok(1));
    assert_eq!(
        fs.lseek(append, 0, SEEK_CUR),
        Ok(6),
        "pwrite leaves the offset"
    );
    assert_eq!(contents(&mut fs, "/tmp/log"), b"aZaacb");
    fs.set_status_flags(plain, O_APPEND);
    assert_eq!(write(&mut fs, plain, b"!"), Ok(1));
    assert_eq!(contents(&mut fs, "/tmp/log"), b"aZaacb!");
    fs.release(plain);
    fs.release(append);
}

#[test]
fn status_flags_change_only_append_and_nonblock() {
    let mut fs = new_fs();
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_WRONLY | O_NONBLOCK).unwrap();
    assert_eq!(fs.status_flags(ofd), O_WRONLY | O_NONBLOCK);
    fs.set_status_flags(ofd, O_RDWR | O_APPEND | O_CREAT);
    assert_eq!(fs.status_flags(ofd), O_WRONLY | O_APPEND);
    fs.release(ofd);
}

#[test]
fn truncation_on_open_and_by_ftruncate() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, &[9; 3 * PAGE]);
    assert_eq!(fs.usage().pages, 3);
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_RDWR | O_TRUNC).unwrap();
    assert_eq!((fs.fstat(ofd).st_size, fs.usage().pages), (0, 0));
    assert_eq!(write(&mut fs, ofd, &[1; PAGE + 10]), Ok(PAGE + 10));
    assert_eq!(fs.truncate(ofd, 5), Ok(()));
    assert_eq!(fs.usage().pages, 1);
    assert_eq!(
        fs.truncate(ofd, 2 * PAGE as i64),
        Ok(()),
        "growing adds a hole"
    );
    assert_eq!(fs.usage().pages, 1);
    assert_eq!(pread(&fs, ofd, 3, 4).unwrap(), [1, 1, 0, 0]);
    assert_eq!(pread(&fs, ofd, PAGE as i64 + 5, 3).unwrap(), [0; 3]);
    assert_eq!(fs.truncate(ofd, -1), Err(Errno::EINVAL));
    assert_eq!(fs.fstat(ofd).st_size, 2 * PAGE as i64);
    // O_TRUNC with O_RDONLY truncates too, given write permission.
    let reader = open(&mut fs, ALICE, "/tmp/f", O_RDONLY | O_TRUNC).unwrap();
    assert_eq!(fs.fstat(reader).st_size, 0);
    chmod(&mut fs, ALICE, "/tmp/f", 0o444).unwrap();
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/f", O_RDONLY | O_TRUNC),
        Err(Errno::EACCES)
    );
    fs.release(reader);
    fs.release(ofd);
    fs.audit();
}

#[test]
fn seeking_follows_posix_and_linux() {
    let mut fs = new_fs();
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"0123456789");
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_RDWR).unwrap();
    assert_eq!(fs.lseek(ofd, -3, SEEK_END), Ok(7));
    assert_eq!(read(&mut fs, ofd, 10).unwrap(), b"789");
    assert_eq!(fs.lseek(ofd, -5, SEEK_CUR), Ok(5));
    assert_eq!(fs.lseek(ofd, -6, SEEK_CUR), Err(Errno::EINVAL));
    assert_eq!(fs.lseek(ofd, -1, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(
        fs.lseek(ofd, 0, 3),
        Err(Errno::EINVAL),
        "SEEK_DATA is not offered"
    );
    assert_eq!(
        fs.lseek(ofd, 0, SEEK_CUR),
        Ok(5),
        "failed seeks left the offset"
    );
    assert_eq!(fs.lseek(ofd, i64::MAX, SEEK_SET), Ok(i64::MAX as u64));
    assert_eq!(
        fs.lseek(ofd, 1, SEEK_CUR),
        Err(Errno::EINVAL),
        "past the largest offset"
    );
    assert_eq!(fs.lseek(ofd, 20, SEEK_SET), Ok(20));
    assert_eq!(write(&mut fs, ofd, b"!"), Ok(1));
    assert_eq!(
        contents(&mut fs, "/tmp/f"),
        b"0123456789\0\0\0\0\0\0\0\0\0\0!"
    );
    fs.release(ofd);
    let null = open(&mut fs, ALICE, "/dev/null", O_RDWR).unwrap();
    assert_eq!(fs.lseek(null, 100, SEEK_SET), Ok(0), "devices stay at 0");
    let console = open(&mut fs, ALICE, "/dev/console", O_RDWR).unwrap();
    assert_eq!(fs.lseek(console, 0, SEEK_SET), Err(Errno::ESPIPE));
    fs.release(null);
    fs.release(console);
}

#[test]
fn positioned_io_leaves_the_offset() {
    let mut fs = new_fs();
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_RDWR).unwrap();
    assert_eq!(fs.pwrite(ofd, 3, &mut &b"abc"[..]), Ok(3));
    assert_eq!(fs.lseek(ofd, 0, SEEK_CUR), Ok(0));
    assert_eq!(pread(&fs, ofd, 2, 10).unwrap(), b"\0abc");
    assert_eq!(pread(&fs, ofd, 100, 10).unwrap(), b"");
    assert_eq!(pread(&fs, ofd, -1, 1), Err(Errno::EINVAL));
    assert_eq!(fs.pwrite(ofd, -1, &mut &b"x"[..]), Err(Errno::EINVAL));
    assert_eq!(fs.pwrite(ofd, 0, &mut &b""[..]), Ok(0));
    assert_eq!(write(&mut fs, ofd, b""), Ok(0));
    assert_eq!(fs.fstat(ofd).st_size, 6);
    let console = open(&mut fs, ALICE, "/dev/console", O_RDWR).unwrap();
    assert_eq!(pread(&fs, console, 0, 1), Err(Errno::ESPIPE));
    assert_eq!(fs.pwrite(console, 0, &mut &b"x"[..]), Err(Errno::ESPIPE));
    fs.release(console);
    fs.release(ofd);
}

#[test]
fn an_unlinked_file_lives_until_its_last_description_closes() {
    let mut fs = new_fs();
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_RDWR).unwrap();
    assert_eq!(write(&mut fs, ofd, &[4; 2 * PAGE]), Ok(2 * PAGE));
    unlink(&mut fs, ALICE, "/tmp/f").unwrap();
    assert_eq!(stat(&fs, ALICE, "/tmp/f"), Err(Errno::ENOENT));
    assert_eq!(fs.fstat(ofd).st_nlink, 0);
    assert_eq!(write(&mut fs, ofd, b"more"), Ok(4), "still writable");
    assert_eq!(pread(&fs, ofd, 2 * PAGE as i64, 10).unwrap(), b"more");
    // A new file may take the name meanwhile.
    make_file(&mut fs, ALICE, "/tmp/f", 0o644, b"new");
    fs.retain(ofd); // a dup, or a copy passed to another process
    fs.release(ofd);
    assert_eq!(fs.usage().pages, 4, "old file (3 pages) and new (1)");
    fs.audit();
    fs.release(ofd);
    assert_eq!(fs.usage().pages, 1, "the old file's pages went with it");
    assert_eq!(fs.usage().nodes, INITIAL_NODES + 1);
    assert_eq!(contents(&mut fs, "/tmp/f"), b"new");
    fs.audit();
}

#[test]
fn the_page_limit_fails_writes_whole() {
    let mut fs = with_limits(4, 64);
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_RDWR).unwrap();
    assert_eq!(write(&mut fs, ofd, &[1; 3 * PAGE + 1]), Ok(3 * PAGE + 1));
    assert_eq!(
        write(&mut fs, ofd, &[2; PAGE]),
        Err(Errno::ENOSPC),
        "needs 2 more pages"
    );
    assert_eq!(
        fs.fstat(ofd).st_size,
        3 * PAGE as i64 + 1,
        "nothing was written"
    );
    assert_eq!(fs.lseek(ofd, 0, SEEK_CUR), Ok(3 * PAGE as u64 + 1));
    assert_eq!(
        write(&mut fs, ofd, &[2; PAGE - 1]),
        Ok(PAGE - 1),
        "fits the last page"
    );
    assert_eq!(
        fs.pwrite(ofd, 0, &mut &[3; 100][..]),
        Ok(100),
        "overwriting takes no page"
    );
    assert_eq!(fs.pwrite(ofd, 1 << 30, &mut &b"x"[..]), Err(Errno::ENOSPC));
    fs.truncate(ofd, 0).unwrap();
    assert_eq!(
        fs.pwrite(ofd, 1 << 30, &mut &b"x"[..]),
        Ok(1),
        "a hole costs nothing"
    );
    fs.release(ofd);
    fs.audit();
}

#[test]
fn a_store_out_of_memory_is_enospc_too() {
    let mut fs: TestFs = Fs::new(
        VecStore::with_capacity(2),
        Limits {
            max_pages: 64,
            max_nodes: 64,
            max_ofds: 64,
        },
    );
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_RDWR).unwrap();
    assert_eq!(write(&mut fs, ofd, &[1; 3 * PAGE]), Err(Errno::ENOSPC));
    assert_eq!(
        (fs.usage().pages, fs.store.in_use),
        (0, 0),
        "the pages taken went back"
    );
    assert_eq!(write(&mut fs, ofd, &[1; 2 * PAGE]), Ok(2 * PAGE));
    fs.release(ofd);
    fs.audit();
}

#[test]
fn the_node_limit_bounds_files_and_directories() {
    let mut fs = with_limits(64, INITIAL_NODES + 2);
    make_file(&mut fs, ALICE, "/tmp/a", 0o644, b"");
    mkdir(&mut fs, ALICE, "/tmp/d", 0o755).unwrap();
    assert_eq!(open(&mut fs, ALICE, "/tmp/b", O_CREAT), Err(Errno::ENOSPC));
    assert_eq!(mkdir(&mut fs, ALICE, "/tmp/e", 0o755), Err(Errno::ENOSPC));
    assert_eq!(fs.add_boot_file(b"prog", b"elf"), Err(Errno::ENOSPC));
    assert_eq!(fs.add_boot_file(b"d/prog", b"elf"), Err(Errno::ENOSPC));
    let mut full = with_limits(64, INITIAL_NODES + 1);
    full.add_boot_file(b"prog", b"elf").unwrap();
    assert_eq!(
        full.add_boot_file(b"prog", b"elf"),
        Err(Errno::EEXIST),
        "a taken name before the limit"
    );
    let ofd = open(&mut fs, ALICE, "/tmp/a", O_CREAT).unwrap();
    unlink(&mut fs, ALICE, "/tmp/a").unwrap();
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/b", O_CREAT),
        Err(Errno::ENOSPC),
        "still open"
    );
    fs.release(ofd);
    let ofd = open(&mut fs, ALICE, "/tmp/b", O_CREAT).unwrap();
    fs.release(ofd);
}

#[test]
fn writes_stop_at_the_largest_offset() {
    let mut fs = new_fs();
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_RDWR).unwrap();
    let last = i64::MAX - 2;
    assert_eq!(fs.pwrite(ofd, last, &mut &b"abcd"[..]), Err(Errno::EFBIG));
    assert_eq!(fs.pwrite(ofd, last, &mut &b"ab"[..]), Ok(2));
    assert_eq!(fs.fstat(ofd).st_size, i64::MAX);
    assert_eq!(pread(&fs, ofd, last, 10).unwrap(), b"ab");
    assert_eq!(fs.usage().pages, 1);
    fs.release(ofd);
}

#[test]
fn devices_sink_zero_and_report_the_console() {
    let mut fs = new_fs();
    let root = fs.root();
    let Opened::Device(null, Device::Null) = fs.open(EVE, root, b"/dev/null", O_RDWR, 0).unwrap()
    else {
        panic!("not /dev/null");
    };
    assert_eq!(read(&mut fs, null, 10).unwrap(), b"");
    assert_eq!(write(&mut fs, null, &[1; 3 * PAGE]), Ok(3 * PAGE));
    let zero = open(&mut fs, EVE, "/dev/zero", O_RDWR).unwrap();
    assert_eq!(read(&mut fs, zero, PAGE + 3).unwrap(), vec![0; PAGE + 3]);
    assert_eq!(pread(&fs, zero, 7, 2).unwrap(), [0, 0]);
    assert_eq!(write(&mut fs, zero, b"gone"), Ok(4));
    let Opened::Device(console, Device::Console) =
        fs.open(EVE, root, b"/dev/console", O_RDWR, 0).unwrap()
    else {
        panic!("not the console");
    };
    assert_eq!(fs.write(console, &mut &b"hi"[..]), Ok(Written::Console));
    assert_eq!(
        read(&mut fs, console, 5).unwrap(),
        b"",
        "reading the console is end of file"
    );
    let console_ro = open(&mut fs, EVE, "/dev/console", O_RDONLY).unwrap();
    assert_eq!(fs.write(console_ro, &mut &b"hi"[..]), Err(Errno::EBADF));
    assert_eq!(fs.usage().pages, 0);
    for ofd in [null, zero, console, console_ro] {
        fs.release(ofd);
    }
    fs.audit();
}

#[test]
fn boot_programs_are_read_only_in_bin() {
    static ELF: &[u8] = b"\x7fELF program";
    let mut fs = new_fs();
    fs.add_boot_file(b"init", ELF).unwrap();
    let nodes = fs.usage().nodes;
    assert_eq!(fs.add_boot_file(b"init", ELF), Err(Errno::EEXIST));
    assert_eq!(fs.usage().nodes, nodes, "the refused file's node is gone");
    fs.audit();
    for bad in [&b"a//b"[..], b"/a", b"a/", b"./a", b"a/../b", b"a\0"] {
        assert_eq!(fs.add_boot_file(bad, ELF), Err(Errno::EINVAL), "{bad:?}");
    }
    assert_eq!(fs.add_boot_file(b"init/x", ELF), Err(Errno::ENOTDIR));
    fs.add_boot_file(b"data/in/a.txt", b"a").unwrap();
    fs.add_boot_file(b"data/b.txt", b"b").unwrap();
    assert_eq!(fs.add_boot_file(b"data/in", ELF), Err(Errno::EEXIST));
    let dir = stat(&fs, ALICE, "/bin/data/in").unwrap();
    assert_eq!((dir.st_mode, dir.st_uid), (S_IFDIR | 0o555, 0));
    assert_eq!(
        open(&mut fs, Cred::ROOT, "/bin/data/new", O_CREAT | O_WRONLY),
        Err(Errno::EROFS),
        "the archive's directories are read-only too"
    );
    let a = open(&mut fs, ALICE, "/bin/data/in/a.txt", O_RDONLY).unwrap();
    assert_eq!(read(&mut fs, a, 10).unwrap(), b"a");
    fs.release(a);
    assert_eq!(
        fs.add_boot_file(&[b'n'; 256], ELF),
        Err(Errno::ENAMETOOLONG)
    );
    let st = stat(&fs, ALICE, "/bin/init").unwrap();
    assert_eq!(
        (st.st_mode, st.st_size, st.st_uid),
        (S_IFREG | 0o555, ELF.len() as i64, 0)
    );
    let ofd = open(&mut fs, ALICE, "/bin/init", O_RDONLY).unwrap();
    assert_eq!(fs.lseek(ofd, 4, SEEK_SET), Ok(4));
    assert_eq!(read(&mut fs, ofd, 100).unwrap(), &ELF[4..]);
    assert_eq!(fs.lseek(ofd, -3, SEEK_END), Ok(ELF.len() as u64 - 3));
    assert_eq!(pread(&fs, ofd, 1000, 4).unwrap(), b"");
    assert_eq!(fs.fchmod(Cred::ROOT, ofd, 0o777), Err(Errno::EROFS));
    fs.release(ofd);
    for who in [ALICE, Cred::ROOT] {
        for flags in [O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC] {
            assert_eq!(open(&mut fs, who, "/bin/init", flags), Err(Errno::EROFS));
        }
        assert_eq!(open(&mut fs, who, "/bin/new", O_CREAT), Err(Errno::EROFS));
        assert_eq!(mkdir(&mut fs, who, "/bin/d", 0o755), Err(Errno::EROFS));
        assert_eq!(unlink(&mut fs, who, "/bin/init"), Err(Errno::EROFS));
        assert_eq!(chmod(&mut fs, who, "/bin/init", 0o777), Err(Errno::EROFS));
        assert_eq!(chmod(&mut fs, who, "/bin", 0o777), Err(Errno::EROFS));
        assert_eq!(
            rename(&mut fs, who, "/bin/init", "/tmp/init"),
            Err(Errno::EROFS)
        );
    }
    assert_eq!(rmdir(&mut fs, Cred::ROOT, "/bin"), Err(Errno::EBUSY));
    assert_eq!(
        rename(&mut fs, Cred::ROOT, "/bin", "/tmp/bin"),
        Err(Errno::EBUSY)
    );
    make_file(&mut fs, ALICE, "/tmp/x", 0o644, b"");
    assert_eq!(
        rename(&mut fs, ALICE, "/tmp/x", "/bin/x"),
        Err(Errno::EROFS)
    );
    let names: Vec<_> = list(&mut fs, "/bin", 64)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, [&b"."[..], b"..", b"init", b"data"]);
    assert_eq!(
        fs.executable(ALICE, fs.root(), b"/bin/init"),
        Ok(Executable::Boot(ELF))
    );
    assert_eq!(fs.usage().pages, 0, "boot programs take no pages");
    fs.audit();
}

#[test]
fn spawning_needs_an_executable_regular_file() {
    let mut fs = new_fs();
    let root = fs.root();
    make_file(&mut fs, ALICE, "/tmp/prog", 0o644, b"\x7fELF");
    for who in [ALICE, Cred::ROOT] {
        assert_eq!(
            fs.executable(who, root, b"/tmp/prog"),
            Err(Errno::EACCES),
            "no x bit"
        );
    }
    chmod(&mut fs, ALICE, "/tmp/prog", 0o700).unwrap();
    assert_eq!(fs.executable(BOB, root, b"/tmp/prog"), Err(Errno::EACCES));
    let Ok(Executable::File(ofd)) = fs.executable(Cred::ROOT, root, b"/tmp/prog") else {
        panic!("not an executable file");
    };
    chmod(&mut fs, ALICE, "/tmp/prog", 0o100).unwrap();
    let Ok(Executable::File(exec)) = fs.executable(ALICE, root, b"/tmp/prog") else {
        panic!("not an executable file");
    };
    assert_eq!(
        read(&mut fs, exec, 10).unwrap(),
        b"\x7fELF",
        "readable without r for loading"
    );
    for path in [&b"/tmp"[..], b"/dev/null", b"/tmp/none", b"/tmp/prog/"] {
        assert!(fs.executable(Cred::ROOT, root, path).is_err(), "{path:?}");
    }
    assert_eq!(fs.executable(Cred::ROOT, root, b"/tmp"), Err(Errno::EACCES));
    fs.release(ofd);
    fs.release(exec);
    fs.audit();
}

#[test]
fn timestamps_follow_changes() {
    let at = |sec| Timespec {
        tv_sec: sec,
        tv_nsec: 5,
    };
    let mut fs = new_fs();
    fs.set_time(at(10));
    let ofd = open(&mut fs, ALICE, "/tmp/f", O_CREAT | O_WRONLY).unwrap();
    let tmp = stat(&fs, ALICE, "/tmp").unwrap();
    assert_eq!(
        (tmp.st_mtime, tmp.st_ctime),
        (10, 10),
        "creating changed /tmp"
    );
    fs.set_time(at(20));
    write(&mut fs, ofd, b"x").unwrap();
    fs.set_time(at(30));
    fs.fchmod(ALICE, ofd, 0o600).unwrap();
    let st = fs.fstat(ofd);
    assert_eq!(
        (st.st_atime, st.st_mtime, st.st_ctime, st.st_mtime_nsec),
        (10, 20, 30, 5)
    );
    fs.set_time(at(40));
    unlink(&mut fs, ALICE, "/tmp/f").unwrap();
    assert_eq!(stat(&fs, ALICE, "/tmp").unwrap().st_mtime, 40);
    assert_eq!(fs.fstat(ofd).st_ctime, 40);
    fs.release(ofd);
}
