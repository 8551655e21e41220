//! The image `proc_exec` executes (never run by itself):
//!
//! - `proc_image call FD CLOSED`: calls door `FD` (kept across exec) and
//!   checks the reply, checks that descriptor `CLOSED` (close-on-exec) is
//!   closed, and that the environment is `WHO=exec` and `DOOR_FD=FD`;
//! - `proc_image wait FD`: waits until the pipe read end `FD` gives end of
//!   file, then exits 0;
//! - `proc_image exit CODE`: exits with `CODE`.
#![no_std]
#![no_main]

extern crate alloc;

use userland::fs::read_fd;
use userland::testkit::{call, expect_eq, expect_live, num_arg, verdict};
use userland::{arg, check, println};

userland::entry!(main);

fn main() -> i32 {
    match arg(1).unwrap_or_default() {
        "call" => {
            let (fd, closed) = (num_arg(2) as i32, num_arg(3) as i32);
            expect_eq(
                "door call from the new image",
                call(fd, b"ping", &[]).as_deref(),
                Ok(&b"pong"[..]),
            );
            expect_live("a close-on-exec door descriptor", closed, false);
            expect_eq("WHO", userland::var("WHO"), Some("exec"));
            let fd_text = alloc::format!("{fd}");
            expect_eq("DOOR_FD", userland::var("DOOR_FD"), Some(fd_text.as_str()));
            expect_eq("the environment's size", userland::env().count(), 2);
            expect_eq("argument 0", arg(0), Some("proc_image"));
            println!("proc_image: called door {fd} after exec");
            verdict(false)
        }
        "wait" => {
            let fd = num_arg(2) as i32;
            let mut byte = [0u8; 1];
            while read_fd(fd, &mut byte) == Ok(1) {}
            0
        }
        "exit" => num_arg(2) as i32,
        other => {
            check!(false, "proc_image: unknown mode {other}");
            2
        }
    }
}
