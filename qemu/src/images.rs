//! Building the bare-metal images with cargo: the kernel, the multiboot
//! loader (`boot`) and every user program of `userland/src/bin`.
//!
//! The bare-metal crates are built by a nested `cargo build` with an explicit
//! `--target` and their own target directories under `target/bare/`, so they
//! neither share flags with the host crates nor wait for the lock of the
//! `cargo test` that may be running us.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::{env, fs, io};

use crate::Error;

/// The target all bare-metal crates are built for.
pub use crate::setup::TARGET;
/// The cargo profile of the images (defined in the workspace `Cargo.toml`).
const PROFILE: &str = "image";

/// A user program: its name in the boot file system and its ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    pub elf: PathBuf,
}

/// Everything a boot needs, built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// The kernel ELF (multiboot module 0).
    pub kernel: PathBuf,
    /// The multiboot loader ELF (QEMU's `-kernel`).
    pub boot: PathBuf,
    /// Every user program, sorted by name.
    pub programs: Vec<Program>,
}

impl Images {
    /// The program called `name`, if there is one.
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }
}

/// The workspace root: the directory above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the runner crate sits inside the workspace")
        .to_path_buf()
}

/// Where the runner keeps its build output and ramdisk images.
pub fn bare_dir() -> PathBuf {
    workspace_root().join("target").join("bare")
}

/// Builds the images the first time it is called and returns the same result
/// afterwards, so that tests running in parallel build only once.
pub fn images() -> Result<&'static Images, Error> {
    static IMAGES: OnceLock<Result<Images, Error>> = OnceLock::new();
    IMAGES
        .get_or_init(|| crate::setup::ensure_target().and_then(|()| build(&workspace_root())))
        .as_ref()
        .map_err(Clone::clone)
}

/// Builds the kernel, then the loader and the user programs together.
fn build(root: &Path) -> Result<Images, Error> {
    let bin_dir = root.join("userland").join("src").join("bin");
    let names = discover_programs(&bin_dir)
        .map_err(|e| Error::io(format!("listing {}", bin_dir.display()), e))?;
    let bare = root.join("target").join("bare");
    eprintln!(
        "qemu: building the kernel, the loader and {} user programs",
        names.len()
    );

    let kernel_dir = bare.join("kernel");
    cargo_build(
        root,
        &["-p", "kernel", "--bin", "kernel", "--features", "image"],
        &kernel_dir,
        &["-Ccode-model=kernel", "-Crelocation-model=static"],
    )?;
    let low_dir = bare.join("low");
    cargo_build(
        root,
        &["-p", "boot", "-p", "userland", "--bins"],
        &low_dir,
        &["-Crelocation-model=static"],
    )?;

    let out = |dir: &Path| dir.join(TARGET).join(PROFILE);
    let programs = names
        .into_iter()
        .map(|name| Program {
            elf: out(&low_dir).join(&name),
            name,
        })
        .collect();
    Ok(Images {
        kernel: out(&kernel_dir).join("kernel"),
        boot: out(&low_dir).join("boot"),
        programs,
    })
}

/// The user programs in `bin_dir`: every `NAME.rs` and every `NAME/main.rs`
/// (cargo's rules for binaries), sorted by name.
pub fn discover_programs(bin_dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(bin_dir)? {
        let path = entry?.path();
        let name = if path.is_dir() {
            path.join("main.rs").is_file().then(|| path.file_name())
        } else {
            (path.extension() == Some("rs".as_ref())).then(|| path.file_stem())
        };
        if let Some(name) = name.flatten().and_then(|n| n.to_str()) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Runs `cargo build ARGS --target TARGET --profile image --target-dir DIR`
/// in `root` with exactly `rustflags`, and turns a failure into an error
/// holding cargo's output.
fn cargo_build(
    root: &Path,
    args: &[&str],
    target_dir: &Path,
    rustflags: &[&str],
) -> Result<(), Error> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root)
        .arg("build")
        .args(args)
        .args(["--target", TARGET, "--profile", PROFILE, "--target-dir"])
        .arg(target_dir);
    for (key, _) in env::vars_os() {
        if key.to_str().is_some_and(interferes_with_build) {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));

    let what = format!("cargo build {}", args.join(" "));
    let output = cmd.output().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::Setup(format!(
            "`{}` not found: install Rust from https://rustup.rs",
            cargo.to_string_lossy()
        )),
        _ => Error::io(format!("running {what}"), e),
    })?;
    if output.status.success() {
        return Ok(());
    }
    let log = String::from_utf8_lossy(&output.stderr);
    if log.contains("may not be installed") || log.contains("can't find crate for `core`") {
        return Err(Error::Setup(format!(
            "the {TARGET} target is missing; fix: rustup target add {TARGET}\n{log}"
        )));
    }
    Err(Error::Build(format!("{what} ({}):\n{log}", output.status)))
}

/// Whether an inherited environment variable would change how the images are
/// built (flags, target, output directory), so that the nested cargo must not
/// see it. A parent `cargo test` or `cargo clippy` sets some of these.
fn interferes_with_build(key: &str) -> bool {
    matches!(
        key,
        "RUSTFLAGS" | "CARGO_ENCODED_RUSTFLAGS" | "RUSTC_WORKSPACE_WRAPPER"
    ) || key.starts_with("CARGO_BUILD_")
        || key.starts_with("CARGO_TARGET_")
        || key.starts_with("CARGO_PROFILE_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_files_and_directories() {
        let dir = env::temp_dir().join(format!("qemu-runner-discover-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("big")).unwrap();
        fs::create_dir_all(dir.join("no_main")).unwrap();
        fs::write(dir.join("hello.rs"), "").unwrap();
        fs::write(dir.join("notes.txt"), "").unwrap();
        fs::write(dir.join("big").join("main.rs"), "").unwrap();
        fs::write(dir.join("big").join("util.rs"), "").unwrap();
        fs::write(dir.join("no_main").join("lib.rs"), "").unwrap();
        let found = discover_programs(&dir);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.unwrap(), ["big", "hello"]);
    }

    #[test]
    fn scrubs_build_affecting_variables() {
        for key in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
        ] {
            assert!(interferes_with_build(key), "{key}");
        }
        for key in [
            "CARGO",
            "CARGO_MAKEFLAGS",
            "CARGO_HOME",
            "PATH",
            "RUSTUP_TOOLCHAIN",
        ] {
            assert!(!interferes_with_build(key), "{key}");
        }
    }
}
