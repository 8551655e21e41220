//! Booting QEMU: the command line, collecting the serial log (echoing it
//! live when asked, with symbol lines after fault reports), enforcing the
//! timeout and decoding the exit status.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::images::{self, Images};
use crate::plan::AddFile;
use crate::ramdisk::BootFs;
use crate::symbols::{Source, Symbols};
use crate::{Error, Report};

/// The emulator binary.
use crate::setup::QEMU;
/// How often a running QEMU is checked for having exited.
const POLL: Duration = Duration::from_millis(5);
/// Guest memory unless the run says otherwise (QEMU's `-m`).
pub const DEFAULT_MEMORY: &str = "512M";

/// What to boot and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The plan: one program per line, its name first (a program of
    /// `userland/src/bin`, a file of `files`, or a prebuilt ELF named by a
    /// host path with a `/`), then its arguments.
    pub programs: Vec<Vec<String>>,
    /// Start the programs all at once instead of one after another.
    pub together: bool,
    /// Extra files for the boot file system.
    pub files: Vec<AddFile>,
    /// Boot this archive (packed elsewhere) instead of packing one; its
    /// `boot.args` is the plan, and `programs` and `files` must be empty.
    pub image: Option<PathBuf>,
    /// Kill QEMU after this long (`None`: wait forever).
    pub timeout: Option<Duration>,
    /// Run with `-icount shift=0`: one guest clock tick per instruction.
    pub icount: bool,
    /// Start QEMU's gdb stub on port 1234 with the CPU paused.
    pub gdb: bool,
    /// Print the serial log to the terminal as it arrives.
    pub echo: bool,
    /// Guest memory, as QEMU's `-m` takes it.
    pub memory: String,
    /// QEMU's `-smp` (the kernel uses the first CPU only).
    pub smp: u32,
    /// More QEMU arguments, appended to the runner's.
    pub qemu_args: Vec<String>,
    /// Keep the serial log in this directory.
    pub log_dir: Option<PathBuf>,
    /// Show the image build's progress and warnings (the first build of a
    /// process decides).
    pub show_build: bool,
}

impl Run {
    /// Boots one program (`line[0]`) with arguments `line[1..]`; no timeout,
    /// no icount, no gdb, no echo, quiet build.
    pub fn new(line: &[&str]) -> Self {
        Run {
            programs: vec![line.iter().map(|w| w.to_string()).collect()],
            together: false,
            files: Vec::new(),
            image: None,
            timeout: None,
            icount: false,
            gdb: false,
            echo: false,
            memory: DEFAULT_MEMORY.into(),
            smp: 1,
            qemu_args: Vec::new(),
            log_dir: None,
            show_build: false,
        }
    }

    /// Adds a program to the plan, to run after the others (or with them).
    pub fn then(mut self, line: &[&str]) -> Self {
        self.programs
            .push(line.iter().map(|w| w.to_string()).collect());
        self
    }

    /// Adds host file `host` to the boot file system as `guest`.
    pub fn add(mut self, host: impl Into<PathBuf>, guest: &str) -> Self {
        self.files.push(AddFile {
            host: host.into(),
            guest: guest.into(),
        });
        self
    }
}

/// Builds the images (once per process) and the boot file system of
/// `config`: what [`run`] boots, and what `--list` and `--pack` show.
pub fn boot_fs(config: &Run) -> Result<(&'static Images, BootFs), Error> {
    let images = images::images(config.show_build)?;
    let fs = match &config.image {
        Some(_) if !config.programs.is_empty() || !config.files.is_empty() => {
            return Err(Error::Config(
                "an image brings its own programs and files: name none with --image".into(),
            ));
        }
        Some(path) => BootFs::open(path)?,
        None => BootFs::for_run(images, config)?,
    };
    Ok((images, fs))
}

/// Builds the images (once per process), boots them and reports how the run
/// ended. An `Err` means the run could not happen; a guest that fails or
/// hangs is an `Ok` with the matching [`crate::Outcome`].
pub fn run(config: &Run) -> Result<Report, Error> {
    crate::setup::ensure_qemu()?;
    let (images, fs) = boot_fs(config)?;
    boot(images, &fs, config)
}

/// Where the ELF of each program of `fs` is, for symbols.
fn sources(fs: &BootFs) -> BTreeMap<String, Source> {
    fs.plan
        .iter()
        .filter_map(|line| line.first())
        .filter_map(|name| {
            let source = match fs.sources.get(name) {
                Some(path) => Source::File(path.clone()),
                None => Source::Data(fs.file(name)?.to_vec()),
            };
            Some((name.clone(), source))
        })
        .collect()
}

/// What to type to debug this boot with gdb.
fn gdb_help(images: &Images, fs: &BootFs) -> String {
    let mut text = format!(
        "qemu: paused for gdb; in another terminal run:\n    gdb -q -ex 'file {}'",
        images.kernel.display()
    );
    let first = fs.plan.first().and_then(|l| l.first());
    let user = first.and_then(|name| fs.sources.get(name));
    if let Some(path) = user {
        text.push_str(&format!(" -ex 'add-symbol-file {}'", path.display()));
    }
    text.push_str(" -ex 'target remote :1234'\n");
    text.push_str(
        "  then, for example: hbreak _start (user code needs hardware breakpoints: it is \
         not loaded yet), break kernel::panic, continue",
    );
    if user.is_some() {
        text.push_str("\n  (user programs share addresses: add the symbols of one at a time)");
    }
    text
}

/// Boots `images` with a fresh ramdisk holding `fs`.
fn boot(images: &Images, fs: &BootFs, config: &Run) -> Result<Report, Error> {
    let ramdisk = fs.write()?;
    let args = qemu_args(images, ramdisk.path(), config)?;
    if config.gdb {
        eprintln!("{}", gdb_help(images, fs));
    }

    let start = Instant::now();
    let mut child = Command::new(QEMU)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("starting {QEMU}"), e))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let echo = config.echo;
    let kernel = images.kernel.clone();
    let sources = sources(fs);
    let serial = thread::spawn(move || {
        let mut symbols = Symbols::new(kernel, sources);
        collect_serial(stdout, echo, start, |line| symbols.annotate(line))
    });
    let errors = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });

    let status = wait(&mut child, config.timeout)
        .map_err(|e| Error::io(format!("waiting for {QEMU}"), e))?;
    let (serial, times) = serial.join().unwrap_or_default();
    let stderr = errors.join().unwrap_or_default();
    let ended = status.ok_or(config.timeout.unwrap_or_default());
    let mut report = Report::new(&fs.plan, fs.together, serial, &times, ended, stderr);
    report.icount = config.icount;
    report.duration = start.elapsed();
    if let Some(dir) = &config.log_dir {
        let first = fs
            .plan
            .first()
            .and_then(|l| l.first())
            .map_or("boot", String::as_str);
        let path = crate::logs::keep(dir, &report.serial, first)
            .map_err(|e| Error::io(format!("writing a log into {}", dir.display()), e))?;
        report.log_file = Some(path);
    }
    Ok(report)
}

/// The QEMU command line: the loader as the multiboot kernel, the kernel as
/// module 0 and the ramdisk as module 1.
fn qemu_args(images: &Images, ramdisk: &Path, config: &Run) -> Result<Vec<OsString>, Error> {
    // `-initrd` separates modules with commas, so no path may contain one.
    for path in [images.boot.as_path(), images.kernel.as_path(), ramdisk] {
        if path.to_string_lossy().contains(',') {
            return Err(Error::Config(format!(
                "QEMU cannot take the path {} (it contains a comma): move the workspace",
                path.display()
            )));
        }
    }
    let mut args: Vec<OsString> = [
        "-M",
        "pc",
        "-accel",
        "tcg",
        "-cpu",
        "max",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-serial",
        "stdio",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.extend(["-m".into(), config.memory.clone().into()]);
    args.extend(["-smp".into(), config.smp.to_string().into()]);
    args.push("-kernel".into());
    args.push(images.boot.clone().into());
    args.push("-initrd".into());
    let mut modules = OsString::from(&images.kernel);
    modules.push(",");
    modules.push(ramdisk);
    args.push(modules);
    if config.icount {
        args.extend(["-icount".into(), "shift=0,sleep=off".into()]);
    }
    if config.gdb {
        args.extend(["-s".into(), "-S".into()]);
    }
    args.extend(config.qemu_args.iter().map(OsString::from));
    Ok(args)
}

/// Reads the serial log line by line until QEMU closes it, echoing each line
/// to the terminal when `echo` is set. After a line, `annotate` may add one
/// of its own (a fault report's symbol line). Returns the log and, for each
/// of its lines, when it arrived (since `start`).
fn collect_serial(
    stdout: impl Read,
    echo: bool,
    start: Instant,
    mut annotate: impl FnMut(&str) -> Option<String>,
) -> (String, Vec<Duration>) {
    let mut reader = BufReader::new(stdout);
    let mut log = String::new();
    let mut times = Vec::new();
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let at = start.elapsed();
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        let extra = annotate(text);
        for text in std::iter::once(text).chain(extra.as_deref()) {
            if echo {
                let _ = writeln!(io::stdout().lock(), "{text}");
            }
            log.push_str(text);
            log.push('\n');
            times.push(at);
        }
        line.clear();
    }
    (log, times)
}

/// Waits for QEMU to exit; after `timeout`, kills it and returns `None`.
fn wait(child: &mut Child, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
    let Some(timeout) = timeout else {
        return child.wait().map(Some);
    };
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if start.elapsed() >= timeout {
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn images(dir: &str) -> Images {
        let dir = PathBuf::from(dir);
        Images {
            kernel: dir.join("kernel"),
            boot: dir.join("boot"),
            programs: Vec::new(),
            broken: Vec::new(),
        }
    }

    #[test]
    fn passes_kernel_and_ramdisk_as_modules() {
        let mut config = Run::new(&["hello"]);
        config.icount = true;
        config.memory = "1G".into();
        config.smp = 2;
        config.qemu_args = vec!["-d".into(), "int".into()];
        let args = qemu_args(&images("/t"), Path::new("/t/fs.img"), &config).unwrap();
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        let joined = args.join(" ");
        assert!(
            joined.contains("-kernel /t/boot -initrd /t/kernel,/t/fs.img"),
            "{joined}"
        );
        assert!(joined.contains("-m 1G -smp 2 -kernel"), "{joined}");
        assert!(
            joined.ends_with("-icount shift=0,sleep=off -d int"),
            "{joined}"
        );
        assert!(!args.contains(&"-S"));
    }

    #[test]
    fn rejects_paths_with_commas() {
        let config = Run::new(&["hello"]);
        assert!(matches!(
            qemu_args(&images("/a,b"), Path::new("/fs.img"), &config),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            qemu_args(&images("/t"), Path::new("/x,y.img"), &config),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn collects_lines_without_carriage_returns() {
        let (log, times) =
            collect_serial(&b"one\r\ntwo\n\xffthree"[..], false, Instant::now(), |_| {
                None
            });
        assert_eq!(log, "one\ntwo\n\u{fffd}three\n");
        assert_eq!(times.len(), 3);
        assert!(times.is_sorted());
    }

    #[test]
    fn adds_annotations_after_their_line() {
        let (log, times) = collect_serial(&b"a\nfault\nb\n"[..], false, Instant::now(), |l| {
            (l == "fault").then(|| "qemu: rip 0x1 is f".to_string())
        });
        assert_eq!(log, "a\nfault\nqemu: rip 0x1 is f\nb\n");
        assert_eq!(times.len(), 4);
    }
}
