//! [`Wire`]: the byte encoding of every value that crosses the user/kernel
//! boundary in memory (structures, and integers in arrays), for the kernel's
//! checked copies. Each field is written at its C offset (taken from
//! `offset_of!`, so it cannot drift from the `#[repr(C)]` definition) and
//! padding is always zero, so no kernel bytes leak through it. Safe code
//! only: no value is ever reinterpreted as bytes.

use crate::fs::{Stat, Timespec};
use crate::linux::{Iovec, Msghdr, Rlimit, SigStack, Sigaction, Timeval};
use crate::trace::Record;
use crate::{DoorArg, DoorCred, DoorDesc, DoorInfo, ExecArgs, SpawnArgs, Ucred, UserArg};
use core::mem::{offset_of, size_of};

/// A value with a fixed C layout that crosses the user/kernel boundary.
pub trait Wire: Copy {
    /// Its size in bytes (`size_of`).
    const SIZE: usize;
    /// A buffer of exactly `SIZE` bytes.
    type Bytes: Buffer;
    /// Writes it into `out` (exactly `SIZE` bytes).
    fn encode(&self, out: &mut [u8]);
    /// Reads it from `b` (exactly `SIZE` bytes).
    fn decode(b: &[u8]) -> Self;

    /// Its encoding.
    fn to_bytes(&self) -> Self::Bytes {
        let mut b = Self::Bytes::zeroed();
        self.encode(b.as_mut());
        b
    }
}

/// A byte array of a fixed size (a [`Wire`] value's encoding).
pub trait Buffer: AsRef<[u8]> + AsMut<[u8]> {
    /// All zeros.
    fn zeroed() -> Self;
}

impl<const N: usize> Buffer for [u8; N] {
    fn zeroed() -> Self {
        [0; N]
    }
}

/// A field of a structure: written and read at an offset.
trait Field: Copy {
    fn put(self, out: &mut [u8], at: usize);
    fn get(b: &[u8], at: usize) -> Self;
}

macro_rules! int_wire {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn put(self, out: &mut [u8], at: usize) {
                out[at..at + size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
            }
            fn get(b: &[u8], at: usize) -> Self {
                let mut v = [0; size_of::<$t>()];
                v.copy_from_slice(&b[at..at + size_of::<$t>()]);
                <$t>::from_le_bytes(v)
            }
        }
        impl Wire for $t {
            const SIZE: usize = size_of::<$t>();
            type Bytes = [u8; size_of::<$t>()];
            fn encode(&self, out: &mut [u8]) {
                self.put(out, 0);
            }
            fn decode(b: &[u8]) -> Self {
                Self::get(b, 0)
            }
        }
    )*};
}
int_wire!(u8, u32, i32, u64, i64);

impl<T: Field + Default, const N: usize> Field for [T; N] {
    fn put(self, out: &mut [u8], at: usize) {
        for (i, v) in self.into_iter().enumerate() {
            v.put(out, at + i * size_of::<T>());
        }
    }
    fn get(b: &[u8], at: usize) -> Self {
        core::array::from_fn(|i| T::get(b, at + i * size_of::<T>()))
    }
}

macro_rules! wire {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Wire for $t {
            const SIZE: usize = size_of::<$t>();
            type Bytes = [u8; size_of::<$t>()];
            fn encode(&self, out: &mut [u8]) {
                out[..Self::SIZE].fill(0);
                $( { let v = self.$f; v.put(out, offset_of!($t, $f)); } )*
            }
            fn decode(b: &[u8]) -> Self {
                $t { $( $f: Field::get(b, offset_of!($t, $f)), )* }
            }
        }
    };
}

wire!(DoorArg {
    data_ptr,
    data_size,
    desc_ptr,
    desc_num,
    rbuf,
    rsize
});
wire!(DoorDesc {
    d_attributes,
    d_descriptor,
    d_id,
    d_resv
});
wire!(DoorInfo {
    di_target,
    di_proc,
    di_data,
    di_attributes,
    di_uniquifier,
    di_resv
});
wire!(DoorCred {
    dc_euid,
    dc_egid,
    dc_ruid,
    dc_rgid,
    dc_pid,
    dc_resv
});
wire!(Ucred {
    uc_pid,
    uc_euid,
    uc_egid,
    uc_ruid,
    uc_rgid,
    uc_resv
});
wire!(UserArg { ptr, len });
wire!(Timespec { tv_sec, tv_nsec });
wire!(Stat {
    st_dev,
    st_ino,
    st_nlink,
    st_mode,
    st_uid,
    st_gid,
    st_rdev,
    st_size,
    st_blksize,
    st_blocks,
    st_atime,
    st_atime_nsec,
    st_mtime,
    st_mtime_nsec,
    st_ctime,
    st_ctime_nsec,
    st_reserved,
});
wire!(Record {
    ts,
    kind,
    tid,
    a,
    b
});
wire!(Timeval { tv_sec, tv_usec });
wire!(Rlimit { rlim_cur, rlim_max });
wire!(Sigaction {
    sa_handler,
    sa_flags,
    sa_restorer,
    sa_mask
});
wire!(SigStack {
    ss_sp,
    ss_flags,
    ss_size
});
wire!(Iovec { iov_base, iov_len });
wire!(Msghdr {
    msg_name,
    msg_namelen,
    msg_iov,
    msg_iovlen,
    msg_control,
    msg_controllen,
    msg_flags
});
wire!(SpawnArgs {
    name_ptr,
    name_len,
    args_ptr,
    args_len,
    descs_ptr,
    descs_len
});
wire!(ExecArgs {
    path_ptr,
    path_len,
    args_ptr,
    args_len,
    env_ptr,
    env_len
});

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Wire + PartialEq + core::fmt::Debug>(v: T) -> T::Bytes {
        let b = v.to_bytes();
        assert_eq!(b.as_ref().len(), T::SIZE);
        assert_eq!(T::decode(b.as_ref()), v);
        b
    }

    #[test]
    fn door_info_fields_sit_at_illumos_offsets() {
        let info = DoorInfo {
            di_target: 7,
            di_proc: 0x1122_3344_5566_7788,
            di_data: 9,
            di_attributes: 0x24,
            di_uniquifier: 42,
            di_resv: [0; 4],
        };
        let b = round_trip(info);
        assert_eq!(&b[0..4], &7i32.to_le_bytes());
        assert_eq!(&b[4..12], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&b[20..24], &0x24u32.to_le_bytes());
        assert_eq!(&b[24..32], &42u64.to_le_bytes());
    }

    #[test]
    fn door_arg_padding_is_zeroed() {
        let arg = DoorArg {
            data_ptr: 1,
            data_size: 2,
            desc_ptr: 3,
            desc_num: 4,
            rbuf: 5,
            rsize: 6,
        };
        let mut b = [0xffu8; 48];
        arg.encode(&mut b);
        assert_eq!(&b[24..28], &4u32.to_le_bytes());
        assert_eq!(&b[28..32], &[0; 4], "padding after desc_num");
        assert_eq!(&b[32..40], &5u64.to_le_bytes());
    }

    #[test]
    fn door_desc_id_is_unaligned_at_8() {
        let b = round_trip(DoorDesc {
            d_attributes: 0x10000,
            d_descriptor: 3,
            d_id: 99,
            d_resv: [0; 2],
        });
        assert_eq!(&b[4..8], &3i32.to_le_bytes());
        assert_eq!(&b[8..16], &99u64.to_le_bytes());
        assert_eq!(DoorDesc::SIZE, 24);
    }

    #[test]
    fn stat_fields_sit_at_linux_offsets() {
        let stat = Stat {
            st_dev: 1,
            st_ino: 2,
            st_nlink: 3,
            st_mode: 0o100644,
            st_uid: 5,
            st_gid: 6,
            st_rdev: 7,
            st_size: -8,
            st_blksize: 4096,
            st_blocks: 10,
            st_atime: 11,
            st_atime_nsec: 12,
            st_mtime: 13,
            st_mtime_nsec: 14,
            st_ctime: 15,
            st_ctime_nsec: 16,
            st_reserved: [0; 3],
        };
        let mut b = [0xffu8; 144];
        stat.encode(&mut b);
        assert_eq!(Stat::decode(&b), stat);
        assert_eq!(&b[24..28], &0o100644u32.to_le_bytes());
        assert_eq!(&b[36..40], &[0; 4], "__pad0 is zeroed");
        assert_eq!(&b[48..56], &(-8i64).to_le_bytes());
        assert_eq!(&b[104..112], &15i64.to_le_bytes());
        assert_eq!(&b[120..144], &[0; 24]);
        round_trip(Timespec {
            tv_sec: -1,
            tv_nsec: 999_999_999,
        });
    }

    #[test]
    fn other_values_round_trip() {
        round_trip(DoorCred {
            dc_euid: 1,
            dc_egid: 2,
            dc_ruid: 3,
            dc_rgid: 4,
            dc_pid: 5,
            dc_resv: [0; 4],
        });
        round_trip(Ucred {
            uc_pid: 5,
            uc_euid: 1,
            uc_egid: 2,
            uc_ruid: 3,
            uc_rgid: 4,
            uc_resv: [0; 3],
        });
        round_trip(SpawnArgs {
            name_ptr: 1,
            name_len: 2,
            args_ptr: 3,
            args_len: 4,
            descs_ptr: 5,
            descs_len: 6,
        });
        round_trip(ExecArgs {
            path_ptr: 1,
            path_len: 2,
            args_ptr: 3,
            args_len: 4,
            env_ptr: 5,
            env_len: 6,
        });
        let b = round_trip(SigStack {
            ss_sp: 1,
            ss_flags: 2,
            ss_size: 3,
        });
        assert_eq!(&b[12..16], &[0; 4], "padding after ss_flags");
        assert_eq!(&b[16..24], &3u64.to_le_bytes());
        round_trip(Sigaction {
            sa_handler: 1,
            sa_flags: 2,
            sa_restorer: 3,
            sa_mask: 4,
        });
        round_trip(Timeval {
            tv_sec: 1,
            tv_usec: 2,
        });
        round_trip(Rlimit {
            rlim_cur: 1,
            rlim_max: u64::MAX,
        });
        round_trip(Iovec {
            iov_base: 1,
            iov_len: 2,
        });
        let b = round_trip(Msghdr {
            msg_name: 1,
            msg_namelen: 2,
            msg_iov: 3,
            msg_iovlen: 4,
            msg_control: 5,
            msg_controllen: 6,
            msg_flags: -7,
        });
        assert_eq!(&b[12..16], &[0; 4], "padding after msg_namelen");
        assert_eq!(&b[16..24], &3u64.to_le_bytes());
        assert_eq!(&b[48..52], &(-7i32).to_le_bytes());
        assert_eq!(&b[52..56], &[0; 4], "padding after msg_flags");
        assert_eq!(round_trip(-5i32), (-5i32).to_le_bytes());
        assert_eq!(round_trip(7u64), 7u64.to_le_bytes());
    }
}
