//! What a boot runs: the programs (one line each, name or host path first),
//! whether they run together, whether the kernel traces them, and the extra
//! files of the boot file system; with the text forms of that plan: the
//! command line's `+` separator, plan files, and `boot.args`, the plan init
//! reads.

use std::path::PathBuf;

use abi::BOOT_ARGS_TOGETHER;
use abi::trace::{BOOT_ARGS_RECORDS, BOOT_ARGS_SYSCALLS, BOOT_ARGS_TRACE, MAX_RECORDS};

use crate::Error;

/// The command-line word that separates two programs.
pub const SEPARATOR: &str = "+";

/// A host file to put into the boot file system (`--add HOST[:GUEST]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddFile {
    pub host: PathBuf,
    /// Its name in the boot file system (the archive member name).
    pub guest: String,
}

impl AddFile {
    /// Parses `HOST[:GUEST]`; without `:GUEST` the guest name is the host
    /// file's name. The guest name is checked by [`check_guest_name`].
    pub fn parse(spec: &str) -> Result<AddFile, Error> {
        let (host, guest) = match spec.rsplit_once(':') {
            Some((host, guest)) if !host.is_empty() => (host, guest.to_owned()),
            _ => (spec, file_name(spec)?),
        };
        check_guest_name(&guest)?;
        Ok(AddFile {
            host: host.into(),
            guest,
        })
    }
}

/// The file name of host path `path`, as a guest name.
pub fn file_name(path: &str) -> Result<String, Error> {
    PathBuf::from(path)
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Error::Config(format!("`{path}` does not name a file")))
}

/// A guest name must be what the kernel's archive reader accepts (a
/// relative path without empty, `.` or `..` parts, at most
/// `kernel::bootfs::NAME_MAX` bytes) and what init can split (no white
/// space); it must not start with `@` or `#`, which `boot.args` reserves.
pub fn check_guest_name(name: &str) -> Result<(), Error> {
    let bad_part = name
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..");
    let bad_char = name.contains(|c: char| c.is_whitespace() || c == '\0');
    if bad_part || bad_char || name.starts_with(['@', '#']) || name.len() > kernel::bootfs::NAME_MAX
    {
        return Err(Error::Config(format!(
            "`{name}` cannot be a boot file system name (a relative path without \
             empty, `.` or `..` parts, white space, or a leading `@` or `#`)"
        )));
    }
    Ok(())
}

/// Splits the program words of the command line at [`SEPARATOR`] into one
/// line per program. An empty line (a leading, trailing or doubled `+`) is
/// an error.
pub fn split_programs(words: &[String]) -> Result<Vec<Vec<String>>, Error> {
    let lines: Vec<Vec<String>> = words
        .split(|w| w == SEPARATOR)
        .map(<[String]>::to_vec)
        .collect();
    if lines.iter().any(Vec::is_empty) {
        return Err(Error::Config(format!(
            "`{SEPARATOR}` separates programs: one must stand on each side"
        )));
    }
    Ok(lines)
}

/// What the kernel records of a run (`--trace`): the `@trace` line of
/// `boot.args` (see `abi::trace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceOptions {
    /// Every system call too.
    pub syscalls: bool,
    /// The size of the kernel's ring of records (its default when `None`).
    pub records: Option<u64>,
}

impl TraceOptions {
    /// The `@trace` line.
    pub fn line(&self) -> String {
        let mut line = String::from(BOOT_ARGS_TRACE);
        if self.syscalls {
            line = format!("{line} {BOOT_ARGS_SYSCALLS}");
        }
        if let Some(n) = self.records {
            line = format!("{line} {BOOT_ARGS_RECORDS}{n}");
        }
        line
    }

    /// Reads an `@trace` line (`None` if it is not one).
    pub fn parse(line: &str) -> Option<Result<TraceOptions, Error>> {
        let mut words = line.split_whitespace();
        if words.next() != Some(BOOT_ARGS_TRACE) {
            return None;
        }
        let mut options = TraceOptions::default();
        for word in words {
            match word.strip_prefix(BOOT_ARGS_RECORDS) {
                None if word == BOOT_ARGS_SYSCALLS => options.syscalls = true,
                Some(n) => match n.parse() {
                    Ok(n) if (1..=MAX_RECORDS).contains(&n) => options.records = Some(n),
                    _ => return Some(Err(bad_records(n))),
                },
                None => {
                    return Some(Err(Error::Config(format!(
                        "unknown {BOOT_ARGS_TRACE} option `{word}` (only \
                         {BOOT_ARGS_SYSCALLS} and {BOOT_ARGS_RECORDS}N)"
                    ))));
                }
            }
        }
        Some(Ok(options))
    }
}

/// The error for a ring size that is not one.
pub fn bad_records(n: &str) -> Error {
    Error::Config(format!(
        "`{n}` is not a number of trace records (1 to {MAX_RECORDS})"
    ))
}

/// A plan: the programs, one line each (name first), and how they run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub programs: Vec<Vec<String>>,
    /// The programs start all at once.
    pub together: bool,
    /// The kernel traces the run.
    pub trace: Option<TraceOptions>,
}

/// A plan file: one program per line, words separated by white space;
/// blank lines and `#` comments are skipped; a line `@together` starts all
/// programs at once, and a line `@trace ...` has the kernel trace them.
pub fn parse_plan(text: &str) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == BOOT_ARGS_TOGETHER {
            plan.together = true;
            continue;
        }
        if let Some(trace) = TraceOptions::parse(line) {
            plan.trace = Some(trace?);
            continue;
        }
        if line.starts_with('@') {
            return Err(Error::Config(format!(
                "unknown plan directive `{line}` (only {BOOT_ARGS_TOGETHER} and \
                 {BOOT_ARGS_TRACE})"
            )));
        }
        plan.programs
            .push(line.split_whitespace().map(str::to_owned).collect());
    }
    Ok(plan)
}

/// Renders `boot.args` for init: one program per line (guest name first),
/// words separated by single spaces, with `@together` and the `@trace` line
/// first when asked. Words must be non-empty and free of white space (init
/// splits on it).
pub fn render_boot_args(plan: &Plan) -> Result<String, Error> {
    let Plan {
        programs,
        together,
        trace,
    } = plan;
    if programs.is_empty() {
        return Err(Error::Config("no program to boot".into()));
    }
    let mut text = String::new();
    if *together {
        text.push_str(BOOT_ARGS_TOGETHER);
        text.push('\n');
    }
    if let Some(trace) = trace {
        text.push_str(&trace.line());
        text.push('\n');
    }
    for line in programs {
        let Some(name) = line.first() else {
            return Err(Error::Config("empty program line".into()));
        };
        check_guest_name(name)?;
        if let Some(bad) = line
            .iter()
            .find(|w| w.is_empty() || w.contains(|c: char| c.is_whitespace() || c == '\0'))
        {
            return Err(Error::Config(format!(
                "argument {bad:?} of `{name}` is empty or contains white space"
            )));
        }
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    fn line(text: &str) -> Vec<String> {
        words(text)
    }

    #[test]
    fn splits_programs_at_plus() {
        assert_eq!(
            split_programs(&words("hello + exit_status 7 + ./a.elf x")).unwrap(),
            [line("hello"), line("exit_status 7"), line("./a.elf x")]
        );
        assert_eq!(split_programs(&words("hello")).unwrap(), [line("hello")]);
        for bad in ["+ hello", "hello +", "a + + b", "+"] {
            assert!(split_programs(&words(bad)).is_err(), "{bad}");
        }
    }

    fn plan(programs: &[Vec<String>], together: bool, trace: Option<TraceOptions>) -> Plan {
        Plan {
            programs: programs.to_vec(),
            together,
            trace,
        }
    }

    #[test]
    fn parses_plan_files() {
        let parsed = parse_plan("# grading plan\n\nhello\n  exit_status 7  \n@together\n").unwrap();
        assert_eq!(parsed.programs, [line("hello"), line("exit_status 7")]);
        assert!(parsed.together && parsed.trace.is_none());
        assert!(!parse_plan("hello\n").unwrap().together);
        assert!(parse_plan("@parallel\nhello\n").is_err());
        let traced = parse_plan("@trace records=100 syscalls\nhello\n").unwrap();
        assert_eq!(
            traced.trace,
            Some(TraceOptions {
                syscalls: true,
                records: Some(100)
            })
        );
        assert_eq!(
            parse_plan("@trace\nhello\n").unwrap().trace,
            Some(TraceOptions::default())
        );
        for bad in [
            "@trace records=0",
            "@trace records=x",
            "@trace loud",
            "@tracer",
        ] {
            assert!(parse_plan(&format!("{bad}\nhello\n")).is_err(), "{bad}");
        }
    }

    #[test]
    fn renders_boot_args_that_parse_back() {
        let programs = [line("exit_status 42"), line("hello")];
        let text = render_boot_args(&plan(&programs, false, None)).unwrap();
        assert_eq!(text, "exit_status 42\nhello\n");
        assert_eq!(parse_plan(&text).unwrap(), plan(&programs, false, None));
        let text = render_boot_args(&plan(&programs, true, None)).unwrap();
        assert_eq!(text, "@together\nexit_status 42\nhello\n");
        assert_eq!(parse_plan(&text).unwrap(), plan(&programs, true, None));
        let trace = Some(TraceOptions {
            syscalls: true,
            records: Some(4096),
        });
        let text = render_boot_args(&plan(&programs, false, trace)).unwrap();
        assert_eq!(
            text,
            "@trace syscalls records=4096\nexit_status 42\nhello\n"
        );
        assert_eq!(parse_plan(&text).unwrap(), plan(&programs, false, trace));
    }

    #[test]
    fn rejects_what_init_cannot_split() {
        let render = |programs: &[Vec<String>]| render_boot_args(&plan(programs, false, None));
        assert!(render(&[]).is_err());
        assert!(render(&[vec![]]).is_err());
        let two = vec!["echo".to_string(), "two words".into()];
        assert!(render(&[two]).is_err());
        assert!(render(&[vec!["echo".into(), String::new()]]).is_err());
        assert!(render(&[line("@together")]).is_err());
        assert!(render(&[line("#x")]).is_err());
    }

    #[test]
    fn parses_add_specs() {
        let add = AddFile::parse("/tmp/in.txt").unwrap();
        assert_eq!(
            (add.host, add.guest),
            ("/tmp/in.txt".into(), "in.txt".into())
        );
        let add = AddFile::parse("data/in.txt:input/a.txt").unwrap();
        assert_eq!(
            (add.host, add.guest),
            ("data/in.txt".into(), "input/a.txt".into())
        );
        for bad in ["x:/abs", "x:a/../b", "x:", "x:a b", "x:@x", "/", "x:a//b"] {
            assert!(AddFile::parse(bad).is_err(), "{bad}");
        }
    }
}
