//! Building the C programs of `userland/c/` with the stock musl toolchain
//! (`musl-gcc -static`, Debian's `musl-tools`): every `NAME.c` there is one
//! program, linked against libdoor (the sources of `userland/c/lib/`,
//! archived once) and compiled with the project's headers
//! (`userland/c/include/`: `<door.h>`, `<stropts.h>`, ...). The binaries
//! are ordinary static Linux executables; the kernel runs them on its Linux
//! personality.
//!
//! Like the Rust build it is incremental (a file is compiled again only when
//! it, a header or libdoor changed) and tolerant: a C file that does not
//! compile is left out and named with the compiler's errors, and the other
//! programs still run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;
use std::{fs, io, thread};

use crate::images::{Broken, Program};
use crate::setup::{MUSL_GCC, ensure_musl};

/// Where the C sources are, relative to the workspace root.
pub const C_DIR: &str = "userland/c";
/// Flags of every compilation (the programs' and libdoor's).
const CFLAGS: &[&str] = &[
    "-std=gnu11",
    "-D_GNU_SOURCE",
    "-O2",
    "-g",
    "-Wall",
    "-Wextra",
    "-Werror=implicit-function-declaration",
    "-pthread",
];

/// What the compiler said about a file that compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The source file, relative to the workspace root.
    pub source: PathBuf,
    pub text: String,
}

/// The result of the C build.
#[derive(Debug, Default)]
pub struct CBuild {
    pub programs: Vec<Program>,
    pub broken: Vec<Broken>,
    /// Warnings of files that compiled (the project's own C is warning-free).
    pub warnings: Vec<Diagnostic>,
}

/// The C programs in `dir`: every `NAME.c`, sorted by name.
pub fn discover(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_file()
            && path.extension() == Some("c".as_ref())
            && let Some(name) = path.file_stem().and_then(|n| n.to_str())
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Files of `dir` ending in `.ext`, sorted (none if `dir` does not exist).
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension() == Some(ext.as_ref()))
        .collect();
    found.sort();
    found
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether `output` exists and is at least as new as every input.
fn fresh(output: &Path, inputs: &[PathBuf]) -> bool {
    let Some(built) = modified(output) else {
        return false;
    };
    inputs
        .iter()
        .all(|i| modified(i).is_some_and(|m| m <= built))
}

/// Where the compiler's warnings for `output` are kept, so that a build
/// that finds `output` fresh reports them as the one that compiled it did.
fn warnings_file(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".warnings");
    PathBuf::from(name)
}

/// The warnings kept for `output` (none if it compiled cleanly).
fn kept_warnings(output: &Path) -> String {
    fs::read_to_string(warnings_file(output)).unwrap_or_default()
}

/// Runs `musl-gcc ARGS -o OUTPUT`, writing a temporary file first so that a
/// concurrent runner never sees half a binary. Returns the compiler's
/// messages, as `Err` when it failed; the warnings of a success are kept
/// beside `output` ([`kept_warnings`]).
fn gcc(args: &[&str], extra: &[&Path], output: &Path) -> Result<String, String> {
    let tmp = output.with_extension(format!("tmp{}", std::process::id()));
    let result = Command::new(MUSL_GCC)
        .args(args)
        .args(extra)
        .arg("-o")
        .arg(&tmp)
        .output();
    let out = match result {
        Ok(out) => out,
        Err(e) => return Err(format!("running {MUSL_GCC}: {e}")),
    };
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(text);
    }
    let kept = match text.is_empty() {
        true => fs::remove_file(warnings_file(output)).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
        false => fs::write(warnings_file(output), &text),
    };
    kept.map_err(|e| format!("{}: {e}", warnings_file(output).display()))?;
    fs::rename(&tmp, output).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok(text)
}

/// The path of `path` relative to `root` (for messages).
fn relative(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// Builds libdoor (`out/libdoor.a`) from `lib/*.c`; on failure, the file
/// that did not compile and the compiler's errors.
fn build_libdoor(
    root: &Path,
    out: &Path,
    headers: &[PathBuf],
    warnings: &mut Vec<Diagnostic>,
) -> Result<PathBuf, Broken> {
    let src = root.join(C_DIR);
    let include = src.join("include");
    let sources = files(&src.join("lib"), "c");
    let archive = out.join("libdoor.a");
    let inputs: Vec<PathBuf> = sources.iter().chain(headers).cloned().collect();
    let objects_dir = out.join("lib");
    let object_of = |source: &Path| {
        let stem = source.file_stem().unwrap_or_default();
        objects_dir.join(stem).with_extension("o")
    };
    let mut warn = |source: &Path, text: String| {
        if !text.is_empty() {
            warnings.push(Diagnostic {
                source: relative(source, root),
                text,
            });
        }
    };
    if fresh(&archive, &inputs) {
        for source in &sources {
            warn(source, kept_warnings(&object_of(source)));
        }
        return Ok(archive);
    }
    let broken = |source: &Path, errors: String| Broken {
        name: "libdoor".into(),
        source: relative(source, root),
        errors,
    };
    fs::create_dir_all(&objects_dir).map_err(|e| broken(&objects_dir, e.to_string()))?;
    let mut objects = Vec::new();
    for source in &sources {
        let object = object_of(source);
        let mut args: Vec<&str> = CFLAGS.to_vec();
        args.extend(["-c", "-I"]);
        args.push(include.to_str().unwrap_or_default());
        let text = gcc(&args, &[source], &object).map_err(|e| broken(source, e))?;
        warn(source, text);
        objects.push(object);
    }
    let tmp = archive.with_extension(format!("tmp{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let ar = Command::new("ar")
        .arg("rcs")
        .arg(&tmp)
        .args(&objects)
        .output();
    match ar {
        Ok(o) if o.status.success() => {
            fs::rename(&tmp, &archive).map_err(|e| broken(&archive, e.to_string()))?;
            Ok(archive)
        }
        Ok(o) => Err(broken(&archive, String::from_utf8_lossy(&o.stderr).into())),
        Err(e) => Err(broken(&archive, format!("running ar: {e}"))),
    }
}

/// Builds every C program of `userland/c/` into `out/bin/`. With `show`,
/// the compiler's warnings go to the terminal.
pub fn build(root: &Path, out: &Path, show: bool) -> Result<CBuild, crate::Error> {
    let src = root.join(C_DIR);
    let names =
        discover(&src).map_err(|e| crate::Error::io(format!("listing {}", src.display()), e))?;
    let mut result = CBuild::default();
    if names.is_empty() {
        return Ok(result);
    }
    let all_broken = |errors: &str, source: Option<&Path>| -> Vec<Broken> {
        names
            .iter()
            .map(|name| Broken {
                name: name.clone(),
                source: source.map_or_else(
                    || Path::new(C_DIR).join(format!("{name}.c")),
                    Path::to_path_buf,
                ),
                errors: errors.to_owned(),
            })
            .collect()
    };
    if let Err(e) = ensure_musl() {
        eprintln!("qemu: warning: {e}; the C programs cannot be built");
        result.broken = all_broken(&e.to_string(), None);
        return Ok(result);
    }
    let headers = files(&src.join("include"), "h");
    let bin = out.join("bin");
    fs::create_dir_all(&bin)
        .map_err(|e| crate::Error::io(format!("creating {}", bin.display()), e))?;
    let libdoor = match build_libdoor(root, out, &headers, &mut result.warnings) {
        Ok(path) => path,
        Err(lib) => {
            eprintln!(
                "qemu: warning: {} does not compile; no C program can run",
                lib.source.display()
            );
            let errors = format!(
                "libdoor: {} does not compile:\n{}",
                lib.source.display(),
                lib.errors
            );
            result.broken = all_broken(&errors, Some(&lib.source));
            return Ok(result);
        }
    };
    let include = src.join("include");
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    let workers = thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(names.len());
    thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    let source = src.join(format!("{name}.c"));
                    let elf = bin.join(name);
                    let mut inputs = vec![source.clone(), libdoor.clone()];
                    inputs.extend(headers.iter().cloned());
                    let outcome = if fresh(&elf, &inputs) {
                        Ok(kept_warnings(&elf))
                    } else {
                        let mut args: Vec<&str> = CFLAGS.to_vec();
                        args.extend(["-static", "-I", include.to_str().unwrap_or_default()]);
                        gcc(&args, &[&source, &libdoor], &elf)
                    };
                    done.lock().expect("no worker panics").push((
                        name.clone(),
                        source,
                        elf,
                        outcome,
                    ));
                }
            });
        }
    });
    let mut done = done.into_inner().expect("no worker panics");
    done.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, source, elf, outcome) in done {
        let source = relative(&source, root);
        match outcome {
            Ok(text) => {
                if !text.is_empty() {
                    if show {
                        eprint!("{text}");
                    }
                    result.warnings.push(Diagnostic { source, text });
                }
                result.programs.push(Program { name, elf });
            }
            Err(errors) => {
                eprintln!(
                    "qemu: warning: {} does not compile; the other programs can still run",
                    source.display()
                );
                result.broken.push(Broken {
                    name,
                    source,
                    errors,
                });
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::env;

    #[test]
    fn discovers_c_files_only() {
        let dir = env::temp_dir().join(format!("qemu-runner-cdiscover-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("lib")).unwrap();
        fs::write(dir.join("server.c"), "").unwrap();
        fs::write(dir.join("client.c"), "").unwrap();
        fs::write(dir.join("notes.h"), "").unwrap();
        fs::write(dir.join("lib").join("door.c"), "").unwrap();
        let found = discover(&dir);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.unwrap(), ["client", "server"]);
        assert!(discover(Path::new("/no/such/dir")).unwrap().is_empty());
    }

    #[test]
    fn warnings_are_kept_beside_the_output() {
        let out = Path::new("/tmp/x/bin/c_hello");
        assert_eq!(warnings_file(out), Path::new("/tmp/x/bin/c_hello.warnings"));
        let lib = Path::new("/tmp/x/lib/door.o");
        assert_eq!(warnings_file(lib), Path::new("/tmp/x/lib/door.o.warnings"));
        let dir = env::temp_dir().join(format!("qemu-runner-cwarn-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let elf = dir.join("a");
        assert_eq!(kept_warnings(&elf), "", "none kept");
        fs::write(warnings_file(&elf), "a.c:1: warning: x\n").unwrap();
        assert_eq!(kept_warnings(&elf), "a.c:1: warning: x\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn freshness_follows_every_input() {
        let dir = env::temp_dir().join(format!("qemu-runner-cfresh-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let (src, out) = (dir.join("a.c"), dir.join("a"));
        fs::write(&src, "").unwrap();
        assert!(!fresh(&out, std::slice::from_ref(&src)), "no output yet");
        fs::write(&out, "").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&src)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(fresh(&out, std::slice::from_ref(&src)));
        let missing = dir.join("gone.h");
        assert!(!fresh(&out, &[src.clone(), missing]), "a missing input");
        fs::File::options()
            .write(true)
            .open(&out)
            .unwrap()
            .set_modified(old - std::time::Duration::from_secs(60))
            .unwrap();
        assert!(!fresh(&out, &[src]), "the source changed after the build");
        fs::remove_dir_all(&dir).unwrap();
    }
}
