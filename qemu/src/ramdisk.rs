//! The ramdisk of one run: a boot file system image (`kernel::bootfs`) with
//! every user program plus `boot.args`, the command line init runs.
//!
//! Tests boot in parallel, so each run writes its own file under
//! `target/bare/` and deletes it when the run is over.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use abi::BOOT_ARGS_FILE;

use crate::Error;
use crate::images::{Images, bare_dir};

/// Renders the lines of `boot.args`: one program per line, its name first,
/// words separated by single spaces. Words must be non-empty and free of
/// white space (init splits on spaces), and there must be a program to run.
pub fn render_boot_args(programs: &[Vec<String>]) -> Result<String, Error> {
    if programs.is_empty() {
        return Err(Error::Config("no program to boot".into()));
    }
    let mut text = String::new();
    for line in programs {
        if line.is_empty() {
            return Err(Error::Config("empty program line".into()));
        }
        if let Some(bad) = line
            .iter()
            .find(|w| w.is_empty() || w.contains(|c: char| c.is_whitespace() || c == '\0'))
        {
            return Err(Error::Config(format!(
                "argument {bad:?} of `{}` is empty or contains white space",
                line[0]
            )));
        }
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    Ok(text)
}

/// A ramdisk image file, deleted on drop.
#[derive(Debug)]
pub struct Ramdisk {
    path: PathBuf,
}

impl Ramdisk {
    /// Packs every program of `images` and the `boot.args` for `programs`
    /// into a fresh file. Every program named in `programs` must exist.
    pub fn create(images: &Images, programs: &[Vec<String>]) -> Result<Self, Error> {
        let boot_args = render_boot_args(programs)?;
        for name in programs.iter().map(|line| &line[0]) {
            if images.program(name).is_none() {
                let known: Vec<&str> = images.programs.iter().map(|p| p.name.as_str()).collect();
                return Err(Error::Config(format!(
                    "no user program `{name}` (userland/src/bin has: {})",
                    known.join(", ")
                )));
            }
        }
        let mut contents = Vec::new();
        for program in &images.programs {
            let elf = fs::read(&program.elf)
                .map_err(|e| Error::io(format!("reading {}", program.elf.display()), e))?;
            contents.push((program.name.as_str(), elf));
        }
        let mut files: Vec<(&str, &[u8])> =
            contents.iter().map(|(n, d)| (*n, d.as_slice())).collect();
        files.push((BOOT_ARGS_FILE, boot_args.as_bytes()));
        let image = kernel::bootfs::build(&files)
            .map_err(|e| Error::Config(format!("cannot pack the ramdisk: {e:?}")))?;

        let dir = bare_dir();
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let path = unique_path(&dir);
        fs::write(&path, image).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(Ramdisk { path })
    }

    /// The image file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Ramdisk {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A file name no other run uses: this process's id and a counter.
fn unique_path(dir: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("bootfs-{}-{n}.img", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn renders_one_line_per_program() {
        let text = render_boot_args(&[line(&["exit_status", "42"]), line(&["hello"])]).unwrap();
        assert_eq!(text, "exit_status 42\nhello\n");
    }

    #[test]
    fn rejects_what_init_cannot_split() {
        assert!(render_boot_args(&[]).is_err());
        assert!(render_boot_args(&[line(&[])]).is_err());
        assert!(render_boot_args(&[line(&["echo", "two words"])]).is_err());
        assert!(render_boot_args(&[line(&["echo", ""])]).is_err());
        assert!(render_boot_args(&[line(&["echo", "a\nb"])]).is_err());
    }

    #[test]
    fn paths_are_unique() {
        let dir = Path::new("/x");
        assert_ne!(unique_path(dir), unique_path(dir));
    }
}
