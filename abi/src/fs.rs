//! Files: open flags, seek origins, file types and permission bits, limits,
//! `struct stat` and the `getdents64` record.
//!
//! Every value here is Linux's (x86-64): the native system calls adopt them,
//! so the Linux personality passes flags, modes and structures through
//! without translation. Where illumos differs (its `O_CREAT` is 0x100, its
//! `struct stat` another layout) a native program still sees only these
//! values, through this crate. One addition has no Linux counterpart:
//! [`S_IFDOOR`], illumos's file type of a door.

/// Open for reading only.
pub const O_RDONLY: u32 = 0;
/// Open for writing only.
pub const O_WRONLY: u32 = 1;
/// Open for reading and writing.
pub const O_RDWR: u32 = 2;
/// The bits that hold the access mode (3 is not a valid mode).
pub const O_ACCMODE: u32 = 3;
/// Create the file if it does not exist.
pub const O_CREAT: u32 = 0o100;
/// With [`O_CREAT`]: fail with EEXIST if the path exists.
pub const O_EXCL: u32 = 0o200;
/// Do not make a terminal the controlling terminal (accepted, no effect:
/// there are no controlling terminals).
pub const O_NOCTTY: u32 = 0o400;
/// Truncate a regular file to length 0 (needs write permission).
pub const O_TRUNC: u32 = 0o1000;
/// Every write goes to the end of the file.
pub const O_APPEND: u32 = 0o2000;
/// Reads and writes that would block fail with EAGAIN instead.
pub const O_NONBLOCK: u32 = 0o4000;
/// Synchronous data writes (accepted, no effect: the file system is RAM).
pub const O_DSYNC: u32 = 0o10000;
/// Large files (accepted, no effect: offsets are always 64-bit; musl sets it).
pub const O_LARGEFILE: u32 = 0o100000;
/// Fail with ENOTDIR unless the path names a directory.
pub const O_DIRECTORY: u32 = 0o200000;
/// Do not follow a final symbolic link (accepted, no effect: there are none).
pub const O_NOFOLLOW: u32 = 0o400000;
/// Close the descriptor when the process starts another program (a
/// descriptor flag, kept by the descriptor table, not the open file).
pub const O_CLOEXEC: u32 = 0o2000000;
/// Synchronous writes (accepted, no effect; includes [`O_DSYNC`]).
pub const O_SYNC: u32 = 0o4010000;
/// Every flag `open` accepts; any other bit is EINVAL.
pub const O_VALID: u32 = O_ACCMODE
    | O_CREAT
    | O_EXCL
    | O_NOCTTY
    | O_TRUNC
    | O_APPEND
    | O_NONBLOCK
    | O_SYNC
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | O_CLOEXEC;
/// The flags of an open file that `fcntl(F_SETFL)` may change.
pub const O_SETFL_MASK: u32 = O_APPEND | O_NONBLOCK;

/// The directory descriptor that stands for the current directory in the
/// `*at` calls.
pub const AT_FDCWD: i32 = -100;
/// `fstatat`: do not follow a final symbolic link (accepted, no effect:
/// there are none).
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `unlinkat`: remove a directory (as `rmdir`).
pub const AT_REMOVEDIR: u32 = 0x200;
/// `faccessat`: check with the effective ids, not the real ones.
pub const AT_EACCESS: u32 = 0x200;
/// `fstatat`: an empty path names the directory descriptor itself.
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// `fcntl`: duplicate to the lowest free descriptor at or above the argument.
pub const F_DUPFD: u32 = 0;
/// `fcntl`: the descriptor flags ([`FD_CLOEXEC`]).
pub const F_GETFD: u32 = 1;
/// `fcntl`: set the descriptor flags.
pub const F_SETFD: u32 = 2;
/// `fcntl`: the access mode and status flags.
pub const F_GETFL: u32 = 3;
/// `fcntl`: set the status flags ([`O_SETFL_MASK`]; others are ignored).
pub const F_SETFL: u32 = 4;
/// `fcntl`: [`F_DUPFD`], with the new descriptor close-on-exec.
pub const F_DUPFD_CLOEXEC: u32 = 1030;
/// The descriptor flag close-on-exec.
pub const FD_CLOEXEC: u32 = 1;

/// `lseek` from the start of the file.
pub const SEEK_SET: u32 = 0;
/// `lseek` from the current offset.
pub const SEEK_CUR: u32 = 1;
/// `lseek` from the end of the file.
pub const SEEK_END: u32 = 2;

/// `access` mode: the file exists.
pub const F_OK: u32 = 0;
/// `access` mode: execute (search, for a directory).
pub const X_OK: u32 = 1;
/// `access` mode: write.
pub const W_OK: u32 = 2;
/// `access` mode: read.
pub const R_OK: u32 = 4;

/// The bits of `st_mode` that hold the file type.
pub const S_IFMT: u32 = 0o170000;
/// A door (illumos's `S_IFDOOR`; Linux has no such type).
pub const S_IFDOOR: u32 = 0o150000;
/// A regular file.
pub const S_IFREG: u32 = 0o100000;
/// A directory.
pub const S_IFDIR: u32 = 0o040000;
/// A block device.
pub const S_IFBLK: u32 = 0o060000;
/// A character device.
pub const S_IFCHR: u32 = 0o020000;
/// A pipe.
pub const S_IFIFO: u32 = 0o010000;
/// A socket.
pub const S_IFSOCK: u32 = 0o140000;
/// Set user id on execution (stored; this kernel changes no credentials).
pub const S_ISUID: u32 = 0o4000;
/// Set group id on execution (stored; this kernel changes no credentials).
pub const S_ISGID: u32 = 0o2000;
/// Sticky: in a directory, only a file's owner, the directory's owner or
/// root may remove or rename the file.
pub const S_ISVTX: u32 = 0o1000;
/// Owner read, write and execute.
pub const S_IRWXU: u32 = 0o700;
pub const S_IRUSR: u32 = 0o400;
pub const S_IWUSR: u32 = 0o200;
pub const S_IXUSR: u32 = 0o100;
/// Group read, write and execute.
pub const S_IRWXG: u32 = 0o070;
pub const S_IRGRP: u32 = 0o040;
pub const S_IWGRP: u32 = 0o020;
pub const S_IXGRP: u32 = 0o010;
/// Others' read, write and execute.
pub const S_IRWXO: u32 = 0o007;
pub const S_IROTH: u32 = 0o004;
pub const S_IWOTH: u32 = 0o002;
pub const S_IXOTH: u32 = 0o001;
/// The mode bits `chmod` and `open`/`mkdir` take (permissions, set-id, sticky).
pub const S_IALLUGO: u32 = 0o7777;

/// Longest name of one directory entry, in bytes.
pub const NAME_MAX: usize = 255;
/// Longest path a call accepts, counting the terminating NUL of C (so at
/// most `PATH_MAX - 1` bytes of path), as illumos's `MAXPATHLEN`.
pub const PATH_MAX: usize = 1024;
/// A pipe write of at most this many bytes is atomic (Linux's value).
pub const PIPE_BUF: usize = 4096;

/// Most bytes one `read`, `write`, `pread`, `pwrite` or `getdents64`
/// moves (a larger request gets a short count, as Linux may give): it
/// bounds how long one system call runs with interrupts off.
pub const IO_MAX: usize = 256 * 1024;
/// Pages of file data the RAM file system holds at most, all files
/// together (then ENOSPC).
pub const FS_MAX_PAGES: usize = 8192;
/// Files, directories and devices the RAM file system holds at most (then
/// ENOSPC), the ones made at boot and the boot archive's included.
pub const FS_MAX_NODES: usize = 4096;
/// Pipes that exist at once at most (then ENFILE).
pub const MAX_PIPES: usize = 256;
/// Open-file descriptions that exist at once at most, all processes
/// together (then ENFILE): they live on the kernel heap, which every
/// process's descriptor table full of them would overrun.
pub const MAX_OPEN_FILES: usize = 16384;

/// `d_type` of a `getdents64` record: unknown.
pub const DT_UNKNOWN: u8 = 0;
/// `d_type`: a pipe.
pub const DT_FIFO: u8 = 1;
/// `d_type`: a character device.
pub const DT_CHR: u8 = 2;
/// `d_type`: a directory.
pub const DT_DIR: u8 = 4;
/// `d_type`: a regular file.
pub const DT_REG: u8 = 8;

/// `struct timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// `struct stat` with Linux's x86-64 layout (144 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stat {
    /// The file system (device) the file is on.
    pub st_dev: u64,
    /// Its number within that file system.
    pub st_ino: u64,
    pub st_nlink: u64,
    /// File type ([`S_IFMT`] bits) and permissions.
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    // 4 bytes of padding (`__pad0`), always zero on the wire.
    /// The device a device node stands for (`makedev(major, minor)`).
    pub st_rdev: u64,
    pub st_size: i64,
    /// Preferred I/O size.
    pub st_blksize: i64,
    /// Storage held, in 512-byte units.
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    /// Linux's `__unused[3]`.
    pub st_reserved: [i64; 3],
}

/// Linux's device number of major `major`, minor `minor` (the encoding of
/// glibc's and musl's `makedev`).
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

/// The fixed head of a `getdents64` record (`struct linux_dirent64`); the
/// name follows at [`DIRENT64_NAME_OFFSET`], NUL-terminated, and the record
/// is padded with zeros to a multiple of 8 bytes ([`dirent64_reclen`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Dirent64Head {
    pub d_ino: u64,
    /// The directory offset to resume reading after this record (an opaque
    /// cookie for `lseek(SEEK_SET)`).
    pub d_off: i64,
    /// The record's length, name and padding included.
    pub d_reclen: u16,
    /// `DT_*` type of the entry.
    pub d_type: u8,
}

/// Where the name starts in a `getdents64` record.
pub const DIRENT64_NAME_OFFSET: usize = 19;

/// The length of a `getdents64` record for a name of `name_len` bytes.
pub const fn dirent64_reclen(name_len: usize) -> usize {
    (DIRENT64_NAME_OFFSET + name_len + 1).next_multiple_of(8)
}

/// Writes the record for `head` and `name` at the start of `out`, filling
/// in `d_reclen`; returns its length, or `None` (writing nothing) if `out`
/// is too short.
pub fn encode_dirent64(out: &mut [u8], head: Dirent64Head, name: &[u8]) -> Option<usize> {
    let len = dirent64_reclen(name.len());
    let record = out.get_mut(..len)?;
    record.fill(0);
    record[0..8].copy_from_slice(&head.d_ino.to_le_bytes());
    record[8..16].copy_from_slice(&head.d_off.to_le_bytes());
    record[16..18].copy_from_slice(&(len as u16).to_le_bytes());
    record[18] = head.d_type;
    record[DIRENT64_NAME_OFFSET..DIRENT64_NAME_OFFSET + name.len()].copy_from_slice(name);
    Some(len)
}

/// The records of a `getdents64` result, in order: each as its head and
/// name (without the NUL). Stops at the end or at a malformed record.
pub fn decode_dirents64(buf: &[u8]) -> impl Iterator<Item = (Dirent64Head, &[u8])> {
    let mut rest = buf;
    core::iter::from_fn(move || {
        let field = |at: usize, n: usize| rest.get(at..at + n);
        let reclen = u16::from_le_bytes(field(16, 2)?.try_into().ok()?);
        let record = rest.get(..usize::from(reclen))?;
        let name_area = record.get(DIRENT64_NAME_OFFSET..)?;
        let name = &name_area[..name_area.iter().position(|&b| b == 0)?];
        let head = Dirent64Head {
            d_ino: u64::from_le_bytes(record[0..8].try_into().ok()?),
            d_off: i64::from_le_bytes(record[8..16].try_into().ok()?),
            d_reclen: reclen,
            d_type: record[18],
        };
        rest = &rest[record.len()..];
        Some((head, name))
    })
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Stat>() == 144);
    assert!(offset_of!(Stat, st_dev) == 0);
    assert!(offset_of!(Stat, st_ino) == 8);
    assert!(offset_of!(Stat, st_nlink) == 16);
    assert!(offset_of!(Stat, st_mode) == 24);
    assert!(offset_of!(Stat, st_uid) == 28);
    assert!(offset_of!(Stat, st_gid) == 32);
    assert!(offset_of!(Stat, st_rdev) == 40);
    assert!(offset_of!(Stat, st_size) == 48);
    assert!(offset_of!(Stat, st_blksize) == 56);
    assert!(offset_of!(Stat, st_blocks) == 64);
    assert!(offset_of!(Stat, st_atime) == 72);
    assert!(offset_of!(Stat, st_atime_nsec) == 80);
    assert!(offset_of!(Stat, st_mtime) == 88);
    assert!(offset_of!(Stat, st_ctime) == 104);
    assert!(offset_of!(Stat, st_reserved) == 120);
    assert!(size_of::<Timespec>() == 16);
    assert!(offset_of!(Dirent64Head, d_ino) == 0);
    assert!(offset_of!(Dirent64Head, d_off) == 8);
    assert!(offset_of!(Dirent64Head, d_reclen) == 16);
    assert!(offset_of!(Dirent64Head, d_type) == 18);
    assert!(DIRENT64_NAME_OFFSET == offset_of!(Dirent64Head, d_type) + 1);
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn records_are_padded_to_8_with_a_nul() {
        assert_eq!(dirent64_reclen(0), 24);
        assert_eq!(dirent64_reclen(4), 24);
        assert_eq!(dirent64_reclen(5), 32);
        assert_eq!(dirent64_reclen(NAME_MAX), 280);
    }

    #[test]
    fn records_encode_and_decode() {
        let mut buf = [0xffu8; 64];
        let head = Dirent64Head {
            d_ino: 7,
            d_off: 3,
            d_reclen: 0,
            d_type: DT_REG,
        };
        let first = encode_dirent64(&mut buf, head, b"hello").unwrap();
        assert_eq!(first, 32);
        assert_eq!(&buf[16..18], &32u16.to_le_bytes());
        assert_eq!(&buf[19..25], b"hello\0");
        assert!(buf[25..32].iter().all(|&b| b == 0), "padding is zero");
        let dir = Dirent64Head {
            d_type: DT_DIR,
            ..head
        };
        let second = encode_dirent64(&mut buf[first..], dir, b".").unwrap();
        assert_eq!(
            encode_dirent64(&mut buf[first + second..], head, b"x"),
            None
        );
        let records: Vec<_> = decode_dirents64(&buf[..first + second]).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1, b"hello");
        assert_eq!(records[0].0.d_reclen, 32);
        assert_eq!(records[1].0.d_type, DT_DIR);
        assert_eq!(records[1].1, b".");
    }

    #[test]
    fn device_numbers_are_linux_encoding() {
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(5, 1), 0x501);
        assert_eq!(makedev(0x1234, 0x56789), 0x0000_1000_5672_3489);
    }

    #[test]
    fn flag_values_are_linuxs() {
        assert_eq!(O_CREAT, 0x40);
        assert_eq!(O_TRUNC, 0x200);
        assert_eq!(O_APPEND, 0x400);
        assert_eq!(O_DIRECTORY, 0x10000);
        assert_eq!(O_CLOEXEC, 0x80000);
        assert_eq!(O_VALID & O_SETFL_MASK, O_SETFL_MASK);
    }
}
