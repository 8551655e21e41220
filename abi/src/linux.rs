//! Structures of Linux's x86-64 ABI that the kernel's Linux personality
//! reads from and writes to programs (with their Linux layouts; [`Wire`]
//! encodes them). The file ABI's structures are in [`crate::fs`].
//!
//! [`Wire`]: crate::Wire

/// Sockets: `socketpair`'s domain and types, `shutdown`'s ways, the
/// `send`/`recv` flags the kernel knows.
pub mod socket {
    /// `AF_UNIX` (`AF_LOCAL`).
    pub const AF_UNIX: u32 = 1;
    pub const SOCK_STREAM: u32 = 1;
    /// The type bits of `socketpair`'s type argument (the rest are flags).
    pub const SOCK_TYPE_MASK: u32 = 0xf;
    /// Flags in the type argument (`O_NONBLOCK` and `O_CLOEXEC`'s values).
    pub const SOCK_NONBLOCK: u32 = 0o4000;
    pub const SOCK_CLOEXEC: u32 = 0o2000000;
    pub const SHUT_RD: u32 = 0;
    pub const SHUT_WR: u32 = 1;
    pub const SHUT_RDWR: u32 = 2;
    pub const MSG_DONTWAIT: u32 = 0x40;
    pub const MSG_WAITALL: u32 = 0x100;
    pub const MSG_NOSIGNAL: u32 = 0x4000;
    pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;
}

/// `struct timeval`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}

/// `struct rlimit` (`getrlimit`, `prlimit64`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rlimit {
    pub rlim_cur: u64,
    pub rlim_max: u64,
}

/// The kernel's `struct sigaction` (what `rt_sigaction` takes: the handler,
/// flags, restorer and a 64-bit mask, in this order).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Sigaction {
    pub sa_handler: u64,
    pub sa_flags: u64,
    pub sa_restorer: u64,
    pub sa_mask: u64,
}

/// `stack_t` (`sigaltstack`): 24 bytes, 4 of padding after `ss_flags`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SigStack {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub ss_size: u64,
}

/// `struct iovec` (`readv`, `writev`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Iovec {
    pub iov_base: u64,
    pub iov_len: u64,
}

/// `struct msghdr` (`sendmsg`, `recvmsg`): 56 bytes, 4 of padding after
/// `msg_namelen` and after `msg_flags`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Msghdr {
    pub msg_name: u64,
    pub msg_namelen: u32,
    pub msg_iov: u64,
    pub msg_iovlen: u64,
    pub msg_control: u64,
    pub msg_controllen: u64,
    pub msg_flags: i32,
}

/// Bytes of each field of `struct utsname` (six of them).
pub const UTSNAME_FIELD: usize = 65;

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Timeval>() == 16);
    assert!(size_of::<Rlimit>() == 16);
    assert!(size_of::<Sigaction>() == 32);
    assert!(offset_of!(Sigaction, sa_restorer) == 16);
    assert!(offset_of!(Sigaction, sa_mask) == 24);
    assert!(size_of::<SigStack>() == 24);
    assert!(offset_of!(SigStack, ss_flags) == 8);
    assert!(offset_of!(SigStack, ss_size) == 16);
    assert!(size_of::<Iovec>() == 16);
    assert!(size_of::<Msghdr>() == 56);
    assert!(offset_of!(Msghdr, msg_iov) == 16);
    assert!(offset_of!(Msghdr, msg_flags) == 48);
};
