//! Doors: constants and structures with their illumos amd64 layouts.

/// Door attribute (door_create, door_info): one unreferenced invocation when
/// the reference count drops to one.
pub const DOOR_UNREF: u32 = 0x01;
/// Door attribute: the door has its own pool of server threads (door_bind).
pub const DOOR_PRIVATE: u32 = 0x02;
/// door_info only: the door's server is the asking process.
pub const DOOR_LOCAL: u32 = 0x04;
/// door_info only: the door has been revoked (or its server exited).
pub const DOOR_REVOKED: u32 = 0x08;
/// Door attribute: like DOOR_UNREF, but fires each time the count drops to one.
pub const DOOR_UNREF_MULTI: u32 = 0x10;
/// door_info only: exactly one reference to the door exists now.
pub const DOOR_IS_UNREF: u32 = 0x20;
/// Door attribute: calls carrying descriptors fail with ENOTSUP.
pub const DOOR_REFUSE_DESC: u32 = 0x40;
/// Door attribute: client aborts do not cancel the server thread.
pub const DOOR_NO_CANCEL: u32 = 0x80;
/// The attributes door_create accepts.
pub const DOOR_CREATE_MASK: u32 =
    DOOR_UNREF | DOOR_PRIVATE | DOOR_UNREF_MULTI | DOOR_REFUSE_DESC | DOOR_NO_CANCEL;
/// door_desc_t attribute: the entry carries a descriptor.
pub const DOOR_DESCRIPTOR: u32 = 0x10000;
/// door_desc_t attribute: close the sender's copy once passed.
pub const DOOR_RELEASE: u32 = 0x40000;
/// `argp` of an unreferenced invocation.
pub const DOOR_UNREF_DATA: u64 = 1;
/// door_info's descriptor meaning "the door this server thread serves (or is
/// bound to)".
pub const DOOR_QUERY: i32 = -2;
/// An invalid door descriptor.
pub const DOOR_INVAL: i32 = -1;
/// door_setparam/getparam: most descriptors per call.
pub const DOOR_PARAM_DESC_MAX: i32 = 1;
/// door_setparam/getparam: most argument bytes per call.
pub const DOOR_PARAM_DATA_MAX: i32 = 2;
/// door_setparam/getparam: fewest argument bytes per call.
pub const DOOR_PARAM_DATA_MIN: i32 = 3;
/// Set in the result of [`crate::Sys::DoorCreate`] (above the descriptor, which is
/// a positive `i32`) when the library must run its door_server_create
/// procedure now.
pub const DOOR_CREATE_RUN_SERVER_CREATE: isize = 1 << 32;

/// How a server thread's `door_return` comes back with an invocation: the
/// stack pointer is set inside its registered stack area (16-byte aligned,
/// below the arguments and descriptors laid out at its top) and the
/// registers hold the invocation.
pub mod invocation {
    /// `rax`: what to do before the server procedure: [`RUN`] (just run
    /// it), [`DEPLETED_SHARED`] (this dispatch took the shared pool's last
    /// idle thread: run door_server_create's procedure with NULL first), or
    /// the address of the door's `door_info_t` in the stack area (a private
    /// pool was depleted). Errors come back negative, as always.
    pub const RUN: u64 = 1;
    pub const DEPLETED_SHARED: u64 = 2;
    // rdi = cookie, rsi = argp (DOOR_UNREF_DATA for an unreferenced
    // invocation), rdx = arg_size, r10 = desc_ptr, r8 = n_desc, r9 = the
    // server procedure.
}

/// `door_desc_t`: a descriptor passed in a door invocation.
///
/// In C the part after `d_attributes` is a union of `d_desc { int
/// d_descriptor; door_id_t d_id; }` and `int d_resv[5]`; under illumos's
/// `#pragma pack(4)` for amd64 that is 24 bytes, 4-byte aligned, with `d_id`
/// at offset 8. The union is spelled out as plain fields here (no unsafe
/// reads needed); `d_resv` is the union's unused tail.
#[repr(C, packed(4))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorDesc {
    /// `DOOR_DESCRIPTOR`, optionally with `DOOR_RELEASE`.
    pub d_attributes: u32,
    /// The descriptor (in the receiver's table once delivered).
    pub d_descriptor: i32,
    /// The door's unique id (filled in on delivery).
    pub d_id: u64,
    /// Reserved: the rest of the C union.
    pub d_resv: [i32; 2],
}

impl DoorDesc {
    /// An entry passing descriptor `d` with attributes `attributes`.
    pub const fn new(d: i32, attributes: u32) -> Self {
        DoorDesc {
            d_attributes: attributes,
            d_descriptor: d,
            d_id: 0,
            d_resv: [0; 2],
        }
    }
}

/// `door_info_t`, packed to 4 bytes as on illumos amd64 (`di_proc` at 4).
#[repr(C, packed(4))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorInfo {
    /// Server process id, or -1 if the server process has exited.
    pub di_target: i32,
    /// Server procedure.
    pub di_proc: u64,
    /// Cookie passed to the server procedure.
    pub di_data: u64,
    /// Creation attributes plus DOOR_LOCAL, DOOR_REVOKED, DOOR_IS_UNREF.
    pub di_attributes: u32,
    /// System-wide unique id of the door (never reused).
    pub di_uniquifier: u64,
    /// Reserved.
    pub di_resv: [i32; 4],
}

/// `door_arg_t`. illumos's `#pragma pack(4)` does not cover it, so it has the
/// natural amd64 layout: 48 bytes, `desc_num` followed by 4 bytes of padding.
/// Pointers are `u64` so the kernel and user space share one definition.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorArg {
    /// Argument data (on return: result data).
    pub data_ptr: u64,
    /// Argument size (on return: result size).
    pub data_size: u64,
    /// Argument descriptors (on return: result descriptors).
    pub desc_ptr: u64,
    /// Number of descriptors.
    pub desc_num: u32,
    /// Result buffer (on return: where the results are, possibly a new mapping).
    pub rbuf: u64,
    /// Result buffer size (on return: size of the area at `rbuf`).
    pub rsize: u64,
}

/// `door_cred_t` (the older door_cred interface).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorCred {
    pub dc_euid: u32,
    pub dc_egid: u32,
    pub dc_ruid: u32,
    pub dc_rgid: u32,
    pub dc_pid: i32,
    pub dc_resv: [i32; 4],
}

/// This kernel's `ucred_t` as filled by [`crate::Sys::DoorUcred`] (illumos keeps
/// its ucred opaque; this one is a fixed 32-byte record).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ucred {
    /// Process id of the immediate caller (0: the kernel, for unreferenced
    /// invocations).
    pub uc_pid: i32,
    pub uc_euid: u32,
    pub uc_egid: u32,
    pub uc_ruid: u32,
    pub uc_rgid: u32,
    /// Reserved.
    pub uc_resv: [u32; 3],
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<DoorDesc>() == 24);
    assert!(align_of::<DoorDesc>() == 4);
    assert!(offset_of!(DoorDesc, d_attributes) == 0);
    assert!(offset_of!(DoorDesc, d_descriptor) == 4);
    assert!(offset_of!(DoorDesc, d_id) == 8);
    assert!(offset_of!(DoorDesc, d_resv) == 16);
    assert!(size_of::<DoorInfo>() == 48);
    assert!(align_of::<DoorInfo>() == 4);
    assert!(offset_of!(DoorInfo, di_target) == 0);
    assert!(offset_of!(DoorInfo, di_proc) == 4);
    assert!(offset_of!(DoorInfo, di_data) == 12);
    assert!(offset_of!(DoorInfo, di_attributes) == 20);
    assert!(offset_of!(DoorInfo, di_uniquifier) == 24);
    assert!(offset_of!(DoorInfo, di_resv) == 32);
    assert!(size_of::<DoorArg>() == 48);
    assert!(align_of::<DoorArg>() == 8);
    assert!(offset_of!(DoorArg, data_ptr) == 0);
    assert!(offset_of!(DoorArg, data_size) == 8);
    assert!(offset_of!(DoorArg, desc_ptr) == 16);
    assert!(offset_of!(DoorArg, desc_num) == 24);
    assert!(offset_of!(DoorArg, rbuf) == 32);
    assert!(offset_of!(DoorArg, rsize) == 40);
    assert!(size_of::<DoorCred>() == 36);
    assert!(offset_of!(DoorCred, dc_pid) == 16);
    assert!(size_of::<Ucred>() == 32);
};
