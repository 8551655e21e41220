//! The host-side runner: builds the bare-metal images, packs the boot file
//! system, boots the kernel in QEMU and turns what comes back (the serial
//! log and QEMU's exit status) into a [`Report`] with one result per program.
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
//! or a whole plan, with prebuilt programs and extra files:
//!
//! ```no_run
//! use qemu::{Run, Verdict};
//! let report = qemu::test_run(
//!     Run::new(&["./prebuilt/tool.elf", "data/in.txt"])
//!         .then(&["exit_status", "7"])
//!         .add("testdata/in.txt", "data/in.txt"),
//! );
//! report.expect_program(2, Verdict::Fail, Some(7));
//! ```
//!
//! How a run goes:
//! 1. [`images::images`] builds the kernel, the loader and every user program
//!    with cargo (once per process).
//! 2. [`ramdisk::BootFs`] packs the user programs, the files the run names
//!    and `boot.args` (the plan init runs) into a ustar archive.
//! 3. [`run`] starts QEMU with the loader as the multiboot kernel and the
//!    kernel plus the archive as its modules, collects the serial output,
//!    and reads init's result lines and the exit status into a [`Report`];
//!    [`output`] writes it as JSON or JUnit XML.

pub mod bench;
pub mod cbuild;
pub mod cli;
mod error;
pub mod images;
pub mod logs;
mod machine;
pub mod output;
pub mod plan;
pub mod profile;
pub mod ramdisk;
mod report;
pub mod results;
pub mod setup;
pub mod symbols;
pub mod trace;

use std::time::Duration;

pub use error::Error;
pub use machine::{DEFAULT_MEMORY, Run, boot_fs, run};
pub use report::{Outcome, Report, STATUS_OTHER};
pub use results::{ProgramResult, Verdict};

/// How long an integration test may run before it counts as a hang, unless
/// the test sets its own or [`TIMEOUT_VARIABLE`] says otherwise. Tests run
/// in parallel under plain TCG, so this is generous.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable that sets the integration tests' timeout, in
/// seconds (for slow machines, or to fail fast).
pub const TIMEOUT_VARIABLE: &str = "DOORS_TEST_TIMEOUT";

/// The timeout of a test that sets none: [`TIMEOUT_VARIABLE`] when it is a
/// number of seconds, else [`TEST_TIMEOUT`].
pub fn test_timeout() -> Duration {
    std::env::var(TIMEOUT_VARIABLE)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(TEST_TIMEOUT, Duration::from_secs)
}

/// Boots `program` with `args` under [`test_timeout`] and returns the report.
/// Panics (failing the test) when the run could not even start, for example
/// when the build failed or the program does not exist.
#[track_caller]
pub fn test_program(program: &str, args: &[&str]) -> Report {
    let mut line = vec![program];
    line.extend_from_slice(args);
    test_run(Run::new(&line))
}

/// Boots `config`, with [`test_timeout`] unless it sets a timeout, and
/// returns the report. Panics when the run could not even start.
#[track_caller]
pub fn test_run(mut config: Run) -> Report {
    config.timeout = config.timeout.or_else(|| Some(test_timeout()));
    match run(&config) {
        Ok(report) => report,
        Err(e) => panic!("could not boot {:?}: {e}", config.programs),
    }
}
