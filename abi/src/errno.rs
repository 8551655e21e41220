//! [`Errno`]: the one error type of the kernel and of user programs. Native
//! system calls return `-errno` with illumos's numbers (doors programs see
//! the codes illumos gives them); the table also holds each error's Linux
//! number for programs that expect those.

use core::fmt;

/// An error number. Its value ([`Errno::code`]) is illumos's.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(u16);

macro_rules! errnos {
    ($($name:ident = $illumos:literal, linux $linux:literal: $what:literal;)*) => {
        impl Errno {
            $(
                #[doc = $what]
                pub const $name: Errno = Errno($illumos);
            )*

            /// Every error number this ABI defines.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The symbolic name (`"EBADF"`), or `"E?"` for a number this
            /// ABI does not define.
            pub const fn name(self) -> &'static str {
                match self.0 {
                    $($illumos => stringify!($name),)*
                    _ => "E?",
                }
            }

            /// The same error's number on Linux.
            pub const fn linux(self) -> u16 {
                match self.0 {
                    $($illumos => $linux,)*
                    other => other,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, linux 1: "Not owner: the caller lacks the privilege.";
    ENOENT = 2, linux 2: "No such file, directory or process.";
    ESRCH = 3, linux 3: "No such process or thread.";
    EINTR = 4, linux 4: "Interrupted: the other side of a door call went away.";
    EIO = 5, linux 5: "I/O error.";
    ENXIO = 6, linux 6: "No such device or address (a non-blocking write-only open of a FIFO with no reader).";
    E2BIG = 7, linux 7: "Argument list or message too large.";
    ENOEXEC = 8, linux 8: "Not an executable this kernel can run.";
    EBADF = 9, linux 9: "Bad descriptor (or not of the kind the call needs).";
    ECHILD = 10, linux 10: "No child to wait for.";
    EAGAIN = 11, linux 11: "Resource temporarily unavailable; try again.";
    ENOMEM = 12, linux 12: "Not enough memory.";
    EACCES = 13, linux 13: "Permission denied.";
    EFAULT = 14, linux 14: "Bad address.";
    EBUSY = 16, linux 16: "Busy.";
    EEXIST = 17, linux 17: "File exists.";
    EXDEV = 18, linux 18: "Cross-device link.";
    ENODEV = 19, linux 19: "No such device.";
    ENOTDIR = 20, linux 20: "Not a directory.";
    EISDIR = 21, linux 21: "Is a directory.";
    EINVAL = 22, linux 22: "Invalid argument.";
    ENFILE = 23, linux 23: "Too many objects in the system, or too many descriptors in one door call (DOOR_PARAM_DESC_MAX).";
    EMFILE = 24, linux 24: "The descriptor table is full.";
    ENOTTY = 25, linux 25: "Not a terminal.";
    EFBIG = 27, linux 27: "File too large.";
    ENOSPC = 28, linux 28: "No space left on the file system.";
    ESPIPE = 29, linux 29: "Seek on a pipe or device.";
    EROFS = 30, linux 30: "Read-only file system.";
    EPIPE = 32, linux 32: "Write to a pipe nobody reads.";
    ERANGE = 34, linux 34: "Result out of range.";
    EDEADLK = 45, linux 35: "Deadlock avoided.";
    ENOTSUP = 48, linux 95: "Operation not supported.";
    ENAMETOOLONG = 78, linux 36: "Name or path too long.";
    EOVERFLOW = 79, linux 75: "Value too large (a result area could not be mapped).";
    ELOOP = 90, linux 40: "Too many levels of links.";
    ENOSYS = 89, linux 38: "No such system call.";
    ENOTEMPTY = 93, linux 39: "Directory not empty.";
    ENOTSOCK = 95, linux 88: "Not a socket.";
    EPROTONOSUPPORT = 120, linux 93: "Protocol not supported.";
    ESOCKTNOSUPPORT = 121, linux 94: "Socket type not supported.";
    EAFNOSUPPORT = 124, linux 97: "Address family not supported.";
    EISCONN = 133, linux 106: "The socket is connected already.";
    ENOBUFS = 132, linux 105: "Argument size outside the door's limits.";
    ETIMEDOUT = 145, linux 110: "Timed out.";
}

impl Errno {
    /// The number (illumos's) that native system calls return negated.
    pub const fn code(self) -> u16 {
        self.0
    }

    /// The error a native system call's raw result `-code` stands for.
    pub const fn from_code(code: u16) -> Errno {
        Errno(code)
    }

    /// A native system call's raw result: `Ok(value)` for `value >= 0`,
    /// else the error.
    pub fn check(raw: isize) -> Result<usize, Errno> {
        match usize::try_from(raw) {
            Ok(value) => Ok(value),
            // Results below -u16::MAX are not errors the kernel returns.
            Err(_) => Err(Errno(u16::try_from(raw.unsigned_abs()).unwrap_or(u16::MAX))),
        }
    }

    /// The raw result a native system call returns for this error.
    pub const fn raw(self) -> isize {
        -(self.0 as isize)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            "E?" => write!(f, "E?({})", self.0),
            name => f.write_str(name),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn numbers_are_distinct_and_named() {
        for (i, a) in Errno::ALL.iter().enumerate() {
            assert_ne!(a.name(), "E?");
            for b in &Errno::ALL[i + 1..] {
                assert_ne!(a.code(), b.code(), "{a:?} {b:?}");
                assert_ne!(a.linux(), b.linux(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn illumos_and_linux_values() {
        assert_eq!(Errno::ENOTSUP.code(), 48);
        assert_eq!(Errno::ENOTSUP.linux(), 95);
        assert_eq!(Errno::EBADF.linux(), 9);
        assert_eq!(Errno::EOVERFLOW.linux(), 75);
        assert_eq!(format!("{:?}", Errno::from_code(999)), "E?(999)");
    }

    #[test]
    fn raw_results_round_trip() {
        assert_eq!(Errno::check(7), Ok(7));
        assert_eq!(Errno::check(0), Ok(0));
        assert_eq!(Errno::check(Errno::EBADF.raw()), Err(Errno::EBADF));
    }
}
