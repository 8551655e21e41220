//! `cargo run`: builds everything and boots the kernel in QEMU with the
//! programs of the command line (`demo` unless one is named), showing the
//! serial console, and exits with a status that says how the run ended. See
//! [`qemu::cli::USAGE`] for the options, or run `cargo run -- --help`.

use std::path::Path;
use std::process::ExitCode;

use qemu::cli::{self, Command, Outputs, USAGE};
use qemu::{Error, Report, bench, output, profile, trace};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(e.exit_status());
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Boot(run, outputs) => {
            qemu::run(&run).and_then(|report| write_outputs(&report, &outputs).map(|()| report))
        }
        Command::List(run) => {
            return done(qemu::boot_fs(&run).map(|(_, fs)| print!("{}", fs.listing())));
        }
        Command::Pack(run, file) => {
            return done(qemu::boot_fs(&run).and_then(|(_, fs)| {
                let image = fs.pack()?;
                std::fs::write(&file, image)
                    .map_err(|e| Error::io(format!("writing {}", file.display()), e))?;
                eprintln!("qemu: wrote {}", file.display());
                Ok(())
            }));
        }
        Command::Bench { run, linux } => bench::bench(&run, linux).map(|(report, rows)| {
            print!("\n{}", bench::table(&rows));
            report
        }),
        Command::Profile { run, size, listing } => {
            profile::run_profile(&run, size).and_then(|(report, profile)| {
                print!("\n{}", profile::table(&profile));
                if let Some(path) = listing {
                    write_file(&path, &profile::listing(&profile))?;
                    eprintln!("qemu: listing in {}", path.display());
                }
                Ok(report)
            })
        }
    };
    match result {
        Ok(report) => {
            summarize(&report);
            ExitCode::from(report.outcome.exit_status())
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_status())
        }
    }
}

/// 0 when `result` is `Ok`, the error's exit status otherwise.
fn done(result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_status())
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn write_outputs(report: &Report, outputs: &Outputs) -> Result<(), Error> {
    if let Some(path) = &outputs.json {
        let text = serde_json::to_string_pretty(&output::json(report)).expect("JSON values print");
        write_file(path, &(text + "\n"))?;
    }
    if let Some(path) = &outputs.junit {
        write_file(path, &output::junit(report))?;
    }
    if let Some(path) = &outputs.trace {
        let title: Vec<String> = report.programs.iter().map(|p| p.command()).collect();
        // No trace (the boot ended before init printed it) is worth a
        // warning; the exit status still says how the boot ended.
        let (json, svg, timeline) = match trace::write(&report.serial, path, &title.join(" + ")) {
            Ok(written) => written,
            Err(e) => {
                eprintln!("qemu: warning: no trace written: {e}");
                return Ok(());
            }
        };
        eprintln!(
            "qemu: trace of {} threads, {} door calls, {} instructions: {} and {}{}",
            timeline
                .processes
                .iter()
                .map(|p| p.threads.len())
                .sum::<usize>(),
            timeline.flows.iter().filter(|f| f.call).count(),
            timeline.end - timeline.start,
            json.display(),
            svg.display(),
            match timeline.lost {
                0 => String::new(),
                n => format!(" (the {n} oldest records were dropped)"),
            }
        );
    }
    Ok(())
}

/// One line per program and the verdict of the run, on stderr.
fn summarize(report: &Report) {
    for p in &report.programs {
        let status = p.status.map_or("-".into(), |s| s.to_string());
        let time = p
            .duration
            .map_or(String::new(), |d| format!(", {:.3} s", d.as_secs_f64()));
        eprintln!(
            "qemu: {:>3} {:<11} {} (status {status}{time})",
            p.index,
            p.verdict.as_str(),
            p.command()
        );
    }
    if let Some(path) = &report.log_file {
        eprintln!("qemu: serial log kept in {}", path.display());
    }
    eprintln!(
        "qemu: {} (exit status {})",
        report.outcome,
        report.outcome.exit_status()
    );
}
