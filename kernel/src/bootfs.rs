//! The boot file system: a POSIX ustar archive (what `tar --format=ustar`
//! writes) of the user programs, `boot.args` and any data files, which the
//! host runner packs and the boot loader hands to the kernel as its ramdisk.
//! This module is the kernel's reader: small, allocation-free, and strict,
//! because the image comes from outside.
//!
//! What it accepts: 512-byte ustar headers (POSIX `ustar\0` `00` or GNU
//! `ustar  \0` magic) with a valid checksum and an octal size; regular files
//! (type `0`, NUL, or `7`) become files; directories (type `5`) are skipped;
//! any other type (links, devices, pax or GNU long-name records) is refused,
//! so what the kernel sees is exactly what the archive lists. A member's
//! name is `prefix/name` (the ustar prefix field, when set), without any
//! leading `./`; it must be valid UTF-8, relative, with no empty, `.` or
//! `..` component, and unique. The archive ends with a zero block; bytes
//! after it are ignored.

/// Size of a header and the unit file data is padded to.
pub const BLOCK: usize = 512;
/// Longest member name: a 155-byte prefix, `/`, a 100-byte name.
pub const NAME_MAX: usize = 256;
/// Size of the name filter [`Bootfs::parse`] finds duplicates with.
const FILTER_BITS: usize = 4096;

const NAME: (usize, usize) = (0, 100);
const SIZE: (usize, usize) = (124, 136);
const CHECKSUM: (usize, usize) = (148, 156);
const TYPEFLAG: usize = 156;
const MAGIC: (usize, usize) = (257, 265);
const PREFIX: (usize, usize) = (345, 500);

/// Why an image could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootfsError {
    /// The image ends inside a header or a file, or before the end block.
    Truncated,
    /// A header has neither ustar magic.
    BadMagic,
    /// A header's checksum does not match its bytes.
    BadChecksum,
    /// A size or checksum field is not an octal number.
    BadNumber,
    /// A name is not UTF-8, absolute, empty, or has an empty, `.` or `..` part.
    BadName,
    /// Two members have the same name.
    DuplicateName,
    /// A member of a type other than a regular file or a directory.
    UnsupportedType(u8),
}

/// A member's name: the archive's prefix and name fields (a leading `./`
/// removed); the full name is `head/tail`, or `tail` when `head` is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    head: &'a str,
    tail: &'a str,
}

impl Name<'_> {
    /// Whether the full name is `name`.
    pub fn is(&self, name: &str) -> bool {
        if self.head.is_empty() {
            return name == self.tail;
        }
        name.len() == self.head.len() + 1 + self.tail.len()
            && name.starts_with(self.head)
            && name.as_bytes()[self.head.len()] == b'/'
            && name.ends_with(self.tail)
    }

    /// The full name, put together in `buf`.
    pub fn join<'b>(&self, buf: &'b mut [u8; NAME_MAX]) -> &'b [u8] {
        let (head, tail) = (self.head.as_bytes(), self.tail.as_bytes());
        let tail_at = if head.is_empty() { 0 } else { head.len() + 1 };
        let len = tail_at + tail.len();
        if !head.is_empty() {
            buf[..head.len()].copy_from_slice(head);
            buf[head.len()] = b'/';
        }
        buf[tail_at..len].copy_from_slice(tail);
        &buf[..len]
    }

    fn same(&self, other: &Name) -> bool {
        self.parts().eq(other.parts())
    }

    /// A hash of the full name (FNV-1a).
    fn hash(&self) -> u64 {
        self.parts().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The bytes of the full name.
    fn parts(&self) -> impl Iterator<Item = u8> + '_ {
        let slash: &[u8] = if self.head.is_empty() { b"" } else { b"/" };
        self.head
            .bytes()
            .chain(slash.iter().copied())
            .chain(self.tail.bytes())
    }
}

impl core::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if !self.head.is_empty() {
            write!(f, "{}/", self.head)?;
        }
        f.write_str(self.tail)
    }
}

/// One file of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct File<'a> {
    pub name: Name<'a>,
    pub data: &'a [u8],
}

/// A parsed, validated archive borrowed from memory.
#[derive(Clone, Copy)]
pub struct Bootfs<'a> {
    image: &'a [u8],
    count: usize,
}

/// What one header block holds.
enum Record<'a> {
    /// The zero block that ends the archive.
    End,
    /// A directory (skipped); the next header is at the offset.
    Skip(usize),
    /// A file; the next header is at the offset.
    File(File<'a>, usize),
}

/// A NUL-terminated field (or all of it when it has no NUL).
fn text(field: &[u8]) -> &[u8] {
    let len = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    &field[..len]
}

/// An octal field: optional leading spaces, digits, then NULs or spaces.
/// One pass over the bytes; the fields are short enough (at most 12 bytes
/// here) that the value cannot overflow.
fn octal(field: &[u8]) -> Result<u64, BootfsError> {
    debug_assert!(field.len() <= 21, "21 octal digits fill 63 bits");
    let mut bytes = field.iter();
    let mut value = 0;
    let mut digits = 0;
    let mut rest = None;
    for &c in &mut bytes {
        match c {
            b'0'..=b'7' => {
                value = value * 8 + u64::from(c - b'0');
                digits += 1;
            }
            b' ' if digits == 0 => {}
            _ => {
                rest = Some(c);
                break;
            }
        }
    }
    let end_ok = |c: u8| c == 0 || c == b' ';
    if digits == 0 || rest.is_some_and(|c| !end_ok(c)) || !bytes.all(|&c| end_ok(c)) {
        return Err(BootfsError::BadNumber);
    }
    Ok(value)
}

fn field(header: &[u8], (start, end): (usize, usize)) -> &[u8] {
    &header[start..end]
}

/// Drops any leading `./` (and the lone `.` of `tar -C dir .`).
fn strip_dot(s: &str) -> &str {
    let mut s = s;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    if s == "." { "" } else { s }
}

fn name_of(header: &[u8]) -> Result<Name<'_>, BootfsError> {
    let utf8 = |b| core::str::from_utf8(b).map_err(|_| BootfsError::BadName);
    let prefix = utf8(text(field(header, PREFIX)))?;
    let name = utf8(text(field(header, NAME)))?;
    let name = if prefix.is_empty() {
        Name {
            head: "",
            tail: strip_dot(name),
        }
    } else {
        Name {
            head: strip_dot(prefix),
            tail: name,
        }
    };
    Ok(name)
}

fn check_name(name: &Name, directory: bool) -> Result<(), BootfsError> {
    let tail = if directory {
        name.tail.strip_suffix('/').unwrap_or(name.tail)
    } else {
        name.tail
    };
    let parts = name.head.split('/').filter(|_| !name.head.is_empty());
    let mut parts = parts.chain(tail.split('/'));
    if parts.any(|p| p.is_empty() || p == "." || p == "..") {
        return Err(BootfsError::BadName);
    }
    Ok(())
}

/// The ustar checksum of a header: the sum of its bytes, with the checksum
/// field counted as spaces.
fn checksum(header: &[u8]) -> u64 {
    let (start, end) = CHECKSUM;
    let field: u64 = header[start..end].iter().map(|&b| u64::from(b)).sum();
    byte_sum(header) - field + (end - start) as u64 * u64::from(b' ')
}

/// The sum of a block's bytes (at most [`BLOCK`] of them), eight at a time:
/// each word's bytes are added in four 16-bit lanes, which 64 words cannot
/// overflow (it is most of the boot's work per archive member otherwise).
fn byte_sum(block: &[u8]) -> u64 {
    const EVEN_BYTES: u64 = 0x00ff_00ff_00ff_00ff;
    debug_assert!(block.len() <= BLOCK);
    let mut words = block.chunks_exact(8);
    let mut lanes = 0u64;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        lanes += (w & EVEN_BYTES) + ((w >> 8) & EVEN_BYTES);
    }
    let rest: u64 = words.remainder().iter().map(|&b| u64::from(b)).sum();
    (0..4)
        .map(|lane| (lanes >> (16 * lane)) & 0xffff)
        .sum::<u64>()
        + rest
}

/// Reads the header at `at`, checking everything about it.
fn record(image: &[u8], at: usize) -> Result<Record<'_>, BootfsError> {
    let header = image.get(at..at + BLOCK).ok_or(BootfsError::Truncated)?;
    if header.iter().all(|&b| b == 0) {
        return Ok(Record::End);
    }
    let magic = field(header, MAGIC);
    if magic != b"ustar\x0000" && magic != b"ustar  \0" {
        return Err(BootfsError::BadMagic);
    }
    if checksum(header) != octal(field(header, CHECKSUM))? {
        return Err(BootfsError::BadChecksum);
    }
    let size = octal(field(header, SIZE))?;
    let data_at = at + BLOCK;
    let size = usize::try_from(size).map_err(|_| BootfsError::Truncated)?;
    let data_end = data_at.checked_add(size).ok_or(BootfsError::Truncated)?;
    let next = data_end
        .checked_next_multiple_of(BLOCK)
        .ok_or(BootfsError::Truncated)?;
    if next > image.len() {
        return Err(BootfsError::Truncated);
    }
    let name = name_of(header)?;
    match header[TYPEFLAG] {
        b'0' | 0 | b'7' => {
            check_name(&name, false)?;
            let data = &image[data_at..data_end];
            Ok(Record::File(File { name, data }, next))
        }
        b'5' => {
            check_name(&name, true).or_else(|e| {
                // The archive's own top directory (`tar -C dir .`) is `./`.
                if name.head.is_empty() && name.tail.is_empty() {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
            Ok(Record::Skip(next))
        }
        other => Err(BootfsError::UnsupportedType(other)),
    }
}

/// Reads the header at `at` of an archive [`Bootfs::parse`] accepted
/// (where [`record`] found it valid), reading only what it needs.
fn read_valid(image: &[u8], at: usize) -> Option<Record<'_>> {
    let header = image.get(at..at + BLOCK)?;
    // A header is all zeros or has the ustar magic.
    if header[MAGIC.0] == 0 {
        return Some(Record::End);
    }
    let size = usize::try_from(octal(field(header, SIZE)).ok()?).ok()?;
    let data_at = at + BLOCK;
    let next = (data_at + size).next_multiple_of(BLOCK);
    if header[TYPEFLAG] == b'5' {
        return Some(Record::Skip(next));
    }
    let name = name_of(header).ok()?;
    let data = image.get(data_at..data_at + size)?;
    Some(Record::File(File { name, data }, next))
}

/// The files of a validated archive, in archive order.
pub struct Files<'a> {
    image: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Files<'a> {
    type Item = File<'a>;

    fn next(&mut self) -> Option<File<'a>> {
        loop {
            match read_valid(self.image, self.at)? {
                Record::End => return None,
                Record::Skip(next) => self.at = next,
                Record::File(file, next) => {
                    self.at = next;
                    return Some(file);
                }
            }
        }
    }
}

impl<'a> Bootfs<'a> {
    /// Checks the whole archive: every header, name and size valid, every
    /// name unique, an end block. After this, reading cannot fail. Each
    /// header is read once; a name is compared with the earlier ones only
    /// when its bit in a filter of name hashes is already set.
    pub fn parse(image: &'a [u8]) -> Result<Self, BootfsError> {
        let mut at = 0;
        let mut count = 0;
        let mut seen = [0u64; FILTER_BITS / 64];
        loop {
            match record(image, at)? {
                Record::End => break,
                Record::Skip(next) => at = next,
                Record::File(file, next) => {
                    let bit = (file.name.hash() % FILTER_BITS as u64) as usize;
                    let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                    let mut earlier = Files { image, at: 0 }.take(count);
                    if seen[word] & mask != 0 && earlier.any(|f| f.name.same(&file.name)) {
                        return Err(BootfsError::DuplicateName);
                    }
                    seen[word] |= mask;
                    count += 1;
                    at = next;
                }
            }
        }
        Ok(Bootfs { image, count })
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the archive holds no file.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The files, in archive order.
    pub fn files(&self) -> Files<'a> {
        Files {
            image: self.image,
            at: 0,
        }
    }

    /// The contents of the file called `name`.
    pub fn find(&self, name: &str) -> Option<&'a [u8]> {
        self.files().find(|f| f.name.is(name)).map(|f| f.data)
    }
}

#[cfg(test)]
mod tests;
