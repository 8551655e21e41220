//! Host tests of the archive reader: archives written by the `tar` crate
//! (as the runner packs them), hand-made headers for what `tar` writes
//! differently (`./` names, directories), and corrupt images, including
//! random damage that must be refused or read within bounds, never panic.

use super::*;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use proptest::prelude::*;
use std::format;

/// An archive as the runner packs it: ustar headers, in this order.
fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    archive_with(files, tar::Header::new_ustar)
}

fn archive_with(files: &[(&str, &[u8])], new: fn() -> tar::Header) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = new();
        header.set_path(name).unwrap();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A hand-made ustar header: any name bytes, size text and type.
fn raw_header(name: &[u8], size: &[u8], kind: u8) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name);
    h[100..107].copy_from_slice(b"0000644");
    h[SIZE.0..SIZE.0 + size.len()].copy_from_slice(size);
    h[TYPEFLAG] = kind;
    h[MAGIC.0..MAGIC.1].copy_from_slice(b"ustar\x0000");
    fix_checksum(&mut h);
    h
}

fn fix_checksum(h: &mut [u8]) {
    h[CHECKSUM.0..CHECKSUM.1].fill(b' ');
    let sum: u32 = h[..BLOCK].iter().map(|&b| u32::from(b)).sum();
    h[CHECKSUM.0..CHECKSUM.0 + 7].copy_from_slice(format!("{sum:06o}\0").as_bytes());
}

/// Headers (each followed by its data, padded) and two end blocks.
fn raw_archive(members: &[([u8; BLOCK], &[u8])]) -> Vec<u8> {
    let mut image = Vec::new();
    for (header, data) in members {
        image.extend_from_slice(header);
        image.extend_from_slice(data);
        image.resize(image.len().next_multiple_of(BLOCK), 0);
    }
    image.resize(image.len() + 2 * BLOCK, 0);
    image
}

/// The full names of the files, checking on the way that [`Files`] (which
/// reads only what it needs) gives what a walk checking every header does,
/// and that [`Name::join`] puts together what `Display` writes.
fn names(fs: &Bootfs) -> Vec<String> {
    let files: Vec<File> = fs.files().collect();
    assert_eq!(files, checked_files(fs.image));
    let mut buf = [0; NAME_MAX];
    let joined = |f: &File| {
        let name = f.name.to_string();
        assert_eq!(f.name.join(&mut buf), name.as_bytes());
        name
    };
    files.iter().map(joined).collect()
}

/// The files of an accepted archive, reading every header with all checks.
fn checked_files(image: &[u8]) -> Vec<File<'_>> {
    let (mut at, mut files) = (0, Vec::new());
    loop {
        match record(image, at).expect("an accepted archive") {
            Record::End => return files,
            Record::Skip(next) => at = next,
            Record::File(file, next) => {
                files.push(file);
                at = next;
            }
        }
    }
}

#[test]
fn reads_what_the_runner_packs() {
    let img = archive(&[
        ("init", b"abc"),
        ("boot.args", b"hello 1 2\n"),
        ("empty", b""),
        ("data/input.txt", &[7; 1000]),
    ]);
    let fs = Bootfs::parse(&img).unwrap();
    assert_eq!(fs.len(), 4);
    assert_eq!(names(&fs), ["init", "boot.args", "empty", "data/input.txt"]);
    assert_eq!(fs.find("init"), Some(&b"abc"[..]));
    assert_eq!(fs.find("boot.args"), Some(&b"hello 1 2\n"[..]));
    assert_eq!(fs.find("empty"), Some(&b""[..]));
    assert_eq!(fs.find("data/input.txt"), Some(&[7; 1000][..]));
    assert_eq!(fs.find("data"), None);
    assert_eq!(fs.find("input.txt"), None);
    assert_eq!(fs.find("missing"), None);
    assert!(Bootfs::parse(&archive(&[])).unwrap().is_empty());
}

#[test]
fn reads_gnu_headers_and_long_names() {
    let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
    let img = archive(&[("a", b"1"), (&long, b"2")]);
    let fs = Bootfs::parse(&img).unwrap();
    assert_eq!(fs.find(&long), Some(&b"2"[..]));
    assert_eq!(names(&fs)[1], long);
    let gnu = archive_with(&[("a", b"1"), ("b/c", b"2")], tar::Header::new_gnu);
    let fs = Bootfs::parse(&gnu).unwrap();
    assert_eq!(names(&fs), ["a", "b/c"]);
}

#[test]
fn skips_directories_and_leading_dot_slash() {
    let img = raw_archive(&[
        (raw_header(b"./", b"0", b'5'), b""),
        (raw_header(b"./hello", b"3", b'0'), b"abc"),
        (raw_header(b"./data/", b"0", b'5'), b""),
        (raw_header(b"./data/x", b"00000000001", 0), b"y"),
    ]);
    let fs = Bootfs::parse(&img).unwrap();
    assert_eq!(names(&fs), ["hello", "data/x"]);
    assert_eq!(fs.find("hello"), Some(&b"abc"[..]));
    assert_eq!(fs.find("./hello"), None);
}

#[test]
fn data_after_the_end_block_is_ignored() {
    let mut img = archive(&[("a", b"1")]);
    img.extend_from_slice(&archive(&[("b", b"2")]));
    let fs = Bootfs::parse(&img).unwrap();
    assert_eq!(names(&fs), ["a"]);
}

#[test]
fn refuses_truncated_images() {
    let img = archive(&[("a", &[1; 600])]);
    let end = img.len() - 2 * BLOCK;
    for cut in [10, BLOCK, BLOCK + 599, end] {
        assert_eq!(
            Bootfs::parse(&img[..cut]).err(),
            Some(BootfsError::Truncated),
            "cut at {cut}"
        );
    }
    assert!(Bootfs::parse(&img[..end + BLOCK]).is_ok());
    assert_eq!(Bootfs::parse(&[]).err(), Some(BootfsError::Truncated));
}

#[test]
fn refuses_damaged_headers() {
    let img = archive(&[("a", b"hello")]);
    let mut bad = img.clone();
    bad[0] = b'b';
    assert_eq!(Bootfs::parse(&bad).err(), Some(BootfsError::BadChecksum));
    let mut bad = img.clone();
    bad[MAGIC.0] = b'X';
    fix_checksum(&mut bad);
    assert_eq!(Bootfs::parse(&bad).err(), Some(BootfsError::BadMagic));
    let mut bad = img.clone();
    bad[CHECKSUM.0] = b'9';
    assert_eq!(Bootfs::parse(&bad).err(), Some(BootfsError::BadNumber));
    for size in [
        &b"12x"[..],
        b"",
        b"9",
        b"\x80\0\0\0\0\0\0\0\0\0\0\x01",
        b"77777777777777",
    ] {
        let img = raw_archive(&[(raw_header(b"a", &size[..size.len().min(12)], b'0'), b"")]);
        let err = Bootfs::parse(&img).err();
        assert!(
            matches!(err, Some(BootfsError::BadNumber | BootfsError::Truncated)),
            "size {size:?}: {err:?}"
        );
    }
}

#[test]
fn refuses_links_devices_and_extended_headers() {
    for kind in [b'1', b'2', b'3', b'4', b'6', b'x', b'g', b'L', b'K'] {
        let img = raw_archive(&[(raw_header(b"a", b"0", kind), b"")]);
        assert_eq!(
            Bootfs::parse(&img).err(),
            Some(BootfsError::UnsupportedType(kind)),
            "type {}",
            kind as char
        );
    }
}

#[test]
fn refuses_bad_names() {
    let bad: [&[u8]; 8] = [
        b"../x", b"/abs", b"a//b", b"a/./b", b"a/..", b"\xff", b"a/", b"",
    ];
    for name in bad {
        let img = raw_archive(&[(raw_header(name, b"1", b'0'), b"x")]);
        assert_eq!(
            Bootfs::parse(&img).err(),
            Some(BootfsError::BadName),
            "{name:?}"
        );
    }
    let img = raw_archive(&[(raw_header(b"x/../../y/", b"0", b'5'), b"")]);
    assert_eq!(Bootfs::parse(&img).err(), Some(BootfsError::BadName));
}

#[test]
fn refuses_duplicate_names() {
    let img = archive(&[("a", b"1"), ("b", b"2"), ("a", b"3")]);
    assert_eq!(Bootfs::parse(&img).err(), Some(BootfsError::DuplicateName));
    let img = raw_archive(&[
        (raw_header(b"./a", b"1", b'0'), b"1"),
        (raw_header(b"a", b"1", b'0'), b"2"),
    ]);
    assert_eq!(Bootfs::parse(&img).err(), Some(BootfsError::DuplicateName));
}

#[test]
fn names_sharing_a_filter_bit_are_compared_in_full() {
    let bit = |n: &str| Name { head: "", tail: n }.hash() % FILTER_BITS as u64;
    let names: Vec<String> = (0..).map(|i| format!("f{i}")).take(2000).collect();
    let (a, b) = names
        .iter()
        .enumerate()
        .find_map(|(i, a)| names[..i].iter().find(|b| bit(b) == bit(a)).map(|b| (a, b)))
        .expect("two of 2000 names share one of 4096 bits");
    let img = archive(&[(a, b"1"), ("other", b"2"), (b, b"3")]);
    let fs = Bootfs::parse(&img).unwrap();
    assert_eq!((fs.find(a), fs.find(b)), (Some(&b"1"[..]), Some(&b"3"[..])));
    for dup in [a, b] {
        let img = archive(&[(a, b"1"), (b, b"3"), (dup, b"4")]);
        assert_eq!(Bootfs::parse(&img).err(), Some(BootfsError::DuplicateName));
    }
}

#[test]
fn checksums_count_their_own_field_as_spaces() {
    let img = archive(&[("a", b"1")]);
    let stored = octal(field(&img[..BLOCK], CHECKSUM)).unwrap();
    assert_eq!(checksum(&img[..BLOCK]), stored);
    let mut bad = img.clone();
    bad[CHECKSUM.0] = b'7';
    assert_eq!(Bootfs::parse(&bad).err(), Some(BootfsError::BadChecksum));
}

#[test]
fn names_compare_whole() {
    let name = Name {
        head: "ab",
        tail: "c",
    };
    assert!(name.is("ab/c"));
    for other in ["abc", "ab/", "ab/cc", "a/bc", "/c", ""] {
        assert!(!name.is(other), "{other}");
    }
    assert!(name.same(&Name {
        head: "",
        tail: "ab/c"
    }));
    assert!(!name.same(&Name {
        head: "a",
        tail: "b/cc"
    }));
}

proptest! {
    /// Random damage (overwritten bytes, a cut) to a valid archive is
    /// refused or read within bounds with unique names; never a panic.
    #[test]
    fn damaged_archives_never_panic(
        writes in proptest::collection::vec((0usize..4096, any::<u8>()), 0..8),
        cut in 0usize..4096,
    ) {
        let mut img = archive(&[("init", &[1; 700]), ("data/x", b"12345"), ("boot.args", b"a\n")]);
        for (at, byte) in writes {
            let at = at % img.len();
            img[at] = byte;
        }
        img.truncate(cut.min(img.len()));
        if let Ok(fs) = Bootfs::parse(&img) {
            let files: Vec<File> = fs.files().collect();
            prop_assert_eq!(files.len(), fs.len());
            prop_assert_eq!(&files, &checked_files(&img));
            for (i, f) in files.iter().enumerate() {
                let start = f.data.as_ptr() as usize - img.as_ptr() as usize;
                prop_assert!(start + f.data.len() <= img.len());
                prop_assert!(files[..i].iter().all(|g| !g.name.same(&f.name)));
                prop_assert_eq!(fs.find(&f.name.to_string()), Some(f.data));
                let (mut buf, name) = ([0; NAME_MAX], f.name.to_string());
                prop_assert_eq!(f.name.join(&mut buf), name.as_bytes());
            }
        }
    }
}

proptest! {
    /// The word-at-a-time sum is the plain sum, up to a whole block.
    #[test]
    fn byte_sum_adds_every_byte(block in proptest::collection::vec(any::<u8>(), 0..=BLOCK)) {
        let plain: u64 = block.iter().map(|&b| u64::from(b)).sum();
        prop_assert_eq!(byte_sum(&block), plain);
    }
}

#[test]
fn byte_sum_of_a_block_of_0xff_does_not_overflow_its_lanes() {
    assert_eq!(byte_sum(&[0xff; BLOCK]), 255 * BLOCK as u64);
}

/// The octal reader as first written (scan, check the rest, then fold with
/// overflow checks): the model for the one-pass [`octal`].
fn plain_octal(field: &[u8]) -> Result<u64, BootfsError> {
    let start = field.iter().position(|&c| c != b' ').unwrap_or(field.len());
    let digits = &field[start..];
    let end = digits
        .iter()
        .position(|c| !c.is_ascii_digit() || *c >= b'8')
        .unwrap_or(digits.len());
    if end == 0 || digits[end..].iter().any(|&c| c != 0 && c != b' ') {
        return Err(BootfsError::BadNumber);
    }
    digits[..end].iter().try_fold(0u64, |v, &d| {
        v.checked_mul(8)
            .map(|v| v + u64::from(d - b'0'))
            .ok_or(BootfsError::BadNumber)
    })
}

proptest! {
    /// The one-pass octal reader agrees with the plain one on fields as
    /// long as the archive's (12 bytes at most) made of digits, spaces,
    /// NULs and bytes that are neither.
    #[test]
    fn octal_reads_as_the_plain_reader(
        field in proptest::collection::vec(
            proptest::sample::select(b" \x000123456789x\xff".to_vec()),
            0..=12,
        ),
    ) {
        prop_assert_eq!(octal(&field), plain_octal(&field));
    }
}

#[test]
fn octal_fields_as_tar_writes_them() {
    for (field, value) in [
        (&b"00000001750\0"[..], Ok(0o1750)),
        (b"  1750 \0", Ok(0o1750)),
        (b"0000644\0", Ok(0o644)),
        (b"77777777777\0", Ok(0o77777777777)),
        (b"        ", Err(BootfsError::BadNumber)),
        (b"\0\0\0", Err(BootfsError::BadNumber)),
        (b"12 3", Err(BootfsError::BadNumber)),
        (b"128", Err(BootfsError::BadNumber)),
    ] {
        assert_eq!(octal(field), value, "{field:?}");
        assert_eq!(plain_octal(field), value, "{field:?}");
    }
}
