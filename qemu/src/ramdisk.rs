//! The boot file system of one run: a POSIX ustar archive (read by
//! `kernel::bootfs`) with every user program, the prebuilt ELFs and extra
//! files the command line names, and `boot.args`, the plan init runs.
//!
//! Programs and files are archive members named by their guest path, a
//! path under `/bin` in the guest (the kernel puts the archive there):
//! init starts the plan's programs from there, and `spawn` finds a bare
//! name there. A grader may instead pack the archive with
//! `tar --format=ustar` and boot it with `--image`.
//!
//! Tests boot in parallel, so each run writes its own file under
//! `target/bare/` and deletes it when the run is over.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use abi::BOOT_ARGS_FILE;
use kernel::bootfs::Bootfs;

use crate::images::{Images, bare_dir};
use crate::plan::{self, AddFile};
use crate::{Error, Run};

/// The files of a boot file system, before packing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFs {
    /// `(guest name, contents)` in archive order; `boot.args` last.
    files: Vec<(String, Vec<u8>)>,
    /// The host file each member came from, when it came from one.
    pub sources: BTreeMap<String, PathBuf>,
    /// The members that are programs the runner built.
    built: BTreeSet<String>,
    /// The plan init runs: one line per program, its guest name first.
    pub plan: Vec<Vec<String>>,
    /// Whether init starts the programs together.
    pub together: bool,
}

/// Whether `data` starts like a 64-bit ELF file.
fn is_elf64(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF\x02")
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}

impl BootFs {
    /// The boot file system for `run`: every program of `images`, the files
    /// of `run.files`, the prebuilt ELFs its program lines name by host path
    /// (a word with a `/` that names a host file), and `boot.args`.
    pub fn for_run(images: &Images, run: &Run) -> Result<BootFs, Error> {
        let mut fs = BootFs {
            files: Vec::new(),
            sources: BTreeMap::new(),
            built: BTreeSet::new(),
            plan: Vec::new(),
            together: run.together,
        };
        for program in &images.programs {
            let elf = fs::read(&program.elf)
                .map_err(|e| Error::io(format!("reading {}", program.elf.display()), e))?;
            fs.put(&program.name, elf, &program.elf, true)?;
        }
        for AddFile { host, guest } in &run.files {
            fs.put(guest, read(host)?, host, false)?;
        }
        for line in &run.programs {
            let Some(word) = line.first() else {
                return Err(Error::Config("empty program line".into()));
            };
            let name = fs.program_name(images, word)?;
            fs.plan.push(
                std::iter::once(name)
                    .chain(line[1..].iter().cloned())
                    .collect(),
            );
        }
        let boot_args = plan::render_boot_args(&fs.plan, fs.together)?;
        fs.files
            .push((BOOT_ARGS_FILE.into(), boot_args.into_bytes()));
        Ok(fs)
    }

    /// The guest name of program `word`: a member's name, or a host file
    /// (a path with a `/`) added under its file name.
    fn program_name(&mut self, images: &Images, word: &str) -> Result<String, Error> {
        let host = Path::new(word);
        if word.contains('/') && host.is_file() {
            let data = read(host)?;
            if !is_elf64(&data) {
                return Err(Error::Config(format!("{word} is not a 64-bit ELF file")));
            }
            let name = plan::file_name(word)?;
            self.put(&name, data, host, false)?;
            return Ok(name);
        }
        if self.contains(word) {
            return Ok(word.to_owned());
        }
        images.require(word).map(|p| p.name.clone())
    }

    /// Adds member `name`. A file the user named replaces a built program
    /// of that name (with a note); two different files the user named may
    /// not take the same name.
    fn put(&mut self, name: &str, data: Vec<u8>, source: &Path, built: bool) -> Result<(), Error> {
        plan::check_guest_name(name)?;
        if name == BOOT_ARGS_FILE {
            return Err(Error::Config(format!(
                "{BOOT_ARGS_FILE} is written by the runner (use a plan file or `+`)"
            )));
        }
        match self.files.iter().position(|(n, _)| n == name) {
            None => self.files.push((name.to_owned(), data)),
            Some(i) if self.built.contains(name) => {
                if !same_file(&self.sources[name], source) {
                    eprintln!(
                        "qemu: {} replaces the built program `{name}` in the boot file system",
                        source.display()
                    );
                }
                self.files[i].1 = data;
                self.built.remove(name);
            }
            Some(_) if same_file(&self.sources[name], source) => return Ok(()),
            Some(_) => {
                return Err(Error::Config(format!(
                    "two files for `{name}` in the boot file system: {} and {} \
                     (name one with --add HOST:GUEST)",
                    self.sources[name].display(),
                    source.display()
                )));
            }
        }
        if built {
            self.built.insert(name.to_owned());
        }
        self.sources.insert(name.to_owned(), source.to_owned());
        Ok(())
    }

    fn contains(&self, name: &str) -> bool {
        self.files.iter().any(|(n, _)| n == name)
    }

    /// Reads an archive packed elsewhere (`--image`): it must be one the
    /// kernel accepts, with `init` and a `boot.args` that names programs.
    pub fn open(path: &Path) -> Result<BootFs, Error> {
        let image = read(path)?;
        let archive = Bootfs::parse(&image).map_err(|e| {
            Error::Config(format!(
                "{} is not a boot file system the kernel reads ({e:?}; pack it \
                 with `tar --format=ustar`)",
                path.display()
            ))
        })?;
        let files: Vec<(String, Vec<u8>)> = archive
            .files()
            .map(|f| (f.name.to_string(), f.data.to_vec()))
            .collect();
        let text = archive
            .find(BOOT_ARGS_FILE)
            .map(String::from_utf8_lossy)
            .ok_or_else(|| Error::Config(format!("{} has no {BOOT_ARGS_FILE}", path.display())))?;
        let (plan, together) = plan::parse_plan(&text)?;
        if archive.find("init").is_none() || plan.is_empty() {
            return Err(Error::Config(format!(
                "{} needs an `init` and a {BOOT_ARGS_FILE} naming at least one program",
                path.display()
            )));
        }
        Ok(BootFs {
            files,
            sources: BTreeMap::new(),
            built: BTreeSet::new(),
            plan,
            together,
        })
    }

    /// The contents of member `name`.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
    }

    /// The ustar archive: members in order, mode 755 for ELF files and 644
    /// for others, owner 0 and time 0 (the same inputs give the same bytes).
    pub fn pack(&self) -> Result<Vec<u8>, Error> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in &self.files {
            let mut header = tar::Header::new_ustar();
            header.set_path(name).map_err(|e| {
                Error::Config(format!("cannot name `{name}` in a ustar archive: {e}"))
            })?;
            header.set_size(data.len() as u64);
            header.set_mode(if is_elf64(data) { 0o755 } else { 0o644 });
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder
                .append(&header, data.as_slice())
                .map_err(|e| Error::io("packing the boot file system", e))?;
        }
        builder
            .into_inner()
            .map_err(|e| Error::io("packing the boot file system", e))
    }

    /// One line per member: its size in bytes, right-aligned, and its name.
    pub fn listing(&self) -> String {
        self.files
            .iter()
            .map(|(name, data)| format!("{:>10}  {name}\n", data.len()))
            .collect()
    }

    /// Packs the archive into a fresh file for QEMU.
    pub fn write(&self) -> Result<Ramdisk, Error> {
        let image = self.pack()?;
        let dir = bare_dir();
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let path = unique_path(&dir);
        fs::write(&path, image).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(Ramdisk { path })
    }
}

/// Whether two host paths name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A ramdisk image file, deleted on drop.
#[derive(Debug)]
pub struct Ramdisk {
    path: PathBuf,
}

impl Ramdisk {
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
    dir.join(format!("bootfs-{}-{n}.tar", std::process::id()))
}

#[cfg(test)]
mod tests;
