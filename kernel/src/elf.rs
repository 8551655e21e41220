//! ELF64 parsing and validation for the two loaders of this system: the boot
//! loader (which loads the kernel into the higher half) and the kernel (which
//! loads user programs). An image is untrusted input: [`Elf::parse`] checks
//! every header and every loadable segment against the file and against the
//! address range it must fit in, so that loading afterwards cannot go out of
//! bounds.

/// Why an ELF file was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than the header, or a table runs past the end of the file.
    Truncated,
    /// Not `\x7fELF`, not 64-bit little-endian x86_64, or not an executable.
    NotX86_64Executable,
    /// A program header entry has an unexpected size.
    BadHeaderSize,
    /// A loadable segment is malformed (file size above memory size, its
    /// bytes outside the file, an address overflow, or a bad alignment).
    BadSegment,
    /// A segment lies outside the allowed address range, or two overlap.
    SegmentOutOfRange,
    /// The entry point is not inside an executable segment.
    BadEntry,
    /// No loadable segment at all.
    NoSegments,
    /// Dynamically linked (it names an interpreter): only static programs run.
    Dynamic,
}

/// Segment flag: executable.
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
const PAGE: u64 = 4096;
/// Most program headers accepted (real programs have a handful).
const MAX_PHDRS: usize = 64;

/// A loadable segment, validated against the file and the address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub flags: u32,
}

impl Segment {
    /// First page-aligned address the segment touches.
    pub fn page_start(&self) -> u64 {
        self.vaddr & !(PAGE - 1)
    }

    /// End of the last page the segment touches (exclusive).
    pub fn page_end(&self) -> u64 {
        (self.vaddr + self.mem_size).next_multiple_of(PAGE)
    }

    pub fn writable(&self) -> bool {
        self.flags & PF_W != 0
    }

    pub fn executable(&self) -> bool {
        self.flags & PF_X != 0
    }
}

/// A validated ELF64 x86_64 executable borrowed from memory. Addresses it
/// reports (segments, entry, program headers) are where the program is
/// loaded: a position-independent one is moved by its `bias`.
#[derive(Clone, Copy)]
pub struct Elf<'a> {
    data: &'a [u8],
    entry: u64,
    phoff: usize,
    phnum: usize,
    bias: u64,
}

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&d[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&d[at..at + 8]);
    u64::from_le_bytes(b)
}

impl<'a> Elf<'a> {
    /// Validates `data` as a static x86_64 executable whose loadable
    /// segments all lie in `[range_start, range_end)`, do not overlap (at
    /// page granularity), and whose entry point is in an executable segment.
    pub fn parse(data: &'a [u8], range_start: u64, range_end: u64) -> Result<Self, ElfError> {
        Self::parse_at(data, range_start, range_end, None)
    }

    /// [`Elf::parse`], also accepting a static position-independent
    /// executable (`ET_DYN` with no interpreter, as `-static-pie` makes),
    /// whose lowest page is then loaded at `pie_base`.
    pub fn parse_program(
        data: &'a [u8],
        range_start: u64,
        range_end: u64,
        pie_base: u64,
    ) -> Result<Self, ElfError> {
        Self::parse_at(data, range_start, range_end, Some(pie_base))
    }

    fn parse_at(
        data: &'a [u8],
        range_start: u64,
        range_end: u64,
        pie_base: Option<u64>,
    ) -> Result<Self, ElfError> {
        if data.len() < EHDR_SIZE {
            return Err(ElfError::Truncated);
        }
        let ident_ok = &data[..4] == b"\x7fELF" && data[4] == 2 && data[5] == 1 && data[6] == 1;
        let kind = u16_at(data, 16);
        let kind_ok = kind == ET_EXEC || kind == ET_DYN && pie_base.is_some();
        if !ident_ok || !kind_ok || u16_at(data, 18) != EM_X86_64 {
            return Err(ElfError::NotX86_64Executable);
        }
        let phnum = u16_at(data, 56) as usize;
        if phnum > 0 && u16_at(data, 54) as usize != PHDR_SIZE || phnum > MAX_PHDRS {
            return Err(ElfError::BadHeaderSize);
        }
        let phoff = usize::try_from(u64_at(data, 32)).map_err(|_| ElfError::Truncated)?;
        let table_end = phoff
            .checked_add(phnum * PHDR_SIZE)
            .ok_or(ElfError::Truncated)?;
        if table_end > data.len() {
            return Err(ElfError::Truncated);
        }
        let mut elf = Elf {
            data,
            entry: u64_at(data, 24),
            phoff,
            phnum,
            bias: 0,
        };
        if (0..phnum).any(|i| u32_at(elf.phdr(i), 0) == PT_INTERP) {
            return Err(ElfError::Dynamic);
        }
        if let (ET_DYN, Some(base)) = (kind, pie_base) {
            let mut lowest = u64::MAX;
            for seg in elf.raw_segments() {
                lowest = lowest.min(seg?.page_start());
            }
            elf.bias = base
                .checked_sub(lowest)
                .ok_or(ElfError::SegmentOutOfRange)?;
            elf.entry = elf.entry.checked_add(elf.bias).ok_or(ElfError::BadEntry)?;
        }
        let mut any = false;
        let mut entry_ok = false;
        for (i, seg) in elf.raw_segments().enumerate() {
            let seg = seg?;
            if seg.vaddr < range_start || seg.vaddr + seg.mem_size > range_end {
                return Err(ElfError::SegmentOutOfRange);
            }
            for other in elf.raw_segments().take(i) {
                let other = other?;
                if seg.page_start() < other.page_end() && other.page_start() < seg.page_end() {
                    return Err(ElfError::SegmentOutOfRange);
                }
            }
            any = true;
            entry_ok |=
                seg.executable() && (seg.vaddr..seg.vaddr + seg.mem_size).contains(&elf.entry);
        }
        if !any {
            return Err(ElfError::NoSegments);
        }
        if !entry_ok {
            return Err(ElfError::BadEntry);
        }
        Ok(elf)
    }

    fn phdr(&self, i: usize) -> &'a [u8] {
        let at = self.phoff + i * PHDR_SIZE;
        &self.data[at..at + PHDR_SIZE]
    }

    /// Loadable segments, each checked on its own (bounds, sizes, overflow).
    fn raw_segments(&self) -> impl Iterator<Item = Result<Segment, ElfError>> + 'a {
        let this = *self;
        (0..self.phnum)
            .map(move |i| this.phdr(i))
            .filter(|p| u32_at(p, 0) == PT_LOAD)
            .map(move |p| {
                let Some(vaddr) = u64_at(p, 16).checked_add(this.bias) else {
                    return Err(ElfError::BadSegment);
                };
                let seg = Segment {
                    flags: u32_at(p, 4),
                    file_offset: u64_at(p, 8),
                    vaddr,
                    file_size: u64_at(p, 32),
                    mem_size: u64_at(p, 40),
                };
                let align = u64_at(p, 48);
                let file_end = seg.file_offset.checked_add(seg.file_size);
                let bad = seg.file_size > seg.mem_size
                    || file_end.is_none_or(|e| e > this.data.len() as u64)
                    || seg
                        .vaddr
                        .checked_add(seg.mem_size)
                        .is_none_or(|e| e > u64::MAX - PAGE)
                    || (align > 1
                        && (!align.is_power_of_two()
                            || seg.vaddr % align != seg.file_offset % align));
                if bad {
                    Err(ElfError::BadSegment)
                } else {
                    Ok(seg)
                }
            })
    }

    /// The loadable segments (all validated by [`Elf::parse`]).
    pub fn segments(&self) -> impl Iterator<Item = Segment> + 'a {
        self.raw_segments().filter_map(Result::ok)
    }

    /// The bytes a segment takes from the file.
    pub fn segment_data(&self, seg: &Segment) -> &'a [u8] {
        &self.data[seg.file_offset as usize..(seg.file_offset + seg.file_size) as usize]
    }

    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Whether the program carries the native ABI's note
    /// (`abi::NATIVE_NOTE_NAME`); without it, it is a Linux program.
    pub fn is_native(&self) -> bool {
        self.has_note(abi::NATIVE_NOTE_NAME, abi::NATIVE_NOTE_TYPE)
    }

    /// Whether a `PT_NOTE` segment holds a note called `name` (without its
    /// NUL) of type `kind`. Malformed notes end the search of their segment.
    pub fn has_note(&self, name: &[u8], kind: u32) -> bool {
        let d = self.data;
        (0..self.phnum)
            .map(|i| self.phdr(i))
            .filter(|p| u32_at(p, 0) == PT_NOTE)
            .filter_map(|p| {
                let off = usize::try_from(u64_at(p, 8)).ok()?;
                let size = usize::try_from(u64_at(p, 32)).ok()?;
                d.get(off..off.checked_add(size)?)
            })
            .any(|mut notes| {
                while notes.len() >= 12 {
                    let namesz = u32_at(notes, 0) as usize;
                    let descsz = u32_at(notes, 4) as usize;
                    let body = namesz.next_multiple_of(4) + descsz.next_multiple_of(4);
                    let Some(rest) = notes.get(12..).filter(|r| r.len() >= body) else {
                        return false;
                    };
                    let found = rest.get(..namesz);
                    if u32_at(notes, 8) == kind
                        && found.is_some_and(|n| n.strip_suffix(b"\0") == Some(name))
                    {
                        return true;
                    }
                    notes = &rest[body..];
                }
                false
            })
    }

    /// Where the program headers are in memory once loaded (`AT_PHDR`): the
    /// `PT_PHDR` segment's address, else the address of the loadable
    /// segment that holds them in the file; `None` if none does.
    pub fn phdr_address(&self) -> Option<u64> {
        let phdr = (0..self.phnum)
            .map(|i| self.phdr(i))
            .find(|p| u32_at(p, 0) == PT_PHDR);
        if let Some(p) = phdr {
            return Some(u64_at(p, 16).wrapping_add(self.bias));
        }
        let table = self.phoff as u64;
        self.segments()
            .find(|s| (s.file_offset..s.file_offset + s.file_size).contains(&table))
            .map(|s| s.vaddr + (table - s.file_offset))
    }

    /// Number of program headers (`AT_PHNUM`).
    pub fn phnum(&self) -> usize {
        self.phnum
    }

    /// The end of the highest loadable segment, page aligned: where a Linux
    /// program's break starts.
    pub fn end(&self) -> u64 {
        self.segments().map(|s| s.page_end()).max().unwrap_or(0)
    }

    /// The thread-local-storage template segment, if any, as `(vaddr, file_size, mem_size)`.
    pub fn tls(&self) -> Option<(u64, u64, u64)> {
        (0..self.phnum)
            .map(|i| self.phdr(i))
            .find(|p| u32_at(p, 0) == PT_TLS)
            .map(|p| (u64_at(p, 16), u64_at(p, 32), u64_at(p, 40)))
    }

    /// The contents of the section called `name`, if the file has a valid
    /// section table that names it.
    pub fn section(&self, name: &str) -> Option<&'a [u8]> {
        let d = self.data;
        let shoff = usize::try_from(u64_at(d, 40)).ok()?;
        let shnum = u16_at(d, 60) as usize;
        let shstrndx = u16_at(d, 62) as usize;
        if shnum == 0 || u16_at(d, 58) as usize != SHDR_SIZE || shstrndx >= shnum {
            return None;
        }
        if shoff.checked_add(shnum * SHDR_SIZE)? > d.len() {
            return None;
        }
        let shdr = |i: usize| &d[shoff + i * SHDR_SIZE..shoff + (i + 1) * SHDR_SIZE];
        let body = |h: &[u8]| -> Option<&'a [u8]> {
            let off = usize::try_from(u64_at(h, 24)).ok()?;
            let size = usize::try_from(u64_at(h, 32)).ok()?;
            d.get(off..off.checked_add(size)?)
        };
        let strtab = body(shdr(shstrndx))?;
        (0..shnum).find_map(|i| {
            let h = shdr(i);
            let name_at = u32_at(h, 0) as usize;
            let rest = strtab.get(name_at..)?;
            let end = rest.iter().position(|&c| c == 0)?;
            if &rest[..end] == name.as_bytes() {
                body(h)
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Builds a minimal executable: one header, the given segments as
    /// `(vaddr, mem_size, flags, bytes)`, no sections.
    fn build(entry: u64, segs: &[(u64, u64, u32, &[u8])]) -> Vec<u8> {
        let mut f = vec![0u8; EHDR_SIZE + segs.len() * PHDR_SIZE];
        f[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        f[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        f[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
        f[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        f[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for (i, (vaddr, mem, flags, bytes)) in segs.iter().enumerate() {
            let off = f.len().next_multiple_of(PAGE as usize) as u64 + vaddr % PAGE;
            f.resize(off as usize, 0);
            f.extend_from_slice(bytes);
            let p = EHDR_SIZE + i * PHDR_SIZE;
            f[p..p + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
            f[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
            f[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
            f[p + 16..p + 24].copy_from_slice(&vaddr.to_le_bytes());
            f[p + 32..p + 40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
            f[p + 40..p + 48].copy_from_slice(&mem.to_le_bytes());
            f[p + 48..p + 56].copy_from_slice(&PAGE.to_le_bytes());
        }
        f
    }

    const LO: u64 = 0x40_0000;
    const HI: u64 = 0x8000_0000_0000;

    #[test]
    fn accepts_a_valid_program() {
        let f = build(
            0x40_1000,
            &[
                (0x40_1000, 16, PF_X, b"code"),
                (0x40_3000, 0x2000, PF_W, b"data"),
            ],
        );
        let elf = Elf::parse(&f, LO, HI).unwrap();
        assert_eq!(elf.entry(), 0x40_1000);
        let segs: Vec<_> = elf.segments().collect();
        assert_eq!(segs.len(), 2);
        assert_eq!(elf.segment_data(&segs[0]), b"code");
        assert!(segs[1].writable() && !segs[1].executable());
        assert_eq!(segs[1].page_end(), 0x40_5000);
        assert!(elf.tls().is_none());
        assert!(elf.section(".bootloader-config").is_none());
    }

    #[test]
    fn rejects_wrong_kind_of_file() {
        assert_eq!(
            Elf::parse(b"short", LO, HI).err(),
            Some(ElfError::Truncated)
        );
        let mut f = build(0x40_1000, &[(0x40_1000, 16, PF_X, b"code")]);
        f[18] = 3; // EM_386
        assert_eq!(
            Elf::parse(&f, LO, HI).err(),
            Some(ElfError::NotX86_64Executable)
        );
        let mut f = build(0x40_1000, &[(0x40_1000, 16, PF_X, b"code")]);
        f[54] = 40;
        assert_eq!(Elf::parse(&f, LO, HI).err(), Some(ElfError::BadHeaderSize));
        assert_eq!(
            Elf::parse(&build(0x40_1000, &[]), LO, HI).err(),
            Some(ElfError::NoSegments)
        );
    }

    #[test]
    fn rejects_segments_outside_file_or_range() {
        let mut f = build(0x40_1000, &[(0x40_1000, 16, PF_X, b"code")]);
        let filesz_at = EHDR_SIZE + 32;
        f[filesz_at..filesz_at + 8].copy_from_slice(&1_000_000u64.to_le_bytes());
        assert_eq!(Elf::parse(&f, LO, HI).err(), Some(ElfError::BadSegment));
        // Kernel memory for a user program.
        let f = build(
            0xffff_8000_0000_0000,
            &[(0xffff_8000_0000_0000, 16, PF_X, b"code")],
        );
        assert_eq!(
            Elf::parse(&f, LO, HI).err(),
            Some(ElfError::SegmentOutOfRange)
        );
        // Wrapping size.
        let f = build(0x40_1000, &[(0x40_1000, u64::MAX - 0x1000, PF_X, b"code")]);
        assert_eq!(Elf::parse(&f, LO, HI).err(), Some(ElfError::BadSegment));
        // Overlapping pages.
        let f = build(
            0x40_1000,
            &[(0x40_1000, 16, PF_X, b"a"), (0x40_1800, 16, PF_W, b"b")],
        );
        assert_eq!(
            Elf::parse(&f, LO, HI).err(),
            Some(ElfError::SegmentOutOfRange)
        );
    }

    /// Appends a PT_NOTE segment holding `notes` to an executable.
    fn with_notes(mut f: Vec<u8>, notes: &[u8]) -> Vec<u8> {
        let off = f.len() as u64;
        f.extend_from_slice(notes);
        let count = u16_at(&f, 56) as usize;
        let mut ph = vec![0u8; PHDR_SIZE];
        ph[0..4].copy_from_slice(&PT_NOTE.to_le_bytes());
        ph[8..16].copy_from_slice(&off.to_le_bytes());
        ph[32..40].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        // Move the header table to the end, one entry longer.
        let table = f[EHDR_SIZE..EHDR_SIZE + count * PHDR_SIZE].to_vec();
        let at = f.len() as u64;
        f.extend_from_slice(&table);
        f.extend_from_slice(&ph);
        f[32..40].copy_from_slice(&at.to_le_bytes());
        f[56..58].copy_from_slice(&(count as u16 + 1).to_le_bytes());
        f
    }

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&kind.to_le_bytes());
        n.extend_from_slice(name);
        n.push(0);
        n.resize(n.len().next_multiple_of(4), 0);
        n.extend_from_slice(desc);
        n.resize(n.len().next_multiple_of(4), 0);
        n
    }

    #[test]
    fn finds_the_native_note() {
        let plain = build(0x40_1000, &[(0x40_1000, 16, PF_X, b"code")]);
        assert!(!Elf::parse(&plain, LO, HI).unwrap().is_native());
        let mut notes = note(b"GNU", 3, &[1; 20]);
        notes.extend(note(b"doors", abi::NATIVE_NOTE_TYPE, &1u32.to_le_bytes()));
        let f = with_notes(plain.clone(), &notes);
        let elf = Elf::parse(&f, LO, HI).unwrap();
        assert!(elf.is_native());
        assert!(elf.has_note(b"GNU", 3));
        assert!(!elf.has_note(b"doors", 2), "another type");
        assert!(!elf.has_note(b"door", abi::NATIVE_NOTE_TYPE), "a prefix");
        // A note whose size runs past its segment is not read.
        let mut bad = note(b"doors", abi::NATIVE_NOTE_TYPE, &[0; 4]);
        bad[4..8].copy_from_slice(&1000u32.to_le_bytes());
        let f = with_notes(plain, &bad);
        assert!(!Elf::parse(&f, LO, HI).unwrap().is_native());
    }

    #[test]
    fn program_headers_and_end() {
        // The header table at file offset 64 lies in no segment of `build`'s
        // files (they start a page in).
        let f = build(
            0x40_1000,
            &[
                (0x40_1000, 16, PF_X, b"code"),
                (0x40_3000, 0x2001, PF_W, b"d"),
            ],
        );
        let elf = Elf::parse(&f, LO, HI).unwrap();
        assert_eq!(elf.phdr_address(), None);
        assert_eq!(elf.phnum(), 2);
        assert_eq!(elf.end(), 0x40_6000);
        // A segment from offset 0 (as ld lays out executables) holds it.
        let mut f = build(0x40_1000, &[(0x40_1000, 16, PF_X, b"code")]);
        let p = EHDR_SIZE;
        f[p + 8..p + 16].copy_from_slice(&0u64.to_le_bytes());
        f[p + 16..p + 24].copy_from_slice(&0x40_0000u64.to_le_bytes());
        let len = f.len() as u64;
        f[p + 32..p + 40].copy_from_slice(&len.to_le_bytes());
        f[p + 40..p + 48].copy_from_slice(&len.to_le_bytes());
        let elf = Elf::parse(&f, LO, HI).unwrap();
        assert_eq!(elf.phdr_address(), Some(0x40_0040));
    }

    /// `build`'s file as a position-independent one (ET_DYN).
    fn as_pie(mut f: Vec<u8>) -> Vec<u8> {
        f[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
        f
    }

    #[test]
    fn loads_static_pies_at_a_base() {
        let f = as_pie(build(
            0x1008,
            &[(0x1000, 16, PF_X, b"code"), (0x3000, 0x2000, PF_W, b"d")],
        ));
        assert_eq!(
            Elf::parse(&f, LO, HI).err(),
            Some(ElfError::NotX86_64Executable),
            "plain parse takes executables only"
        );
        let elf = Elf::parse_program(&f, LO, HI, 0x40_0000).unwrap();
        assert_eq!(elf.entry(), 0x40_0008);
        let segs: Vec<_> = elf.segments().collect();
        assert_eq!(segs[0].vaddr, 0x40_0000);
        assert_eq!(segs[1].vaddr, 0x40_2000);
        assert_eq!(elf.end(), 0x40_4000);
        // Below the range once moved, or moved past the end of memory.
        assert_eq!(
            Elf::parse_program(&f, LO, HI, 0x1000).err(),
            Some(ElfError::SegmentOutOfRange)
        );
        assert!(Elf::parse_program(&f, LO, HI, u64::MAX - 0x1000).is_err());
        // An executable is not moved.
        let exe = build(0x40_1000, &[(0x40_1000, 16, PF_X, b"code")]);
        let elf = Elf::parse_program(&exe, LO, HI, 0x80_0000).unwrap();
        assert_eq!(elf.entry(), 0x40_1000);
    }

    #[test]
    fn refuses_dynamic_programs() {
        let exe = build(
            0x40_1000,
            &[(0x40_1000, 16, PF_X, b"c"), (0x40_3000, 16, 0, b"i")],
        );
        // The first header becomes PT_INTERP: the second holds the code now.
        let f = {
            let mut f = exe.clone();
            let p = EHDR_SIZE + PHDR_SIZE;
            f[p + 4..p + 8].copy_from_slice(&PF_X.to_le_bytes());
            f[24..32].copy_from_slice(&0x40_3000u64.to_le_bytes());
            f
        };
        assert!(Elf::parse(&f, LO, HI).is_ok());
        let mut dynamic = f.clone();
        dynamic[EHDR_SIZE..EHDR_SIZE + 4].copy_from_slice(&PT_INTERP.to_le_bytes());
        assert_eq!(Elf::parse(&dynamic, LO, HI).err(), Some(ElfError::Dynamic));
        let pie = as_pie(dynamic);
        assert_eq!(
            Elf::parse_program(&pie, LO, HI, 0x40_0000).err(),
            Some(ElfError::Dynamic)
        );
    }

    #[test]
    fn rejects_entry_outside_code() {
        let f = build(
            0x40_3000,
            &[
                (0x40_1000, 16, PF_X, b"code"),
                (0x40_3000, 16, PF_W, b"data"),
            ],
        );
        assert_eq!(Elf::parse(&f, LO, HI).err(), Some(ElfError::BadEntry));
    }
}
