//! Installing what a run needs on a fresh machine: the bare-metal Rust
//! target (through rustup) and QEMU (through apt, when running as root).
//! When an install is not possible, the error names the exact command.

use crate::error::Error;
use std::env;
use std::path::Path;
use std::process::{Command, Stdio};

/// The Rust target the kernel, loader and user programs are built for.
pub const TARGET: &str = "x86_64-unknown-none";
/// The emulator binary.
pub const QEMU: &str = "qemu-system-x86_64";

fn on_path(program: &str) -> bool {
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
/// run` and `cargo test`) has the bare-metal target's libraries: a look at
/// its sysroot, quicker than asking rustup.
fn target_in_sysroot() -> bool {
    let Some(cargo) = env::var_os("CARGO") else {
        return false;
    };
    let sysroot = Path::new(&cargo).parent().and_then(Path::parent);
    sysroot.is_some_and(|root| root.join("lib/rustlib").join(TARGET).join("lib").is_dir())
}

/// Adds the bare-metal target with rustup when it is missing.
pub fn ensure_target() -> Result<(), Error> {
    if target_in_sysroot() {
        return Ok(());
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == TARGET)
        });
    match installed {
        Ok(true) => Ok(()),
        Ok(false) => {
            eprintln!("qemu: installing the {TARGET} target (rustup target add {TARGET})");
            if quiet(Command::new("rustup").args(["target", "add", TARGET])) {
                Ok(())
            } else {
                Err(Error::Setup(format!(
                    "could not add the {TARGET} target; run: rustup target add {TARGET}"
                )))
            }
        }
        // No rustup: the build itself reports a missing target, if it is.
        Err(_) => Ok(()),
    }
}

/// Installs QEMU from Debian's packages when it is missing and this process
/// may (root with apt-get); otherwise fails with the command to run.
pub fn ensure_qemu() -> Result<(), Error> {
    if on_path(QEMU) {
        return Ok(());
    }
    let fix = "apt-get update && apt-get install -y qemu-system-x86 (as root)";
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root || !on_path("apt-get") {
        return Err(Error::Setup(format!(
            "{QEMU} not found; install it with: {fix}"
        )));
    }
    eprintln!("qemu: installing QEMU (apt-get install qemu-system-x86)");
    let ok = quiet(Command::new("apt-get").args(["update", "-q"]))
        && quiet(
            Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "-q",
                    "--no-install-recommends",
                    "qemu-system-x86",
                ])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        );
    if ok && on_path(QEMU) {
        Ok(())
    } else {
        Err(Error::Setup(format!("installing QEMU failed; run: {fix}")))
    }
}
