//! `cargo run`: builds everything and boots the kernel in QEMU with a user
//! program (`demo` unless one is named), showing the serial console. See
//! [`qemu::cli::USAGE`] for the options, or run `cargo run -- --help`.

use std::process::ExitCode;

use qemu::cli::{self, Command, USAGE};
use qemu::{Outcome, bench};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Boot(run) => qemu::run(&run).map(|report| report.outcome),
        Command::Bench { run, linux } => bench::bench(&run, linux).map(|(report, rows)| {
            print!("\n{}", bench::table(&rows));
            report.outcome
        }),
    };
    match result {
        Ok(outcome) => exit_code(&outcome),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// 0 for success; a program's own exit status when it has one; 1 otherwise.
fn exit_code(outcome: &Outcome) -> ExitCode {
    if *outcome == Outcome::Success {
        return ExitCode::SUCCESS;
    }
    eprintln!("qemu: {outcome}");
    match outcome {
        Outcome::ProgramStatus(n) => ExitCode::from(u8::try_from(*n).unwrap_or(1)),
        _ => ExitCode::FAILURE,
    }
}
