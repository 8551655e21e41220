//! Kernel event tracing: what [`crate::Sys::Trace`] records, and the text
//! init writes the records out as (which the runner turns into Chrome
//! trace-event JSON and an SVG timeline).
//!
//! While tracing is on, the kernel appends a [`Record`] for each event to a
//! ring of a fixed number of records (allocated when tracing starts; the
//! oldest are overwritten when it is full). Each carries the time-stamp
//! counter (guest instructions under `-icount shift=0`), the thread that
//! was running, and two values whose meaning the [`Kind`] gives.
//!
//! `boot.args` asks init for a trace with a line [`BOOT_ARGS_TRACE`],
//! optionally followed by `syscalls` (record every system call too) and
//! `records=N` (the ring's size). Init then starts tracing before the first
//! program, stops after the last, and prints
//!
//! ```text
//! TRACE begin records=<held> lost=<overwritten>
//! TRACE <ts> <kind> <tid> <a> <b>      (one line per record, oldest first)
//! TRACE end
//! ```
//!
//! with `ts`, `a` and `b` in hexadecimal and `tid` in decimal (a
//! [`Record`]'s `Display`). When every thread is blocked for good, the
//! kernel prints the same before it reports the deadlock and stops, since
//! init cannot.

/// The `boot.args` line asking for a trace.
pub const BOOT_ARGS_TRACE: &str = "@trace";
/// The word of the [`BOOT_ARGS_TRACE`] line that asks for system calls.
pub const BOOT_ARGS_SYSCALLS: &str = "syscalls";
/// The word of the [`BOOT_ARGS_TRACE`] line that sets the ring's size.
pub const BOOT_ARGS_RECORDS: &str = "records=";
/// What every line of a trace dump starts with.
pub const LINE: &str = "TRACE ";
/// The dump's first line, after [`LINE`] (then `records=` and `lost=`).
pub const BEGIN: &str = "begin";
/// The dump's last line, after [`LINE`].
pub const END: &str = "end";

/// The operations of [`crate::Sys::Trace`]: `trace(op, a, b, c)`.
pub mod op {
    /// `trace(START, records, flags)`: empties the ring (making one of
    /// `records` records, or [`super::DEFAULT_RECORDS`] for 0) and starts
    /// recording; `flags` may hold [`super::SYSCALLS`].
    pub const START: usize = 0;
    /// `trace(STOP)`: stops recording; returns the number of records held.
    pub const STOP: usize = 1;
    /// `trace(READ, buf, n, from)`: copies up to `n` records, from the
    /// `from`th held one (0 the oldest), to `buf`; returns how many.
    pub const READ: usize = 2;
    /// `trace(LOST)`: how many records were overwritten (the ring was full).
    pub const LOST: usize = 3;
}

/// [`op::START`] flag: record every system call too.
pub const SYSCALLS: u64 = 1;
/// The ring's size unless asked otherwise (2 MiB of kernel heap).
pub const DEFAULT_RECORDS: u64 = 64 * 1024;
/// The largest ring (8 MiB of kernel heap).
pub const MAX_RECORDS: u64 = 256 * 1024;

/// One traced event (see [`Kind`] for what `a` and `b` say).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// Time-stamp counter.
    pub ts: u64,
    /// A [`Kind`].
    pub kind: u32,
    /// The thread running when it happened (0 before the first switch).
    pub tid: u32,
    pub a: u64,
    pub b: u64,
}

/// A record as a dump line writes it, after [`LINE`]:
/// `<ts> <kind> <tid> <a> <b>`, numbers in hexadecimal but `tid`.
impl core::fmt::Display for Record {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = Kind::try_from(self.kind).map_or("?", Kind::name);
        write!(
            f,
            "{:x} {kind} {} {:x} {:x}",
            self.ts, self.tid, self.a, self.b
        )
    }
}

/// [`Kind::Invoke`] flag (in `b >> 32`): the dispatch took the last idle
/// thread of the pool, so the server thread runs the door_server_create
/// procedure first.
pub const INVOKE_DEPLETED: u64 = 1;
/// [`Kind::Invoke`] flag: an unreferenced invocation (no caller).
pub const INVOKE_UNREF: u64 = 2;

macro_rules! kinds {
    ($($(#[doc = $doc:literal])* $name:ident = $text:literal,)*) => {
        /// What a [`Record`] tells.
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Kind {
            $($(#[doc = $doc])* $name,)*
        }

        impl Kind {
            /// Every kind, in number order.
            pub const ALL: &'static [Kind] = &[$(Kind::$name),*];

            /// Its name in a dump line.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Kind::$name => $text,)*
                }
            }

            /// The kind called `name` in a dump line.
            pub fn from_name(name: &str) -> Option<Kind> {
                Kind::ALL.iter().copied().find(|k| k.name() == name)
            }
        }

        impl TryFrom<u32> for Kind {
            type Error = ();

            fn try_from(n: u32) -> Result<Kind, ()> {
                Kind::ALL.get(n as usize).copied().ok_or(())
            }
        }
    };
}

kinds! {
    /// The CPU switched to thread `a` of process `b` (0: the idle thread).
    Switch = "switch",
    /// The running thread made system call number `a`, first argument `b`
    /// (recorded with [`SYSCALLS`] only).
    Syscall = "syscall",
    /// The running thread's door_call starts an invocation at once on
    /// server thread `a`, of the door whose server procedure is at `b` (a
    /// [`Kind::Invoke`] follows).
    DoorCall = "call",
    /// The running thread's door_call waits: no thread of the door's pool
    /// was idle (a returning server thread takes it later, with a
    /// [`Kind::Invoke`]).
    DoorWait = "wait",
    /// Server thread `a` starts an invocation for the call of thread
    /// `b & 0xffff_ffff` (0 for an unreferenced invocation);
    /// `b >> 32` holds [`INVOKE_DEPLETED`] and [`INVOKE_UNREF`].
    Invoke = "invoke",
    /// The running thread's door_return ended the call of thread `a` (0:
    /// none waits, as after an unreferenced invocation, an abandoned call,
    /// or before its first invocation). The thread then parks in its pool,
    /// unless a [`Kind::Invoke`] gives it a call that waited (which may
    /// come just before this record).
    DoorReturn = "return",
    /// A door call or return hands the CPU straight to thread `a` (the
    /// [`Kind::Switch`] follows).
    Handoff = "handoff",
    /// The running thread created door descriptor `a`; `b` is 1 when its
    /// process must run its door_server_create procedure now.
    DoorCreate = "create",
    /// The running thread revoked the door of its descriptor `a`.
    Revoke = "revoke",
    /// The door call of thread `a` ended with error number `b` (illumos's
    /// value) without results, woken by another thread's doing (it waited
    /// and the door was revoked, or its server thread died).
    CallFailed = "failed",
    /// Process `a` started, a child of process `b`; [`Kind::Name`]
    /// records with its name follow.
    Spawn = "spawn",
    /// 16 bytes of the name of the process of the last [`Kind::Spawn`]
    /// (the first record the first 16, the next the next; longer names are
    /// cut): `a` then `b`, little-endian, NUL padded.
    Name = "name",
    /// Thread `a` of process `b` was created.
    ThreadCreate = "thread",
    /// Thread `a` of process `b` exited (or ended with its process).
    ThreadExit = "exit",
    /// Process `a` ended with status `b` (as an `i32`).
    ProcessExit = "end",
}

/// How many [`Kind::Name`] records follow a [`Kind::Spawn`].
pub const NAME_RECORDS: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Wire;

    #[test]
    fn kinds_round_trip_by_number_and_name() {
        for (i, &k) in Kind::ALL.iter().enumerate() {
            assert_eq!(Kind::try_from(i as u32), Ok(k));
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::try_from(Kind::ALL.len() as u32), Err(()));
        assert_eq!(Kind::from_name("nothing"), None);
    }

    #[test]
    fn records_print_as_dump_lines() {
        let r = Record {
            ts: 0x1f,
            kind: Kind::Invoke as u32,
            tid: 12,
            a: 13,
            b: 0x1_0000_000c,
        };
        assert_eq!(std::format!("{r}"), "1f invoke 12 d 10000000c");
    }

    #[test]
    fn records_are_32_bytes_in_field_order() {
        let r = Record {
            ts: 1,
            kind: 2,
            tid: 3,
            a: 4,
            b: 5,
        };
        let b = r.to_bytes();
        assert_eq!(Record::SIZE, 32);
        assert_eq!(&b[..8], &1u64.to_le_bytes());
        assert_eq!(&b[8..12], &2u32.to_le_bytes());
        assert_eq!(&b[12..16], &3u32.to_le_bytes());
        assert_eq!(&b[24..32], &5u64.to_le_bytes());
        assert_eq!(Record::decode(&b), r);
    }
}
