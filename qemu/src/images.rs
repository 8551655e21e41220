//! Building the bare-metal images with cargo: the kernel, the multiboot
//! loader (`boot`) and every user program of `userland/src/bin`.
//!
//! The bare-metal crates are built by a nested `cargo build` with an explicit
//! `--target` and their own target directories under `target/bare/`, so they
//! neither share flags with the host crates nor wait for the lock of the
//! `cargo test` that may be running us. Cargo's progress and the compiler's
//! warnings reach the terminal when asked (`cargo run`); otherwise (`cargo
//! test`) they are kept and shown only in the error of a failed build. The
//! user programs are built with `--keep-going`: one that does not compile
//! is left out (and named) instead of making every other one unrunnable.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::{env, fs, io, thread};

use serde_json::Value;

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

/// A user program that did not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub name: String,
    /// Its source file, relative to the workspace root.
    pub source: PathBuf,
    /// The compiler's errors, as rendered text.
    pub errors: String,
}

/// Everything a boot needs, built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// The kernel ELF (multiboot module 0).
    pub kernel: PathBuf,
    /// The multiboot loader ELF (QEMU's `-kernel`).
    pub boot: PathBuf,
    /// Every user program that compiled, sorted by name.
    pub programs: Vec<Program>,
    /// The user programs that did not compile.
    pub broken: Vec<Broken>,
}

impl Images {
    /// The program called `name`, if there is one.
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The program called `name`, or an error naming what is wrong: it did
    /// not compile (with the compiler's errors), or there is no such program.
    pub fn require(&self, name: &str) -> Result<&Program, Error> {
        if let Some(program) = self.program(name) {
            return Ok(program);
        }
        if let Some(broken) = self.broken.iter().find(|b| b.name == name) {
            return Err(Error::Build(format!(
                "{} does not compile:\n{}",
                broken.source.display(),
                broken.errors
            )));
        }
        let known: Vec<&str> = self.programs.iter().map(|p| p.name.as_str()).collect();
        Err(Error::Config(format!(
            "no user program `{name}` (userland/src/bin has: {}; a prebuilt ELF \
             is named by a path with a `/`, such as ./{name})",
            known.join(", ")
        )))
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
/// afterwards, so that tests running in parallel build only once. With
/// `show`, the build's progress and warnings go to the terminal (the first
/// call decides).
pub fn images(show: bool) -> Result<&'static Images, Error> {
    static IMAGES: OnceLock<Result<Images, Error>> = OnceLock::new();
    IMAGES
        .get_or_init(|| crate::setup::ensure_target().and_then(|()| build(&workspace_root(), show)))
        .as_ref()
        .map_err(Clone::clone)
}

/// Builds the kernel, then the loader and the user programs together.
fn build(root: &Path, show: bool) -> Result<Images, Error> {
    let bin_dir = root.join("userland").join("src").join("bin");
    let names = discover_programs(&bin_dir)
        .map_err(|e| Error::io(format!("listing {}", bin_dir.display()), e))?;
    let bare = root.join("target").join("bare");
    eprintln!(
        "qemu: building the kernel, the loader and {} user programs{}",
        names.len(),
        if show {
            ""
        } else {
            " (output shown if it fails)"
        }
    );

    let kernel = cargo_build(
        root,
        &["-p", "kernel", "--bin", "kernel", "--features", "image"],
        &bare.join("kernel"),
        &["-Ccode-model=kernel", "-Crelocation-model=static"],
        show,
    )?;
    let kernel = kernel.success_or_error()?.executable("kernel")?;
    let low = cargo_build(
        root,
        &["-p", "boot", "-p", "userland", "--bins", "--keep-going"],
        &bare.join("low"),
        &["-Crelocation-model=static"],
        show,
    )?;
    if let Some(fatal) = low
        .errors
        .iter()
        .find(|e| e.kind != "bin" || e.name == "boot")
    {
        return Err(Error::Build(format!(
            "{} does not compile:\n{}\n{}",
            fatal.source.display(),
            fatal.rendered,
            low.stderr
        )));
    }
    let boot = low.executable("boot")?;
    let mut programs = Vec::new();
    let mut broken = Vec::new();
    for name in names {
        match low.artifacts.iter().find(|(n, _)| *n == name) {
            Some((_, elf)) => programs.push(Program {
                name,
                elf: elf.clone(),
            }),
            None => {
                let errors: Vec<&BuildError> =
                    low.errors.iter().filter(|e| e.name == name).collect();
                let Some(first) = errors.first() else {
                    return Err(low.failure(&format!("no executable for user program `{name}`")));
                };
                let rendered: String = errors.iter().map(|e| e.rendered.as_str()).collect();
                eprintln!(
                    "qemu: warning: {} does not compile; the other programs can still run",
                    first.source.display()
                );
                broken.push(Broken {
                    name,
                    source: first.source.clone(),
                    errors: rendered,
                });
            }
        }
    }
    Ok(Images {
        kernel,
        boot,
        programs,
        broken,
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

/// An error diagnostic of one build target.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BuildError {
    /// The target's name and kind (`bin`, `lib`).
    name: String,
    kind: String,
    /// Its root source file, relative to the workspace when inside it.
    source: PathBuf,
    rendered: String,
}

/// What one cargo build produced.
#[derive(Debug, Default)]
struct BuildLog {
    /// `(target name, executable)` of every binary built or up to date.
    artifacts: Vec<(String, PathBuf)>,
    errors: Vec<BuildError>,
    /// Cargo's own messages when they were not shown (its progress, and why
    /// it stopped).
    stderr: String,
    /// `cargo build ...` as run, and whether it succeeded.
    what: String,
    success: bool,
}

impl BuildLog {
    /// Reads one line of cargo's `--message-format json` output; with
    /// `show`, prints each diagnostic as the compiler rendered it.
    fn read_message(&mut self, line: &str, root: &Path, show: bool) {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let target = &msg["target"];
        let name = target["name"].as_str().unwrap_or_default().to_owned();
        match msg["reason"].as_str() {
            Some("compiler-artifact") => {
                if let Some(exe) = msg["executable"].as_str() {
                    self.artifacts.push((name, PathBuf::from(exe)));
                }
            }
            Some("compiler-message") => {
                let rendered = msg["message"]["rendered"].as_str().unwrap_or_default();
                if show {
                    let _ = io::stderr().lock().write_all(rendered.as_bytes());
                }
                if msg["message"]["level"] == "error" {
                    let source = PathBuf::from(target["src_path"].as_str().unwrap_or_default());
                    self.errors.push(BuildError {
                        name,
                        kind: target["kind"][0].as_str().unwrap_or_default().to_owned(),
                        source: source
                            .strip_prefix(root)
                            .map(Path::to_path_buf)
                            .unwrap_or(source),
                        rendered: rendered.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }

    fn success_or_error(self) -> Result<Self, Error> {
        if self.success {
            Ok(self)
        } else {
            Err(self.failure("it failed"))
        }
    }

    fn failure(&self, why: &str) -> Error {
        let errors: String = self.errors.iter().map(|e| e.rendered.as_str()).collect();
        Error::Build(format!("{} ({why}):\n{errors}{}", self.what, self.stderr))
    }

    /// The binary target `name` built.
    fn executable(&self, name: &str) -> Result<PathBuf, Error> {
        self.artifacts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, path)| path.clone())
            .ok_or_else(|| self.failure(&format!("no executable `{name}`")))
    }
}

/// Runs `cargo build ARGS --target TARGET --profile image --target-dir DIR`
/// in `root` with exactly `rustflags`. With `show`, cargo's progress and the
/// compiler's diagnostics go to the terminal as they come; otherwise they
/// are kept for the error. A build that fails is returned as well (its log
/// says which targets failed): only not being able to run cargo is an `Err`.
fn cargo_build(
    root: &Path,
    args: &[&str],
    target_dir: &Path,
    rustflags: &[&str],
    show: bool,
) -> Result<BuildLog, Error> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let colour = show && io::stderr().is_terminal();
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root)
        .arg("build")
        .args(args)
        .args(["--target", TARGET, "--profile", PROFILE, "--target-dir"])
        .arg(target_dir)
        .arg("--message-format")
        .arg(if colour {
            "json-diagnostic-rendered-ansi"
        } else {
            "json"
        })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if show {
            Stdio::inherit()
        } else {
            Stdio::piped()
        });
    if colour {
        cmd.args(["--color", "always"]);
    }
    for (key, _) in env::vars_os() {
        if key.to_str().is_some_and(interferes_with_build) {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));

    let what = format!("cargo build {}", args.join(" "));
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::Setup(format!(
            "`{}` not found: install Rust from https://rustup.rs",
            cargo.to_string_lossy()
        )),
        _ => Error::io(format!("running {what}"), e),
    })?;
    let stderr = child.stderr.take().map(|mut pipe| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    let mut log = BuildLog {
        what,
        ..BuildLog::default()
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        log.read_message(&line, root, show);
    }
    let status = child
        .wait()
        .map_err(|e| Error::io(format!("waiting for {}", log.what), e))?;
    log.success = status.success();
    log.stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !log.success
        && (log.stderr.contains("may not be installed")
            || log
                .errors
                .iter()
                .any(|e| e.rendered.contains("can't find crate for `core`")))
    {
        return Err(Error::Setup(format!(
            "the {TARGET} target is missing; fix: rustup target add {TARGET}\n{}",
            log.stderr
        )));
    }
    Ok(log)
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
    fn reads_artifacts_and_errors_per_target() {
        let root = Path::new("/w");
        let mut log = BuildLog::default();
        for line in [
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"hello","src_path":"/w/userland/src/bin/hello.rs"},"executable":"/w/target/hello","fresh":true}"#,
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"userland","src_path":"/w/userland/src/lib.rs"},"executable":null}"#,
            r#"{"reason":"compiler-message","target":{"kind":["bin"],"name":"broken","src_path":"/w/userland/src/bin/broken.rs"},"message":{"level":"error","rendered":"error[E0308]: mismatched types\n"}}"#,
            r#"{"reason":"compiler-message","target":{"kind":["bin"],"name":"hello","src_path":"/w/userland/src/bin/hello.rs"},"message":{"level":"warning","rendered":"warning: unused\n"}}"#,
            "not json",
            r#"{"reason":"build-finished","success":false}"#,
        ] {
            log.read_message(line, root, false);
        }
        assert_eq!(
            log.artifacts,
            [("hello".to_string(), PathBuf::from("/w/target/hello"))]
        );
        assert_eq!(
            log.errors,
            [BuildError {
                name: "broken".into(),
                kind: "bin".into(),
                source: "userland/src/bin/broken.rs".into(),
                rendered: "error[E0308]: mismatched types\n".into(),
            }]
        );
        assert_eq!(
            log.executable("hello").unwrap(),
            PathBuf::from("/w/target/hello")
        );
        assert!(
            matches!(log.executable("broken"), Err(Error::Build(m)) if m.contains("mismatched"))
        );
    }

    #[test]
    fn names_the_file_of_a_broken_program() {
        let images = Images {
            kernel: "k".into(),
            boot: "b".into(),
            programs: vec![Program {
                name: "hello".into(),
                elf: "/t/hello".into(),
            }],
            broken: vec![Broken {
                name: "broken".into(),
                source: "userland/src/bin/broken.rs".into(),
                errors: "error[E0308]: mismatched types".into(),
            }],
        };
        assert!(images.require("hello").is_ok());
        let Err(Error::Build(msg)) = images.require("broken") else {
            panic!("a broken program is a build error");
        };
        assert!(
            msg.starts_with("userland/src/bin/broken.rs does not compile"),
            "{msg}"
        );
        assert!(msg.contains("E0308"), "{msg}");
        let Err(Error::Config(msg)) = images.require("nope") else {
            panic!("an unknown program is a usage error");
        };
        assert!(msg.contains("has: hello"), "{msg}");
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
