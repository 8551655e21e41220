//! Installing what a run needs on a fresh machine: the Rust targets
//! (through rustup), QEMU and the musl C toolchain (through apt, when
//! running as root). When an install is not possible, the error names the
//! exact command.

use crate::error::Error;
use std::env;
use std::path::Path;
use std::process::{Command, Stdio};

/// The Rust target the kernel, loader and native user programs are built for.
pub const TARGET: &str = "x86_64-unknown-none";
/// The Rust target of the programs with std (they run on the kernel's Linux
/// personality, as static musl binaries).
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// The emulator binary.
pub const QEMU: &str = "qemu-system-x86_64";
/// The C compiler of the C programs (Debian's `musl-tools`).
pub const MUSL_GCC: &str = "musl-gcc";

/// Whether `program` is an executable file on `PATH`.
pub fn on_path(program: &str) -> bool {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path).any(|dir| dir.join(program).is_file())
}

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the toolchain of the cargo running us (`CARGO`, set by `cargo
/// run` and `cargo test`) has `target`'s libraries: a look at its sysroot,
/// quicker than asking rustup.
fn target_in_sysroot(target: &str) -> bool {
    let Some(cargo) = env::var_os("CARGO") else {
        return false;
    };
    let sysroot = Path::new(&cargo).parent().and_then(Path::parent);
    sysroot.is_some_and(|root| root.join("lib/rustlib").join(target).join("lib").is_dir())
}

/// Adds the Rust targets the images need with rustup when they are missing.
pub fn ensure_targets() -> Result<(), Error> {
    if [TARGET, MUSL_TARGET].iter().all(|t| target_in_sysroot(t)) {
        return Ok(());
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    // No rustup: the build itself reports a missing target, if it is.
    let Ok(installed) = installed else {
        return Ok(());
    };
    for target in [TARGET, MUSL_TARGET] {
        if installed.lines().any(|l| l.trim() == target) {
            continue;
        }
        eprintln!("qemu: installing the {target} target (rustup target add {target})");
        if !quiet(Command::new("rustup").args(["target", "add", target])) {
            return Err(Error::Setup(format!(
                "could not add the {target} target; run: rustup target add {target}"
            )));
        }
    }
    Ok(())
}

/// Installs Debian package `package` (which provides `program`) when
/// `program` is missing and this process may (root with apt-get);
/// otherwise fails with the command to run.
fn ensure_package(program: &str, package: &str, what: &str) -> Result<(), Error> {
    if on_path(program) {
        return Ok(());
    }
    let fix = format!("apt-get update && apt-get install -y {package} (as root)");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root || !on_path("apt-get") {
        return Err(Error::Setup(format!(
            "{program} not found; install it with: {fix}"
        )));
    }
    eprintln!("qemu: installing {what} (apt-get install {package})");
    let ok = quiet(Command::new("apt-get").args(["update", "-q"]))
        && quiet(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends", package])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        );
    if ok && on_path(program) {
        Ok(())
    } else {
        Err(Error::Setup(format!(
            "installing {what} failed; run: {fix}"
        )))
    }
}

/// Installs QEMU from Debian's packages when it is missing and this process
/// may; otherwise fails with the command to run.
pub fn ensure_qemu() -> Result<(), Error> {
    ensure_package(QEMU, "qemu-system-x86", "QEMU")
}

/// Installs the musl C toolchain (`musl-gcc`) from Debian's packages when it
/// is missing and this process may; otherwise fails with the command to run.
pub fn ensure_musl() -> Result<(), Error> {
    ensure_package(MUSL_GCC, "musl-tools", "the musl C toolchain")
}
