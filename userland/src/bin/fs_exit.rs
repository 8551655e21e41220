//! A process that dies holding descriptors of every kind leaves nothing
//! behind, whether it exits or is killed after a fault. The child holds
//! a regular file it removed (so only its descriptor keeps it), a
//! directory, a device, the ends of two pipes with one thread blocked
//! reading one and another blocked writing the other (each holding its
//! end), its own door with a server thread parked, a door of the parent's,
//! duplicates, and a current directory the parent removes meanwhile; it
//! also leaves its door attached over a file. Afterwards the kernel's
//! counts of processes, threads, descriptors, open files, pipes, file
//! pages and file system nodes are back where they were (the removed
//! directory and file gone), and the attached door is the one thing
//! left: held only by its attachment until the parent detaches it. (This
//! program is the only one running in its boot, so the counts are its
//! own; init's check after it covers the frames too.)
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use userland::Errno;
use userland::abi::kstat;
use userland::door::safe::{Door, Response, serve_forever};
use userland::fs::{self, *};
use userland::testkit::{self, *};
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const DIR: &str = "/tmp/fs_exit";
const CWD: &str = "/tmp/fs_exit/cwd";
const ATTACHED: &str = "/tmp/fs_exit/attached";
/// The console, as init hands it over.
const STDIO: [i32; 3] = [0, 1, 2];

/// The counters that must come back.
const COUNTERS: [(&str, usize); 9] = [
    ("processes", kstat::PROCESSES),
    ("threads", kstat::THREADS),
    ("descriptors", kstat::DESCRIPTORS),
    ("open files", kstat::OPEN_FILES),
    ("pipes", kstat::PIPES),
    ("file pages", kstat::FILE_PAGES),
    ("file system nodes", kstat::FS_NODES),
    ("doors", kstat::DOORS),
    ("doors only attachments hold", kstat::ATTACHED_DOORS),
];

fn counts() -> Vec<u64> {
    COUNTERS
        .iter()
        .map(|&(_, which)| process::kstat(which).unwrap_or(u64::MAX))
        .collect()
}

fn must<T>(what: &str, r: Result<T, Errno>) -> T {
    r.unwrap_or_else(|e| panic!("fs_exit: {what}: {e:?}"))
}

/// The child: takes every kind of object, says so on descriptor 4, and
/// ends as `how` says.
fn child(how: &str) -> ! {
    let ready = 4;
    must("chdir", fs::chdir(CWD));
    let file = must("open", fs::open("held", O_CREAT | O_RDWR, 0o644));
    must("write", write_fd(file, &[1u8; 3 * 4096]).map(|_| ()));
    must("unlink", fs::unlink("held"));
    let _dir = must("open a directory", fs::open(".", O_RDONLY, 0));
    let _zero = must("open /dev/zero", fs::open("/dev/zero", O_RDONLY, 0));
    let _dups = (must("dup", fs::dup(file)), must("dup", fs::dup(3)));
    let (empty_r, _empty_w) = must("pipe", pipe());
    let (_full_r, full_w) = must("pipe", pipe());
    must("fill", write_fd(full_w, &[2u8; 64 * 1024]).map(|_| ()));
    let reader = thread::spawn(move || {
        let _ = read_fd(empty_r, &mut [0u8; 8]);
        0
    });
    let writer = thread::spawn(move || {
        let _ = write_fd(full_w, b"never fits");
        0
    });
    let door = must("door_create", Door::create(0, |_| Response::default()));
    must("attach", door.attach_file(ATTACHED));
    let server = thread::spawn(|| serve_forever());
    for t in [reader, writer, server] {
        must("thread", t.map(|_| ()));
    }
    // Let the threads block and park.
    process::sleep_ticks(5);
    must("ready", write_fd(ready, b"r").map(|_| ()));
    match how {
        "fault" => {
            // SAFETY: deliberately invalid: the kernel kills the process.
            unsafe { core::ptr::null_mut::<u64>().write_volatile(1) };
            process::exit(3)
        }
        _ => process::exit(0),
    }
}

fn run(how: &str, status: i32, door: &Door) {
    let before = counts();
    let (ready_r, ready_w) = must("pipe", pipe());
    let fds = [STDIO[0], STDIO[1], STDIO[2], door.fd(), ready_w];
    let Some(pid) = testkit::spawn(&["child", how], &fds) else {
        return;
    };
    must("close", close(ready_w));
    let mut byte = [0u8; 1];
    expect_eq(
        "the child got everything",
        read_fd(ready_r, &mut byte),
        Ok(1),
    );
    // Its current directory goes away under it.
    expect_eq("rmdir its current directory", fs::rmdir(CWD), Ok(()));
    expect_eq(
        &alloc::format!("the child's end ({how})"),
        process::wait(Some(pid)).map(|(_, s)| s),
        Ok(status),
    );
    must("close", close(ready_r));
    let after = counts();
    for (i, (what, _)) in COUNTERS.iter().enumerate() {
        let expected = match *what {
            // The removed directory went with its last holder.
            "file system nodes" => before[i] - 1,
            // The attached door stays, held only by its attachment.
            "doors" | "doors only attachments hold" => before[i] + 1,
            _ => before[i],
        };
        check!(
            after[i] == expected,
            "{how}: {what}: {} before, {} after, expected {expected}",
            before[i],
            after[i]
        );
    }
    let dead = Door::open(ATTACHED).and_then(|d| {
        let target = d.info().map(|i| i.di_target);
        d.close().and(target)
    });
    expect_eq("the attached door of the dead server", dead, Ok(-1));
    expect_eq(
        "fdetach",
        userland::door::safe::detach_file(ATTACHED),
        Ok(()),
    );
    let after = counts();
    for (i, (what, _)) in COUNTERS.iter().enumerate() {
        let expected = if *what == "file system nodes" {
            before[i] - 2
        } else {
            before[i]
        };
        check!(
            after[i] == expected,
            "{how} after fdetach: {what}: {} before, {} after",
            before[i],
            after[i]
        );
    }
    must("mkdir again", fs::mkdir(CWD, 0o755));
    must("the attached file again", fs::write(ATTACHED, b""));
    println!("fs_exit: a child that ended by {how} left nothing behind");
}

fn main() -> i32 {
    if arg(1) == Some("child") {
        child(arg(2).unwrap_or(""));
    }
    must("mkdir", fs::mkdir(DIR, 0o755));
    must("mkdir cwd", fs::mkdir(CWD, 0o755));
    must("the attached file", fs::write(ATTACHED, b""));
    let door = must("door_create", Door::create(0, |_| Response::default()));
    run("exit", 0, &door);
    run("fault", 142, &door);
    must("unlink", fs::unlink(ATTACHED));
    must("rmdir", fs::rmdir(CWD));
    must("rmdir", fs::rmdir(DIR));
    must("revoke", door.revoke());
    testkit::verdict(true)
}
