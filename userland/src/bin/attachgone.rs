//! A door cannot be attached over a removed directory. A process's
//! current directory stays usable once removed, and `.` names it: an
//! `fattach(d, ".")` there used to cover a node no name led to any more,
//! which went away with its last holder, door and all, so the reference
//! the attachment held on the door was never dropped (a door leaked, and
//! nothing could ever detach it). Now that is ENOENT, as making a name in
//! a removed directory is (found while adding removed current directories
//! to the fuzzer, whose case catches it when the fix is undone).
#![no_std]
#![no_main]

use core::ffi::c_void;
use core::ptr::null_mut;
use userland::abi::Errno;
use userland::check;
use userland::door::{door_create, door_desc_t, door_return, door_revoke, errno, fattach};
use userland::fs::{chdir, mkdir, rmdir};
use userland::testkit::verdict;

userland::entry!(main);

extern "C" fn serve(_: *mut c_void, _: *mut u8, _: usize, _: *mut door_desc_t, _: u32) {
    door_return(null_mut(), 0, null_mut(), 0);
}

fn main() -> i32 {
    let dir = "/tmp/attachgone";
    check!(mkdir(dir, 0o700).is_ok(), "mkdir {dir}");
    check!(chdir(dir).is_ok(), "chdir {dir}");
    check!(rmdir(dir).is_ok(), "rmdir {dir} (the current directory)");
    let door = door_create(serve, null_mut(), 0);
    check!(door >= 0, "door_create");
    for path in [".", "./.", dir] {
        let ret = fattach(door, path);
        let e = errno();
        check!(
            ret == -1 && e == Errno::ENOENT,
            "fattach over the removed directory as {path:?}: {ret}, {e:?} (expected ENOENT)"
        );
    }
    check!(chdir("/").is_ok(), "chdir /");
    check!(door_revoke(door) == 0, "door_revoke");
    verdict(true)
}
