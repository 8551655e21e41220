//! The command line of `cargo run`, parsed into a [`Command`].

use std::path::PathBuf;
use std::time::Duration;

use crate::plan::{self, AddFile, TraceOptions};
use crate::{Error, Run};
use abi::trace::MAX_RECORDS;

/// What `cargo run -- --help` prints.
pub const USAGE: &str = "\
usage: cargo run -- [OPTIONS] [PROGRAM [ARGS...] [+ PROGRAM [ARGS...]]...]
       cargo run -- [OPTIONS] --plan FILE
       cargo run -- [OPTIONS] --image ARCHIVE
       cargo run -- [OPTIONS] bench [--linux]

Builds the kernel, the loader and the user programs, packs them with the
files you add into the boot file system (a ustar archive), and boots QEMU
with init running the programs (default: demo), one after another. The
serial console is shown as it arrives, with one RESULT line per program;
the exit status says how the run ended (see the README's table).

PROGRAM is a program of userland/src/bin (by name), a file added with --add
(by its guest path), or a prebuilt static ELF on the host (a path with a
`/`, such as ./prog.elf; it is added under its file name).

programs and files:
  --add HOST[:GUEST]  put host file HOST into the boot file system as GUEST
                      (default: its file name); repeatable
  --plan FILE         read the programs from FILE: one per line, `#` comments,
                      a line `@together` to start them all at once
  --together          start all programs at once (default: one after another)
  --image ARCHIVE     boot this ustar archive as the boot file system (it holds
                      init, the programs and boot.args, the plan)
  --list              list the boot file system and exit
  --pack FILE         write the boot file system to FILE and exit

results:
  --trace FILE        have the kernel record events (door calls and returns,
                      invocations, waits, pools, switches, ...) and write them
                      as FILE.json (Chrome trace events: Perfetto,
                      chrome://tracing) and FILE.svg (a timeline)
  --trace-syscalls    record every system call too (with --trace)
  --trace-records N   the kernel's ring of records holds N (default 65536;
                      the oldest are dropped when it is full)
  --report FILE       write the results as JSON (schema doors-run/1)
  --junit FILE        write the results as JUnit XML
  --log-dir DIR       keep the serial log in DIR
  -q, --quiet         do not show the serial console or the build output

machine:
  --timeout SECS      kill QEMU after SECS seconds (default 600; 0 = never)
  --memory SIZE       guest memory, as QEMU's -m (default 256M)
  --smp N             QEMU's -smp (the kernel uses one CPU)
  --qemu-arg ARG      pass ARG to QEMU; repeatable (--qemu-arg=-d ...)
  --icount            run with -icount shift=0 (one clock tick per instruction)
  --gdb               start QEMU's gdb stub on :1234, paused (no default
                      timeout), and print the gdb commands to attach
  -h, --help          show this help

bench:
  boots the `bench` program, then the C one (`c_bench`), under -icount and
  prints their BENCH lines as a table, with the 16, 64 and 256-byte round
  trips over the null one, seL4's null round trip (seL4 13.0.0 under the
  same emulator) and the ratio; with --linux, also runs
  ../shared/bench/linux-ipc-baseline.sh and adds its results as `linux ...`
  rows.

profile [SIZE] [--listing FILE]:
  boots `door_profile SIZE` (a client calling a server in another process
  with SIZE bytes of arguments and results, default 0: the null call) with
  QEMU logging every instruction, and prints where the instructions of one
  round trip go, by part of the path (from the kernel's and the program's
  DWARF); --listing writes each instruction with its source line to FILE.";

/// The program `cargo run` boots when none is named.
pub const DEFAULT_PROGRAM: &str = "demo";
/// The program `cargo run -- bench` boots.
pub const BENCH_PROGRAM: &str = "bench";
/// The C benchmark `cargo run -- bench` boots after [`BENCH_PROGRAM`] (its
/// rows show what libdoor costs beside the Rust library).
pub const C_BENCH_PROGRAM: &str = "c_bench";
/// The word that asks for a profile of a door round trip
/// ([`crate::profile`]).
pub const PROFILE_COMMAND: &str = "profile";
/// How long a CLI run may take unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Where to write the results of a boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `--report FILE`: JSON.
    pub json: Option<PathBuf>,
    /// `--junit FILE`: JUnit XML.
    pub junit: Option<PathBuf>,
    /// `--trace FILE`: the kernel trace, as FILE.json and FILE.svg.
    pub trace: Option<PathBuf>,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// Boot and show the serial console.
    Boot(Run, Outputs),
    /// List the boot file system.
    List(Run),
    /// Write the boot file system to a file.
    Pack(Run, PathBuf),
    /// Boot the benchmark program; with `linux`, add the Linux baseline.
    Bench { run: Run, linux: bool },
    /// Profile one door round trip with `size` bytes of arguments and
    /// results; write the instruction listing to `listing` if given.
    Profile {
        run: Run,
        size: u64,
        listing: Option<PathBuf>,
    },
}

fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, Error> {
    value
        .parse()
        .map_err(|_| Error::Config(format!("{option}: `{value}` is not a number")))
}

/// Parses the arguments after `cargo run --` (without the program name).
/// Options come first; the first word that is not one starts the programs.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, Error> {
    let mut args = args.into_iter().peekable();
    let mut run = Run::new(&[]);
    run.programs.clear();
    run.echo = true;
    run.show_build = true;
    let (mut timeout, mut plan_file, mut outputs) = (None, None, Outputs::default());
    let (mut list, mut pack) = (false, None);
    let mut trace = TraceOptions::default();
    while let Some(word) = args.next_if(|a| a.starts_with('-')) {
        let (option, inline) = match word.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o.to_owned(), Some(v.to_owned())),
            _ => (word.clone(), None),
        };
        let mut value = || -> Result<String, Error> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| Error::Config(format!("{option} needs a value")))
        };
        match option.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--gdb" => run.gdb = true,
            "--icount" => run.icount = true,
            "--together" => run.together = true,
            "--list" => list = true,
            "-q" | "--quiet" => (run.echo, run.show_build) = (false, false),
            "--timeout" => timeout = Some(number::<u64>(&option, &value()?)?),
            "--add" => run.files.push(AddFile::parse(&value()?)?),
            "--plan" => plan_file = Some(PathBuf::from(value()?)),
            "--image" => run.image = Some(PathBuf::from(value()?)),
            "--pack" => pack = Some(PathBuf::from(value()?)),
            "--report" => outputs.json = Some(PathBuf::from(value()?)),
            "--junit" => outputs.junit = Some(PathBuf::from(value()?)),
            "--trace" => outputs.trace = Some(PathBuf::from(value()?)),
            "--trace-syscalls" => trace.syscalls = true,
            "--trace-records" => {
                let n = value()?;
                match n.parse() {
                    Ok(records) if (1..=MAX_RECORDS).contains(&records) => {
                        trace.records = Some(records)
                    }
                    _ => return Err(plan::bad_records(&n)),
                }
            }
            "--log-dir" => run.log_dir = Some(PathBuf::from(value()?)),
            "--memory" | "-m" => run.memory = value()?,
            "--smp" => run.smp = number(&option, &value()?)?,
            "--qemu-arg" => run.qemu_args.push(value()?),
            "--" => break,
            other => return Err(Error::Config(format!("unknown option `{other}`"))),
        }
    }
    if outputs.trace.is_some() {
        run.trace = Some(trace);
    } else if trace != TraceOptions::default() {
        return Err(Error::Config(
            "--trace-syscalls and --trace-records go with --trace FILE".into(),
        ));
    }
    run.timeout = match timeout {
        Some(0) => None,
        Some(secs) => Some(Duration::from_secs(secs)),
        // A debugging session lasts as long as it lasts.
        None if run.gdb => None,
        None => Some(DEFAULT_TIMEOUT),
    };
    let words: Vec<String> = args.collect();
    if let Some(path) = plan_file {
        if !words.is_empty() || run.image.is_some() {
            return Err(Error::Config(
                "--plan names the programs: name none on the command line or with --image".into(),
            ));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let plan = plan::parse_plan(&text)?;
        if plan.programs.is_empty() {
            return Err(Error::Config(format!(
                "{} names no program",
                path.display()
            )));
        }
        run.programs = plan.programs;
        run.together |= plan.together;
        run.trace = run.trace.or(plan.trace);
    } else if words.first().is_some_and(|w| w == BENCH_PROGRAM) {
        let linux = match &words[1..] {
            [] => false,
            [flag] if flag == "--linux" => true,
            rest => {
                return Err(Error::Config(format!(
                    "bench takes only --linux, not `{}`",
                    rest.join(" ")
                )));
            }
        };
        if run.trace.is_some() {
            return Err(Error::Config(
                "bench measures untraced: --trace goes with a boot".into(),
            ));
        }
        run.icount = true;
        run.programs = vec![vec![BENCH_PROGRAM.into()], vec![C_BENCH_PROGRAM.into()]];
        return Ok(Command::Bench { run, linux });
    } else if words.first().is_some_and(|w| w == PROFILE_COMMAND) {
        if run.trace.is_some() {
            return Err(Error::Config(
                "profile counts untraced: --trace goes with a boot".into(),
            ));
        }
        let (mut size, mut listing) = (0, None);
        let mut rest = words[1..].iter();
        while let Some(word) = rest.next() {
            match word.as_str() {
                "--listing" => match rest.next() {
                    Some(file) => listing = Some(PathBuf::from(file)),
                    None => return Err(Error::Config("--listing needs a value".into())),
                },
                n => size = number("profile SIZE", n)?,
            }
        }
        return Ok(Command::Profile { run, size, listing });
    } else if !words.is_empty() {
        run.programs = plan::split_programs(&words)?;
    } else if run.image.is_none() {
        run.programs = vec![vec![DEFAULT_PROGRAM.into()]];
    }
    Ok(match (list, pack) {
        (true, Some(_)) => return Err(Error::Config("--list or --pack, not both".into())),
        (true, None) => Command::List(run),
        (false, Some(file)) => Command::Pack(run, file),
        (false, None) => Command::Boot(run, outputs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse_str(line: &str) -> Result<Command, Error> {
        parse(line.split_whitespace().map(String::from))
    }

    fn boot(line: &str) -> Run {
        match parse_str(line) {
            Ok(Command::Boot(run, _)) => run,
            other => panic!("`{line}` parsed as {other:?}"),
        }
    }

    #[test]
    fn no_arguments_boot_the_demo() {
        let run = boot("");
        assert_eq!(run.programs, [["demo"]]);
        assert_eq!(run.timeout, Some(DEFAULT_TIMEOUT));
        assert!(run.echo && run.show_build && !run.gdb && !run.icount && !run.together);
        assert_eq!((run.memory.as_str(), run.smp), (crate::DEFAULT_MEMORY, 1));
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
    fn several_programs() {
        let run = boot("--together hello + ./out/prog.elf a b + exit_status 7");
        assert_eq!(
            run.programs,
            [
                vec!["hello"],
                vec!["./out/prog.elf", "a", "b"],
                vec!["exit_status", "7"]
            ]
        );
        assert!(run.together);
        assert!(parse_str("hello +").is_err());
    }

    #[test]
    fn plan_files() {
        let path = std::env::temp_dir().join(format!("qemu-cli-plan-{}", std::process::id()));
        std::fs::write(&path, "# plan\nhello\n@together\nexit_status 7\n").unwrap();
        let run = boot(&format!("--plan {}", path.display()));
        assert_eq!(run.programs, [vec!["hello"], vec!["exit_status", "7"]]);
        assert!(run.together);
        assert!(parse_str(&format!("--plan {} hello", path.display())).is_err());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            parse_str("--plan /nonexistent/plan"),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn files_outputs_and_machine_options() {
        let line = "--add /tmp/in.txt:data/in.txt --add b.bin --report r.json --junit=j.xml \
                    --log-dir logs --memory 512M --smp 2 --qemu-arg -d --qemu-arg=int -q hello";
        let Ok(Command::Boot(run, outputs)) = parse_str(line) else {
            panic!("{line}");
        };
        assert_eq!(
            run.files,
            [
                AddFile {
                    host: "/tmp/in.txt".into(),
                    guest: "data/in.txt".into()
                },
                AddFile {
                    host: "b.bin".into(),
                    guest: "b.bin".into()
                }
            ]
        );
        assert_eq!(outputs.json, Some("r.json".into()));
        assert_eq!(outputs.junit, Some("j.xml".into()));
        assert_eq!(run.log_dir, Some("logs".into()));
        assert_eq!((run.memory.as_str(), run.smp), ("512M", 2));
        assert_eq!(run.qemu_args, ["-d", "int"]);
        assert!(!run.echo && !run.show_build);
        assert!(parse_str("--smp two hello").is_err());
        assert!(parse_str("--add x: hello").is_err());
    }

    #[test]
    fn images_list_and_pack() {
        let Ok(Command::Boot(run, _)) = parse_str("--image grader.tar") else {
            panic!("--image");
        };
        assert_eq!(run.image, Some("grader.tar".into()));
        assert!(run.programs.is_empty());
        assert!(
            matches!(parse_str("--list hello + fault"), Ok(Command::List(r)) if r.programs.len() == 2)
        );
        assert!(
            matches!(parse_str("--pack out.tar hello"), Ok(Command::Pack(_, p)) if p == Path::new("out.tar"))
        );
        assert!(parse_str("--list --pack x hello").is_err());
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
                assert_eq!(run.programs, [["bench"], ["c_bench"]]);
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
    fn profile_takes_a_size_and_a_listing() {
        match parse_str("--timeout 30 profile 256 --listing out.txt") {
            Ok(Command::Profile { run, size, listing }) => {
                assert_eq!((size, listing), (256, Some("out.txt".into())));
                assert_eq!(run.timeout, Some(Duration::from_secs(30)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_str("profile"),
            Ok(Command::Profile {
                size: 0,
                listing: None,
                ..
            })
        ));
        assert!(parse_str("profile big").is_err());
        assert!(parse_str("profile --listing").is_err());
        assert!(parse_str("--trace t profile").is_err());
    }

    #[test]
    fn trace_options() {
        let Ok(Command::Boot(run, outputs)) =
            parse_str("--trace out/t --trace-syscalls --trace-records 4096 door_hello")
        else {
            panic!("--trace");
        };
        assert_eq!(outputs.trace, Some("out/t".into()));
        assert_eq!(
            run.trace,
            Some(TraceOptions {
                syscalls: true,
                records: Some(4096)
            })
        );
        assert_eq!(boot("hello").trace, None);
        assert_eq!(boot("--trace t hello").trace, Some(TraceOptions::default()));
        assert!(parse_str("--trace-syscalls hello").is_err());
        assert!(parse_str("--trace t bench").is_err());
        assert!(parse_str("--trace t --trace-records 0 hello").is_err());
        assert!(parse_str("--trace t --trace-records lots hello").is_err());
    }

    #[test]
    fn bad_options() {
        assert_eq!(parse_str("--help hello"), Ok(Command::Help));
        assert!(parse_str("--timeout").is_err());
        assert!(parse_str("--timeout soon hello").is_err());
        assert!(parse_str("--verbose").is_err());
    }
}
