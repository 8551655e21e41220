//! Booting QEMU: the command line, collecting the serial log (and echoing it
//! live when asked), enforcing the timeout and decoding the exit status.

use std::ffi::OsString;
use std::io;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::images::{self, Images};
use crate::ramdisk::Ramdisk;
use crate::{Error, Outcome, Report};

/// The emulator binary.
use crate::setup::QEMU;
/// How often a running QEMU is checked for having exited.
const POLL: Duration = Duration::from_millis(5);

/// What to boot and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The lines of `boot.args`: one program per line, its name first.
    pub programs: Vec<Vec<String>>,
    /// Kill QEMU after this long (`None`: wait forever).
    pub timeout: Option<Duration>,
    /// Run with `-icount shift=0`: one guest clock tick per instruction.
    pub icount: bool,
    /// Start QEMU's gdb stub on port 1234 with the CPU paused.
    pub gdb: bool,
    /// Print the serial log to the terminal as it arrives.
    pub echo: bool,
}

impl Run {
    /// Boots one program (`line[0]`) with arguments `line[1..]`; no timeout,
    /// no icount, no gdb, no echo.
    pub fn new(line: &[&str]) -> Self {
        Run {
            programs: vec![line.iter().map(|w| w.to_string()).collect()],
            timeout: None,
            icount: false,
            gdb: false,
            echo: false,
        }
    }
}

/// Builds the images (once per process), boots them and reports how the run
/// ended. An `Err` means the run could not happen; a guest that fails or
/// hangs is an `Ok` with the matching [`Outcome`].
pub fn run(config: &Run) -> Result<Report, Error> {
    crate::setup::ensure_qemu()?;
    boot(images::images()?, config)
}

/// Boots `images` with a fresh ramdisk for `config`.
fn boot(images: &Images, config: &Run) -> Result<Report, Error> {
    let ramdisk = Ramdisk::create(images, &config.programs)?;
    let args = qemu_args(images, ramdisk.path(), config)?;
    if config.gdb {
        eprintln!(
            "qemu: paused for gdb; attach with:\n    gdb {} -ex 'target remote :1234'",
            images.kernel.display()
        );
    }

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
    let serial = thread::spawn(move || collect_serial(stdout, echo));
    let errors = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });

    let status = wait(&mut child, config.timeout)
        .map_err(|e| Error::io(format!("waiting for {QEMU}"), e))?;
    let serial = serial.join().unwrap_or_default();
    let stderr = errors.join().unwrap_or_default();
    let outcome = match status {
        None => Outcome::Timeout(config.timeout.unwrap_or_default()),
        Some(status) => status
            .code()
            .and_then(Outcome::from_guest_code)
            .unwrap_or(Outcome::QemuError { status, stderr }),
    };
    Ok(Report { outcome, serial })
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
        "-m",
        "512M",
        "-smp",
        "1",
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
    Ok(args)
}

/// Reads the serial log line by line until QEMU closes it, echoing each line
/// to the terminal when `echo` is set.
fn collect_serial(stdout: impl Read, echo: bool) -> String {
    let mut reader = BufReader::new(stdout);
    let mut log = String::new();
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if echo {
            let _ = writeln!(io::stdout().lock(), "{text}");
        }
        log.push_str(text);
        log.push('\n');
        line.clear();
    }
    log
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
        }
    }

    #[test]
    fn passes_kernel_and_ramdisk_as_modules() {
        let mut config = Run::new(&["hello"]);
        config.icount = true;
        let args = qemu_args(&images("/t"), Path::new("/t/fs.img"), &config).unwrap();
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        let joined = args.join(" ");
        assert!(
            joined.contains("-kernel /t/boot -initrd /t/kernel,/t/fs.img"),
            "{joined}"
        );
        assert!(joined.ends_with("-icount shift=0,sleep=off"), "{joined}");
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
        let log = collect_serial(&b"one\r\ntwo\n\xffthree"[..], false);
        assert_eq!(log, "one\ntwo\n\u{fffd}three\n");
    }
}
