//! The host-side runner: builds the bare-metal images, packs the ramdisk,
//! boots the kernel in QEMU and turns what comes back (the serial log and
//! QEMU's exit status) into a [`Report`].
//!
//! The `cargo run` binary (`src/main.rs`) and the integration tests
//! (`tests/*.rs`) both use this library. A test boots one user program and
//! checks the result:
//!
//! ```no_run
//! qemu::test_program("hello", &[])
//!     .expect_success()
//!     .assert_line("hello from ring 3");
//! ```
//!
//! How a run goes:
//! 1. [`images::images`] builds the kernel, the loader and every user program
//!    with cargo (once per process).
//! 2. [`ramdisk::Ramdisk`] packs the user programs and `boot.args` (the
//!    command line init runs) into a boot file system image.
//! 3. [`run`] starts QEMU with the loader as the multiboot kernel and the
//!    kernel plus the ramdisk as its modules, collects the serial output and
//!    maps the exit status through `abi::exit_code`.

pub mod bench;
pub mod cli;
mod error;
pub mod images;
mod machine;
pub mod ramdisk;
mod report;
pub mod setup;

use std::time::Duration;

pub use error::Error;
pub use machine::{Run, run};
pub use report::{Outcome, Report};

/// How long an integration test may run before it counts as a hang. Tests run
/// in parallel under plain TCG, so this is generous.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Boots `program` with `args` under [`TEST_TIMEOUT`] and returns the report.
/// Panics (failing the test) when the run could not even start, for example
/// when the build failed or the program does not exist.
#[track_caller]
pub fn test_program(program: &str, args: &[&str]) -> Report {
    let mut line = vec![program];
    line.extend_from_slice(args);
    let mut config = Run::new(&line);
    config.timeout = Some(TEST_TIMEOUT);
    match run(&config) {
        Ok(report) => report,
        Err(e) => panic!("could not boot `{program}`: {e}"),
    }
}
