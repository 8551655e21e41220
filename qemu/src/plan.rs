//! What a boot runs: the programs (one line each, name or host path first),
//! whether they run together, and the extra files of the boot file system;
//! with the text forms of that plan: the command line's `+` separator, plan
//! files, and `boot.args`, the plan init reads.

use std::path::PathBuf;

use abi::BOOT_ARGS_TOGETHER;

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

/// A plan file: one program per line, words separated by white space;
/// blank lines and `#` comments are skipped; a line `@together` starts all
/// programs at once. Returns the lines and whether `@together` was there.
pub fn parse_plan(text: &str) -> Result<(Vec<Vec<String>>, bool), Error> {
    let mut together = false;
    let mut lines = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == BOOT_ARGS_TOGETHER {
            together = true;
            continue;
        }
        if line.starts_with('@') {
            return Err(Error::Config(format!(
                "unknown plan directive `{line}` (only {BOOT_ARGS_TOGETHER})"
            )));
        }
        lines.push(line.split_whitespace().map(str::to_owned).collect());
    }
    Ok((lines, together))
}

/// Renders `boot.args` for init: one program per line (guest name first),
/// words separated by single spaces, and `@together` first when asked.
/// Words must be non-empty and free of white space (init splits on it).
pub fn render_boot_args(programs: &[Vec<String>], together: bool) -> Result<String, Error> {
    if programs.is_empty() {
        return Err(Error::Config("no program to boot".into()));
    }
    let mut text = String::new();
    if together {
        text.push_str(BOOT_ARGS_TOGETHER);
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

    #[test]
    fn parses_plan_files() {
        let (lines, together) =
            parse_plan("# grading plan\n\nhello\n  exit_status 7  \n@together\n").unwrap();
        assert_eq!(lines, [line("hello"), line("exit_status 7")]);
        assert!(together);
        assert!(!parse_plan("hello\n").unwrap().1);
        assert!(parse_plan("@parallel\nhello\n").is_err());
    }

    #[test]
    fn renders_boot_args_that_parse_back() {
        let programs = [line("exit_status 42"), line("hello")];
        let text = render_boot_args(&programs, false).unwrap();
        assert_eq!(text, "exit_status 42\nhello\n");
        assert_eq!(parse_plan(&text).unwrap(), (programs.to_vec(), false));
        let text = render_boot_args(&programs, true).unwrap();
        assert_eq!(text, "@together\nexit_status 42\nhello\n");
        assert_eq!(parse_plan(&text).unwrap(), (programs.to_vec(), true));
    }

    #[test]
    fn rejects_what_init_cannot_split() {
        assert!(render_boot_args(&[], false).is_err());
        assert!(render_boot_args(&[vec![]], false).is_err());
        let two = vec!["echo".to_string(), "two words".into()];
        assert!(render_boot_args(&[two], false).is_err());
        assert!(render_boot_args(&[vec!["echo".into(), String::new()]], false).is_err());
        assert!(render_boot_args(&[line("@together")], false).is_err());
        assert!(render_boot_args(&[line("#x")], false).is_err());
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
