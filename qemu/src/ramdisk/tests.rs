//! The boot file system of a run: built programs, prebuilt ELFs named by
//! host path, `--add` files and `boot.args`, packed into an archive the
//! kernel's reader accepts, and archives packed elsewhere read back.

use super::*;
use crate::images::Program;

/// A scratch directory with fake built programs (ELF-looking files).
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("qemu-ramdisk-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        path
    }

    fn images(&self) -> Images {
        let programs = ["hello", "init"]
            .iter()
            .map(|name| Program {
                name: name.to_string(),
                elf: self.file(
                    &format!("built/{name}"),
                    format!("\x7fELF\x02{name}").as_bytes(),
                ),
            })
            .collect();
        Images {
            kernel: self.dir.join("kernel"),
            boot: self.dir.join("boot"),
            programs,
            broken: Vec::new(),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn packs_programs_prebuilt_elfs_files_and_the_plan() {
    let s = Scratch::new("pack");
    let images = s.images();
    let tool = s.file("out/tool.elf", b"\x7fELF\x02tool");
    let data = s.file("in.txt", b"42\n");
    let mut run = Run::new(&[tool.to_str().unwrap(), "data/in.txt"])
        .then(&["hello"])
        .add(&data, "data/in.txt");
    run.together = true;
    let fs = BootFs::for_run(&images, &run).unwrap();
    assert_eq!(fs.plan, [vec!["tool.elf", "data/in.txt"], vec!["hello"]]);
    assert!(fs.together);
    assert_eq!(fs.sources["tool.elf"], tool);
    assert_eq!(fs.sources["hello"], images.programs[0].elf);

    let image = fs.pack().unwrap();
    let archive = Bootfs::parse(&image).unwrap();
    let names: Vec<String> = archive.files().map(|f| f.name.to_string()).collect();
    assert_eq!(
        names,
        ["hello", "init", "data/in.txt", "tool.elf", "boot.args"]
    );
    assert_eq!(archive.find("tool.elf"), Some(&b"\x7fELF\x02tool"[..]));
    assert_eq!(archive.find("data/in.txt"), Some(&b"42\n"[..]));
    assert_eq!(
        archive.find("boot.args"),
        Some(&b"@together\ntool.elf data/in.txt\nhello\n"[..])
    );
    assert_eq!(fs.pack().unwrap(), image, "packing is deterministic");
    assert!(fs.listing().contains("         3  data/in.txt\n"));
}

#[test]
fn a_prebuilt_elf_replaces_a_built_program_of_its_name() {
    let s = Scratch::new("replace");
    let mine = s.file("mine/hello", b"\x7fELF\x02mine");
    let fs = BootFs::for_run(&s.images(), &Run::new(&[mine.to_str().unwrap()])).unwrap();
    assert_eq!(fs.file("hello"), Some(&b"\x7fELF\x02mine"[..]));
    assert_eq!(fs.plan, [vec!["hello"]]);
}

#[test]
fn refuses_what_cannot_boot() {
    let s = Scratch::new("refuse");
    let images = s.images();
    let text = s.file("notes.txt", b"hello");
    let a = s.file("a/x", b"\x7fELF\x02a");
    let b = s.file("b/x", b"\x7fELF\x02b");
    let cases = [
        Run::new(&[text.to_str().unwrap()]),
        Run::new(&["nosuch"]),
        Run::new(&["./no/such/file"]),
        Run::new(&[a.to_str().unwrap()]).then(&[b.to_str().unwrap()]),
        Run::new(&["hello"]).add(&text, "boot.args"),
        Run::new(&["hello"]).add(s.dir.join("missing"), "m"),
        Run::new(&["hello", "two words"]),
    ];
    for run in cases {
        let result = BootFs::for_run(&images, &run);
        assert!(
            matches!(result, Err(Error::Config(_))),
            "{run:?}: {result:?}"
        );
    }
    let same = Run::new(&[a.to_str().unwrap()]).then(&[a.to_str().unwrap(), "again"]);
    assert_eq!(BootFs::for_run(&images, &same).unwrap().plan.len(), 2);
}

#[test]
fn opens_archives_packed_elsewhere() {
    let s = Scratch::new("open");
    let fs = BootFs::for_run(&s.images(), &Run::new(&["hello", "x"])).unwrap();
    let path = s.file("grader.tar", &fs.pack().unwrap());
    let opened = BootFs::open(&path).unwrap();
    assert_eq!(opened.plan, [vec!["hello", "x"]]);
    assert!(!opened.together);
    assert_eq!(opened.file("hello"), fs.file("hello"));
    assert!(opened.sources.is_empty());

    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(6);
    header.set_cksum();
    builder
        .append_data(&mut header, "boot.args", &b"hello\n"[..])
        .unwrap();
    let no_init = s.file("no-init.tar", &builder.into_inner().unwrap());
    assert!(matches!(BootFs::open(&no_init), Err(Error::Config(m)) if m.contains("init")));
    let garbage = s.file("garbage.tar", &[1; 1024]);
    assert!(matches!(BootFs::open(&garbage), Err(Error::Config(m)) if m.contains("ustar")));
}

#[test]
fn paths_are_unique() {
    let dir = Path::new("/x");
    assert_ne!(unique_path(dir), unique_path(dir));
}
