//! Descriptors of every kind through doors, under QEMU: a server process
//! and a client process it started with the door.
//! - a file passed with DOOR_RELEASE leaves the client and arrives open on
//!   the same open file: the server reads at the client's offset, passes
//!   it back (released again), and the client reads on from where the
//!   server stopped;
//! - a pipe's write end passed to the server: the server writes into it
//!   and closes it, and the client reads the bytes, then end of file;
//! - a directory and a device passed without DOOR_RELEASE: both sides
//!   hold them;
//! - door operations on descriptors of other kinds are EBADF (door_call,
//!   door_info, door_revoke, door_setparam, door_getparam, door_bind), and
//!   fattach of one is EINVAL.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use userland::Errno;
use userland::arg;
use userland::door::safe::{Door, Response};
use userland::door::{
    DOOR_PARAM_DATA_MAX, door_bind, door_call, door_desc_t, door_getparam, door_info, door_info_t,
    door_revoke, door_setparam, fattach,
};
use userland::fs::{self, *};
use userland::testkit::{self, *};

userland::entry!(main);

const FILE: &str = "/tmp/fs_doors";
/// The console, as init hands it over.
const STDIO: [i32; 3] = [0, 1, 2];
/// Where the client holds the door.
const DOOR: i32 = 3;

fn must<T>(what: &str, r: Result<T, Errno>) -> T {
    r.unwrap_or_else(|e| panic!("fs_doors: {what}: {e:?}"))
}

/// The server: "read" reads 4 bytes from the file passed and passes it
/// back released; "pipe" writes into the write end passed and closes it;
/// "stat" answers with the types of the descriptors passed.
fn serve(data: &[u8], descs: &[door_desc_t]) -> Response {
    let fds: Vec<i32> = descs.iter().map(|d| d.d_descriptor).collect();
    match (data, fds.as_slice()) {
        (b"read", &[fd]) => {
            let mut buf = [0u8; 4];
            let n = read_fd(fd, &mut buf).unwrap_or(0);
            Response {
                data: buf[..n].to_vec(),
                descs: alloc::vec![desc(fd, true)],
            }
        }
        (b"pipe", &[fd]) => {
            let wrote = write_fd(fd, b"through a door");
            let closed = close(fd);
            Response::data(format!("{wrote:?} {closed:?}").into_bytes())
        }
        (b"stat", fds) => {
            let mut types = Vec::new();
            for &fd in fds {
                let kind = fstat(fd).map_or(0, |st| st.st_mode & S_IFMT);
                types.extend_from_slice(&kind.to_le_bytes());
                let _ = close(fd);
            }
            Response::data(types)
        }
        _ => Response::data(b"?".to_vec()),
    }
}

/// Every door operation on `fd`, a descriptor of another kind.
fn not_a_door(what: &str, fd: i32) {
    let mut info = door_info_t::default();
    expect_err(
        door_info(fd, &mut info),
        Errno::EBADF,
        &format!("door_info of {what}"),
    );
    expect_err(
        door_call(fd, core::ptr::null_mut()),
        Errno::EBADF,
        &format!("door_call of {what}"),
    );
    let mut a = userland::door::door_arg_t::default();
    expect_err(
        door_call(fd, &mut a),
        Errno::EBADF,
        &format!("door_call(args) of {what}"),
    );
    expect_err(
        door_revoke(fd),
        Errno::EBADF,
        &format!("door_revoke of {what}"),
    );
    expect_err(
        door_setparam(fd, DOOR_PARAM_DATA_MAX, 1),
        Errno::EBADF,
        &format!("door_setparam of {what}"),
    );
    let mut v = 0usize;
    expect_err(
        door_getparam(fd, DOOR_PARAM_DATA_MAX, &mut v),
        Errno::EBADF,
        &format!("door_getparam of {what}"),
    );
    expect_err(door_bind(fd), Errno::EBADF, &format!("door_bind of {what}"));
    expect_err(
        fattach(fd, FILE),
        Errno::EINVAL,
        &format!("fattach of {what}"),
    );
}

fn client() -> i32 {
    let door = Door::from_fd(DOOR);
    // A file, released to the server at offset 4.
    must("write the file", fs::write(FILE, b"0123456789abcdef"));
    let f = must("open", fs::open(FILE, O_RDONLY, 0));
    expect_eq("seek", lseek(f, 4, SEEK_SET), Ok(4));
    match door.call(b"read", &[desc(f, true)]) {
        Ok(reply) => {
            expect_eq(
                "the server read at the shared offset",
                reply.data.as_slice(),
                b"4567",
            );
            expect_eq(
                "the released descriptor is gone",
                fstat(f).map(|_| ()),
                Err(Errno::EBADF),
            );
            match reply.descs.as_slice() {
                [back] => {
                    let back = back.d_descriptor;
                    let mut buf = [0u8; 4];
                    expect_eq("read on", read_fd(back, &mut buf), Ok(4));
                    expect_eq("from where the server stopped", &buf, b"89ab");
                    expect_eq("the offset", lseek(back, 0, SEEK_CUR), Ok(12));
                    not_a_door("a file", back);
                    must("close", close(back));
                }
                other => fail(format_args!("{} descriptors came back", other.len())),
            }
        }
        Err(e) => fail(format_args!("call with a file: {e:?}")),
    }
    // A pipe's write end, released to the server.
    let (r, w) = must("pipe", pipe());
    not_a_door("a read end", r);
    not_a_door("a write end", w);
    match door.call(b"pipe", &[desc(w, true)]) {
        Ok(reply) => expect_eq(
            "the server's write and close",
            reply.data.as_slice(),
            b"Ok(14) Ok(())",
        ),
        Err(e) => fail(format_args!("call with a pipe end: {e:?}")),
    }
    let mut buf = [0u8; 32];
    expect_eq("the server's bytes", read_fd(r, &mut buf), Ok(14));
    expect_eq("what it wrote", &buf[..14], b"through a door");
    expect_eq("then end of file", read_fd(r, &mut buf), Ok(0));
    must("close", close(r));
    // A directory and a device, kept on both sides.
    let dir = must("open /tmp", fs::open("/tmp", O_RDONLY, 0));
    let null = must("open /dev/null", fs::open("/dev/null", O_WRONLY, 0));
    not_a_door("a directory", dir);
    not_a_door("a device", null);
    match door.call(b"stat", &[desc(dir, false), desc(null, false)]) {
        Ok(reply) => {
            let mut want = S_IFDIR.to_le_bytes().to_vec();
            want.extend_from_slice(&S_IFCHR.to_le_bytes());
            expect_eq("the types the server saw", reply.data, want);
        }
        Err(e) => fail(format_args!("call with a directory and a device: {e:?}")),
    }
    expect_eq(
        "still a directory here",
        fstat(dir).map(|s| s.st_mode & S_IFMT),
        Ok(S_IFDIR),
    );
    expect_eq("still writable here", write_fd(null, b"x"), Ok(1));
    must("close", close(dir));
    must("close", close(null));
    must("unlink", fs::unlink(FILE));
    testkit::verdict(false)
}

fn main() -> i32 {
    if arg(1) == Some("client") {
        return client();
    }
    let door = must(
        "door_create",
        Door::create(0, |inv| serve(inv.data, inv.descs)),
    );
    let fds = [STDIO[0], STDIO[1], STDIO[2], door.fd()];
    if let Some(pid) = testkit::spawn(&["client"], &fds) {
        wait_child("client", pid);
    }
    if let Err(e) = door.revoke() {
        fail(format_args!("door_revoke: {e:?}"));
    }
    testkit::verdict(true)
}
