//! The boot file system: a flat, read-only archive of named files (the user
//! programs and `boot.args`) that the host runner packs and the boot loader
//! hands to the kernel as its ramdisk. Both sides use this one module, so the
//! format is defined in a single place.
//!
//! Layout (little endian): a 16-byte header (`MAGIC`, entry count as `u32`,
//! 4 reserved bytes), then `count` entries of [`ENTRY_SIZE`] bytes (a
//! NUL-padded name of at most [`NAME_MAX`] bytes, the file's offset from the
//! start of the image and its length, both `u64`), then the file contents,
//! each starting on a 4 KiB boundary.

/// First bytes of every image.
pub const MAGIC: &[u8; 8] = b"DOORFS01";
/// Longest file name.
pub const NAME_MAX: usize = 48;
/// Size of one directory entry.
pub const ENTRY_SIZE: usize = NAME_MAX + 16;
const HEADER_SIZE: usize = 16;
/// Files start on this boundary.
pub const ALIGN: usize = 4096;

/// Why an image could not be built or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootfsError {
    BadMagic,
    Truncated,
    BadName,
    DuplicateName,
    FileOutOfBounds,
}

/// A parsed, validated image borrowed from memory.
#[derive(Clone, Copy)]
pub struct Bootfs<'a> {
    image: &'a [u8],
    count: usize,
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

impl<'a> Bootfs<'a> {
    /// Checks the whole directory: every name valid and unique, every file
    /// inside the image. After this, lookups cannot fail on a bad entry.
    pub fn parse(image: &'a [u8]) -> Result<Self, BootfsError> {
        if image.len() < HEADER_SIZE {
            return Err(BootfsError::Truncated);
        }
        if &image[..8] != MAGIC {
            return Err(BootfsError::BadMagic);
        }
        let count = u32::from_le_bytes([image[8], image[9], image[10], image[11]]) as usize;
        let dir_end = count
            .checked_mul(ENTRY_SIZE)
            .and_then(|d| d.checked_add(HEADER_SIZE))
            .ok_or(BootfsError::Truncated)?;
        if dir_end > image.len() {
            return Err(BootfsError::Truncated);
        }
        let fs = Bootfs { image, count };
        for i in 0..count {
            let (name, off, len) = fs.raw_entry(i);
            let name = core::str::from_utf8(name).map_err(|_| BootfsError::BadName)?;
            if name.is_empty() {
                return Err(BootfsError::BadName);
            }
            let end = off.checked_add(len).ok_or(BootfsError::FileOutOfBounds)?;
            if off < dir_end as u64 || end > image.len() as u64 {
                return Err(BootfsError::FileOutOfBounds);
            }
            if (0..i).any(|j| fs.raw_entry(j).0 == name.as_bytes()) {
                return Err(BootfsError::DuplicateName);
            }
        }
        Ok(fs)
    }

    fn raw_entry(&self, i: usize) -> (&'a [u8], u64, u64) {
        let at = HEADER_SIZE + i * ENTRY_SIZE;
        let name = &self.image[at..at + NAME_MAX];
        let name_len = name.iter().position(|&c| c == 0).unwrap_or(NAME_MAX);
        (
            &name[..name_len],
            read_u64(self.image, at + NAME_MAX),
            read_u64(self.image, at + NAME_MAX + 8),
        )
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the image holds no file.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The `i`th file as `(name, contents)`.
    pub fn entry(&self, i: usize) -> Option<(&'a str, &'a [u8])> {
        if i >= self.count {
            return None;
        }
        let (name, off, len) = self.raw_entry(i);
        // Both were validated by `parse`.
        let name = core::str::from_utf8(name).unwrap_or("");
        Some((name, &self.image[off as usize..(off + len) as usize]))
    }

    /// The contents of the file called `name`.
    pub fn find(&self, name: &str) -> Option<&'a [u8]> {
        (0..self.count)
            .filter_map(|i| self.entry(i))
            .find(|(n, _)| *n == name)
            .map(|(_, data)| data)
    }
}

/// Packs `files` into an image that [`Bootfs::parse`] accepts (host side:
/// the runner builds the image).
#[cfg(any(test, feature = "alloc"))]
pub fn build(files: &[(&str, &[u8])]) -> Result<alloc::vec::Vec<u8>, BootfsError> {
    let mut image = alloc::vec::Vec::new();
    image.extend_from_slice(MAGIC);
    image.extend_from_slice(&(files.len() as u32).to_le_bytes());
    image.extend_from_slice(&[0; 4]);
    let dir_end = HEADER_SIZE + files.len() * ENTRY_SIZE;
    let mut offset = dir_end.next_multiple_of(ALIGN);
    for (i, (name, data)) in files.iter().enumerate() {
        if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
            return Err(BootfsError::BadName);
        }
        if files[..i].iter().any(|(n, _)| n == name) {
            return Err(BootfsError::DuplicateName);
        }
        let mut entry = [0u8; ENTRY_SIZE];
        entry[..name.len()].copy_from_slice(name.as_bytes());
        entry[NAME_MAX..NAME_MAX + 8].copy_from_slice(&(offset as u64).to_le_bytes());
        entry[NAME_MAX + 8..].copy_from_slice(&(data.len() as u64).to_le_bytes());
        image.extend_from_slice(&entry);
        offset = (offset + data.len()).next_multiple_of(ALIGN);
    }
    for (_, data) in files {
        image.resize(image.len().next_multiple_of(ALIGN), 0);
        image.extend_from_slice(data);
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let img = build(&[
            ("init", b"abc"),
            ("boot.args", b"hello 1 2\n"),
            ("empty", b""),
        ])
        .unwrap();
        let fs = Bootfs::parse(&img).unwrap();
        assert_eq!(fs.len(), 3);
        assert_eq!(fs.find("init"), Some(&b"abc"[..]));
        assert_eq!(fs.find("boot.args"), Some(&b"hello 1 2\n"[..]));
        assert_eq!(fs.find("empty"), Some(&b""[..]));
        assert_eq!(fs.find("missing"), None);
        assert_eq!(fs.entry(1).unwrap().0, "boot.args");
        assert!(fs.entry(3).is_none());
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(build(&[("", b"x")]), Err(BootfsError::BadName));
        let long = "n".repeat(NAME_MAX + 1);
        assert_eq!(build(&[(&long, b"x")]), Err(BootfsError::BadName));
        assert_eq!(
            build(&[("a", b"x"), ("a", b"y")]),
            Err(BootfsError::DuplicateName)
        );
    }

    #[test]
    fn rejects_corrupt_images() {
        let img = build(&[("a", b"hello")]).unwrap();
        assert_eq!(
            Bootfs::parse(&img[..10]).err(),
            Some(BootfsError::Truncated)
        );
        let mut bad = img.clone();
        bad[0] = b'X';
        assert_eq!(Bootfs::parse(&bad).err(), Some(BootfsError::BadMagic));
        let mut huge_count = img.clone();
        huge_count[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Bootfs::parse(&huge_count).err(),
            Some(BootfsError::Truncated)
        );
        let mut past_end = img.clone();
        let len_at = HEADER_SIZE + NAME_MAX + 8;
        past_end[len_at..len_at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert_eq!(
            Bootfs::parse(&past_end).err(),
            Some(BootfsError::FileOutOfBounds)
        );
        let truncated_file = &img[..img.len() - 1];
        assert_eq!(
            Bootfs::parse(truncated_file).err(),
            Some(BootfsError::FileOutOfBounds)
        );
    }
}
