//! The command line of `cargo run`, parsed into a [`Command`].

use std::time::Duration;

use crate::Run;

/// What `cargo run -- --help` prints.
pub const USAGE: &str = "\
usage: cargo run [-- [OPTIONS] [PROGRAM [ARGS...]]]
       cargo run -- [OPTIONS] bench [--linux]

Builds the kernel, the loader and the user programs, then boots them in QEMU
with PROGRAM (default: demo) as the program init runs. The serial console is
shown as it arrives; the exit status is 0 when the program succeeded.

options:
  --gdb           start QEMU's gdb stub on :1234, paused (no default timeout)
  --icount        run with -icount shift=0 (one clock tick per instruction)
  --timeout SECS  kill QEMU after SECS seconds (default 600; 0 = never)
  -h, --help      show this help

bench:
  boots the `bench` program under -icount and prints its BENCH lines as a
  table; with --linux, also runs ../shared/bench/linux-ipc-baseline.sh and
  adds its results as `linux ...` rows.";

/// The program `cargo run` boots when none is named.
pub const DEFAULT_PROGRAM: &str = "demo";
/// The program `cargo run -- bench` boots.
pub const BENCH_PROGRAM: &str = "bench";
/// How long a CLI run may take unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// Boot and show the serial console.
    Boot(Run),
    /// Boot the benchmark program; with `linux`, add the Linux baseline.
    Bench { run: Run, linux: bool },
}

/// Parses the arguments after `cargo run --` (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    let (mut gdb, mut icount, mut timeout) = (false, false, None);
    while let Some(flag) = args.next_if(|a| a.starts_with('-')) {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--gdb" => gdb = true,
            "--icount" => icount = true,
            "--timeout" => {
                let secs = args.next().ok_or("--timeout needs a number of seconds")?;
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("--timeout: `{secs}` is not a number of seconds"))?;
                timeout = Some(secs);
            }
            "--" => break,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let timeout = match timeout {
        Some(0) => None,
        Some(secs) => Some(Duration::from_secs(secs)),
        // A debugging session lasts as long as it lasts.
        None if gdb => None,
        None => Some(DEFAULT_TIMEOUT),
    };
    let mut line: Vec<String> = args.collect();
    if line.is_empty() {
        line.push(DEFAULT_PROGRAM.into());
    }
    let mut run = Run {
        programs: Vec::new(),
        timeout,
        icount,
        gdb,
        echo: true,
    };
    if line[0] == BENCH_PROGRAM {
        let linux = match &line[1..] {
            [] => false,
            [flag] if flag == "--linux" => true,
            rest => {
                return Err(format!(
                    "bench takes only --linux, not `{}`",
                    rest.join(" ")
                ));
            }
        };
        run.icount = true;
        run.programs = vec![vec![BENCH_PROGRAM.into()]];
        return Ok(Command::Bench { run, linux });
    }
    run.programs = vec![line];
    Ok(Command::Boot(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Command, String> {
        parse(line.split_whitespace().map(String::from))
    }

    fn boot(line: &str) -> Run {
        match parse_str(line) {
            Ok(Command::Boot(run)) => run,
            other => panic!("`{line}` parsed as {other:?}"),
        }
    }

    #[test]
    fn no_arguments_boot_the_demo() {
        let run = boot("");
        assert_eq!(run.programs, [["demo"]]);
        assert_eq!(run.timeout, Some(DEFAULT_TIMEOUT));
        assert!(run.echo && !run.gdb && !run.icount);
    }

    #[test]
    fn program_arguments_are_not_options() {
        let run = boot("--icount --timeout 5 exit_status 42 --gdb");
        assert_eq!(run.programs, [["exit_status", "42", "--gdb"]]);
        assert_eq!(run.timeout, Some(Duration::from_secs(5)));
        assert!(run.icount && !run.gdb);
        assert_eq!(boot("-- --odd").programs, [["--odd"]]);
    }

    #[test]
    fn gdb_has_no_default_timeout() {
        let run = boot("--gdb hello");
        assert!(run.gdb);
        assert_eq!(run.timeout, None);
        assert_eq!(
            boot("--gdb --timeout 9 hello").timeout,
            Some(Duration::from_secs(9))
        );
        assert_eq!(boot("--timeout 0 hello").timeout, None);
    }

    #[test]
    fn bench_forces_icount() {
        match parse_str("bench --linux") {
            Ok(Command::Bench { run, linux }) => {
                assert!(linux && run.icount);
                assert_eq!(run.programs, [["bench"]]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_str("bench"),
            Ok(Command::Bench { linux: false, .. })
        ));
        assert!(parse_str("bench --fast").is_err());
    }

    #[test]
    fn bad_options() {
        assert_eq!(parse_str("--help hello"), Ok(Command::Help));
        assert!(parse_str("--timeout").is_err());
        assert!(parse_str("--timeout soon hello").is_err());
        assert!(parse_str("--verbose").is_err());
    }
}
