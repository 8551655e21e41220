//! Turning the `rip` of a fault report into a function and a source line,
//! from the ELF's symbols and DWARF line tables (the images are built with
//! `debug = 1`), as the serial log arrives; [`source_frames`] gives the
//! frames of any address (`cargo run -- profile` places every instruction
//! with it).
//!
//! The kernel prints `user fault: process N (NAME) thread T: ... at
//! rip=0x...` for a user fault and `kernel exception ... at rip=0x...` for a
//! kernel one; the runner adds a line after each:
//! `qemu: rip 0x... is FUNCTION at FILE:LINE:COLUMN` (with `, inlined into
//! FUNCTION at ...` for each caller the compiler inlined it into).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use addr2line::Loader;

use crate::images::{bare_dir, workspace_root};

/// The start of the runner's symbol lines in the serial log.
pub const PREFIX: &str = "qemu: rip ";

/// Where a program's ELF is.
#[derive(Debug, Clone)]
pub enum Source {
    /// A host file.
    File(PathBuf),
    /// Bytes from an archive packed elsewhere (written to a file when needed).
    Data(Vec<u8>),
}

/// Who faulted, from a fault report line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Faulting {
    Kernel,
    /// The user process of this program name.
    Program(String),
}

/// Reads a fault report line: who faulted and at which `rip`.
fn parse_fault(line: &str) -> Option<(Faulting, u64)> {
    let rip = line.split_once("rip=0x")?.1;
    let end = rip
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(rip.len());
    let rip = u64::from_str_radix(&rip[..end], 16).ok()?;
    if line.contains("kernel exception ") {
        return Some((Faulting::Kernel, rip));
    }
    let rest = line.split_once("user fault: process ")?.1;
    let name = rest.split_once(" (")?.1.split_once(") thread ")?.0;
    Some((Faulting::Program(name.to_owned()), rip))
}

/// Symbolizes fault reports for one boot; ELF files are read the first time
/// a report names them.
pub struct Symbols {
    kernel: PathBuf,
    programs: BTreeMap<String, Source>,
    loaders: BTreeMap<String, Option<Loader>>,
    /// Files written for [`Source::Data`], removed on drop.
    temporary: Vec<PathBuf>,
}

impl Symbols {
    pub fn new(kernel: PathBuf, programs: BTreeMap<String, Source>) -> Self {
        Symbols {
            kernel,
            programs,
            loaders: BTreeMap::new(),
            temporary: Vec::new(),
        }
    }

    /// The symbol line for a fault report `line`, or `None` when `line` is
    /// not one or its ELF has nothing for the address.
    pub fn annotate(&mut self, line: &str) -> Option<String> {
        let (who, rip) = parse_fault(line)?;
        let key = match &who {
            Faulting::Kernel => String::new(),
            Faulting::Program(name) => name.clone(),
        };
        if !self.loaders.contains_key(&key) {
            let loader = self.path_of(&who).and_then(|p| Loader::new(p).ok());
            self.loaders.insert(key.clone(), loader);
        }
        let loader = self.loaders.get(&key)?.as_ref()?;
        describe(loader, rip).map(|what| format!("{PREFIX}{rip:#x} is {what}"))
    }

    fn path_of(&mut self, who: &Faulting) -> Option<PathBuf> {
        let name = match who {
            Faulting::Kernel => return Some(self.kernel.clone()),
            Faulting::Program(name) => name,
        };
        match self.programs.get(name)? {
            Source::File(path) => Some(path.clone()),
            Source::Data(data) => {
                let path = bare_dir().join(format!(
                    "symbols-{}-{}",
                    std::process::id(),
                    self.temporary.len()
                ));
                fs::write(&path, data).ok()?;
                self.temporary.push(path.clone());
                Some(path)
            }
        }
    }
}

impl Drop for Symbols {
    fn drop(&mut self) {
        for path in &self.temporary {
            let _ = fs::remove_file(path);
        }
    }
}

/// One frame of the source an address was compiled from, innermost
/// (inlined) frames first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFrame {
    /// The function, demangled (`??` when the DWARF has no name).
    pub function: String,
    /// The file, relative to the workspace root when it is inside it.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// Whether the file is one of this workspace's.
    pub ours: bool,
}

impl SourceFrame {
    /// `FILE:LINE:COL` (or less, as known).
    fn place(&self) -> Option<String> {
        let file = self.file.as_deref()?;
        Some(match (self.line, self.column) {
            (Some(line), Some(col)) => format!("{file}:{line}:{col}"),
            (Some(line), None) => format!("{file}:{line}"),
            _ => file.to_owned(),
        })
    }
}

/// The source frames of `pc` in the ELF `loader` reads, innermost first;
/// without line information, the symbol table's function alone; none
/// when the ELF has nothing for the address.
pub fn source_frames(loader: &Loader, pc: u64) -> Vec<SourceFrame> {
    let root = workspace_root();
    let mut frames = Vec::new();
    if let Ok(mut iter) = loader.find_frames(pc) {
        while let Ok(Some(frame)) = iter.next() {
            let function = frame
                .function
                .as_ref()
                .and_then(|f| f.demangle().ok())
                .map_or_else(|| "??".to_owned(), |f| f.into_owned());
            let location = frame.location;
            let file = location.as_ref().and_then(|l| l.file);
            frames.push(SourceFrame {
                function,
                ours: file.is_some_and(|f| Path::new(f).starts_with(&root)),
                file: file.map(|f| shorten(&root, f)),
                line: location.as_ref().and_then(|l| l.line),
                column: location.as_ref().and_then(|l| l.column),
            });
        }
    }
    if frames.is_empty()
        && let Some(name) = loader.find_symbol(pc)
    {
        frames.push(SourceFrame {
            function: addr2line::demangle_auto(name.into(), None).into_owned(),
            file: None,
            line: None,
            column: None,
            ours: false,
        });
    }
    frames
}

/// `FUNCTION at FILE:LINE:COL`, for the innermost function from this
/// workspace's sources (or the outermost when none is), followed by
/// `(in inlined F, G)` for the functions inlined into it that hold `rip`;
/// the symbol table's name when there is no line information.
fn describe(loader: &Loader, rip: u64) -> Option<String> {
    let frames = source_frames(loader, rip);
    let main = frames
        .iter()
        .position(|f| f.ours)
        .unwrap_or(frames.len().checked_sub(1)?);
    let frame = &frames[main];
    let mut text = match frame.place() {
        Some(place) => format!("{} at {place}", frame.function),
        None => frame.function.clone(),
    };
    if main > 0 {
        let inlined: Vec<&str> = frames[..main].iter().map(|f| f.function.as_str()).collect();
        text.push_str(&format!(" (in inlined {})", inlined.join(", ")));
    }
    Some(text)
}

/// `file` relative to the workspace root when it is inside it.
fn shorten(root: &Path, file: &str) -> String {
    Path::new(file)
        .strip_prefix(root)
        .map_or_else(|_| file.to_owned(), |p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fault_reports() {
        assert_eq!(
            parse_fault(
                "[ERROR] user fault: process 3 (outcome) thread 4: page fault (vector 14) \
                 at rip=0x2010af error=0x6 cr2=0x0; process killed"
            ),
            Some((Faulting::Program("outcome".into()), 0x2010af))
        );
        assert_eq!(
            parse_fault(
                "kernel exception page fault (vector 14) at rip=0xffffffff80012345 error=0x0 \
                 cr2=0x8 rsp=0x1 in process 2 (hello) thread 3"
            ),
            Some((Faulting::Kernel, 0xffffffff80012345))
        );
        assert_eq!(parse_fault("hello from ring 3"), None);
        assert_eq!(
            parse_fault("user fault: process 3 (x) thread 4 at rip=0xzz"),
            None
        );
    }

    #[test]
    fn shortens_workspace_paths() {
        let root = Path::new("/w");
        assert_eq!(
            shorten(root, "/w/userland/src/bin/x.rs"),
            "userland/src/bin/x.rs"
        );
        assert_eq!(
            shorten(root, "/rustc/abc/library/core/src/ptr.rs"),
            "/rustc/abc/library/core/src/ptr.rs"
        );
    }
}
