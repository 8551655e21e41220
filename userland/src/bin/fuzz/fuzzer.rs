//! One fuzz thread: its [`Ctx`] (generator, scratch area, what its calls
//! created and must clean up), the loop that draws calls from the table
//! and issues them, the judgement of every result, and the progress
//! records the watchdog reads.

use crate::fds;
use crate::mem::{
    Access, PAGE, Ptr, SCRATCH_RW, STRIDE, STUB_AREA_STRIDE, STUB_AREAS, STUB_REGION, Scratch,
    bad_addr,
};
use crate::own::Own;
use crate::rng::{Rng, mix};
use crate::table::{self, Syscall};
use alloc::vec::Vec;
use core::arch::asm;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use userland::abi::{Errno, Sys};
use userland::door::close;
use userland::heap::{map, unmap};
use userland::sys::{raw_syscall, syscall};
use userland::{println, process, thread};

/// Most fuzz threads in one process.
pub const MAX_THREADS: usize = 8;

/// Calls between two sweeps of a fuzz thread's junk directory (names of
/// random bytes pile up there).
const JUNK_SWEEP: u64 = 2048;

/// What a fuzz thread is doing, for the watchdog: calls done, whether it
/// finished, and the call it is in.
pub struct Progress {
    pub done: AtomicU64,
    pub finished: AtomicBool,
    pub tid: AtomicU32,
    pub call: AtomicUsize,
    pub args: [AtomicU64; 6],
}

pub static PROGRESS: [Progress; MAX_THREADS] = [const {
    Progress {
        done: AtomicU64::new(0),
        finished: AtomicBool::new(false),
        tid: AtomicU32::new(0),
        call: AtomicUsize::new(0),
        args: [const { AtomicU64::new(0) }; 6],
    }
}; MAX_THREADS];

/// Findings of this process (fuzz and server threads).
pub static FINDINGS: AtomicU32 = AtomicU32::new(0);

/// What a result must be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Expect {
    /// Success or a known error number.
    Any,
    /// A known error number: the arguments are certainly invalid.
    Fail,
    /// Exactly this error.
    Errno(Errno),
    /// Exactly this value.
    Value(isize),
    /// One of these errors.
    OneOf(&'static [Errno]),
    /// Exactly this value, or one of these errors.
    ValueOr(isize, &'static [Errno]),
    /// Success (any value), or one of these errors.
    SuccessOr(&'static [Errno]),
}

impl Expect {
    /// What is wrong with `ret` (if anything).
    fn problem(self, ret: isize) -> Option<&'static str> {
        let result = Errno::check(ret);
        match (self, result) {
            (_, Err(e)) if e.name() == "E?" => Some("an unknown error number"),
            (Expect::Fail | Expect::Errno(_) | Expect::OneOf(_), Ok(_)) => {
                Some("success with invalid arguments")
            }
            (Expect::Errno(want), Err(e)) if e != want => Some("the wrong error number"),
            (Expect::OneOf(set) | Expect::ValueOr(_, set) | Expect::SuccessOr(set), Err(e))
                if !set.contains(&e) =>
            {
                Some("the wrong error number")
            }
            (Expect::Value(v), _) if ret != v => Some("the wrong value"),
            (Expect::ValueOr(v, _), Ok(_)) if ret != v => Some("the wrong value"),
            _ => None,
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = |f: &mut fmt::Formatter<'_>, set: &[Errno]| {
            set.iter().try_for_each(|e| write!(f, " or {}", e.name()))
        };
        match *self {
            Expect::Any | Expect::Fail => f.write_str("an error"),
            Expect::Errno(e) => f.write_str(e.name()),
            Expect::Value(v) => write!(f, "{v}"),
            Expect::OneOf(set) => {
                f.write_str("one of")?;
                errors(f, set)
            }
            Expect::ValueOr(v, set) => {
                write!(f, "{v}")?;
                errors(f, set)
            }
            Expect::SuccessOr(set) => {
                f.write_str("success")?;
                errors(f, set)
            }
        }
    }
}

/// RFLAGS bits a fuzz call may enter the kernel with: CF, PF, AF, ZF, SF,
/// DF, OF, NT and AC (not TF: the single-step trap would kill the process).
const ENTRY_FLAGS: u64 = 0x4_4cd5;
/// IF and the bit that is always set.
const FIXED_FLAGS: u64 = 0x202;

/// Issues call `nr` with RFLAGS set to `flags` (within [`ENTRY_FLAGS`]);
/// returns the result and RFLAGS right after the call.
fn syscall_with_flags(nr: usize, a: [usize; 6], flags: u64) -> (isize, u64) {
    let ret: isize;
    let after: u64;
    // SAFETY: the flags are set right before `syscall` and the caller's
    // own flags (DF clear, as Rust requires) are back before the block
    // ends; the kernel validates every argument and clobbers only rcx and
    // r11 besides the result.
    unsafe {
        asm!(
            "pushfq",
            "push {flags}",
            "popfq",
            "syscall",
            "pushfq",
            "pop {flags}",
            "popfq",
            flags = inout(reg) flags | FIXED_FLAGS => after,
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    (ret, after)
}

/// Whether call `nr` runs under [`fds::shared`]: the calls that name
/// descriptors, and those that change what the process's paths resolve
/// from or as (its current directory, effective uid, umask). The others,
/// some of which block, need not.
fn shared_call(nr: usize) -> bool {
    use Sys::*;
    match Sys::try_from(nr) {
        Ok(call) => !matches!(
            call,
            Exit | DebugWrite
                | Yield
                | GetPid
                | Wait
                | ThreadCreate
                | ThreadExit
                | ThreadDetach
                | ThreadJoin
                | MemMap
                | MemUnmap
                | GetTid
                | Shutdown
                | Kstat
                | SleepTicks
                | DoorUcred
                | DoorCred
                | DoorUnbind
                | DoorCancelled
                | DoorAbort
                | DoorHandoff
                | GetLimit
                | SetTls
                | Getcwd
        ),
        Err(()) => false,
    }
}

/// A thread made by a fuzzed `thread_create`: it ends at once.
#[derive(Clone, Copy)]
pub struct Stub {
    pub tid: u32,
    /// The exit value it ends with.
    pub value: u64,
    /// Whether a join that failed (EFAULT) may have taken it already.
    pub maybe_joined: bool,
    /// The area it unmaps as it ends, if one of this thread's.
    pub area: Option<StubArea>,
}

/// One of a fuzz thread's [`STUB_AREAS`], mapped for a thread to unmap as
/// it ends.
#[derive(Clone, Copy)]
pub struct StubArea {
    index: usize,
    len: usize,
    /// Which mapping of the place it is (see `Ctx::stub_maps`).
    maps: u32,
}

/// A fuzz thread's state.
pub struct Ctx {
    pub rng: Rng,
    pub scratch: Scratch,
    pub seed: u64,
    pub worker: usize,
    pub slot: usize,
    pub pid: u32,
    pub tid: u32,
    /// The table entry being run.
    pub entry: &'static Syscall,
    pub index: u64,
    /// `mem_map` areas to unmap, as (address, length).
    pub maps: Vec<(usize, usize)>,
    /// Threads made by `thread_create`, to join.
    pub stubs: Vec<Stub>,
    /// How often each place of [`STUB_AREAS`] was mapped.
    stub_maps: [u32; STUB_AREAS],
    /// Calls that failed (as they mostly should).
    pub failed: u64,
    /// The call before which the thread ends its whole process.
    pub exit_at: Option<u64>,
    /// The call before which the thread fills the file system.
    pub fill_at: Option<u64>,
    /// Whether the process runs as user 1000 throughout (it never takes
    /// euid 0 back), so permission checks have one answer.
    pub unprivileged: bool,
    /// The descriptors the thread opened itself.
    pub own: Own,
}

/// Prints a finding (with everything needed to reproduce it) and counts it.
pub fn finding(seed: u64, what: core::fmt::Arguments) {
    println!("fuzz: FINDING (seed {seed}): {what}");
    FINDINGS.fetch_add(1, Relaxed);
}

impl Ctx {
    pub fn new(seed: u64, worker: usize, slot: usize, scratch: Scratch, unprivileged: bool) -> Ctx {
        Ctx {
            rng: Rng::new(mix(mix(seed, worker as u64), slot as u64)),
            scratch,
            seed,
            worker,
            slot,
            pid: process::getpid(),
            tid: thread::gettid(),
            entry: &table::TABLE[0],
            index: 0,
            maps: Vec::new(),
            stubs: Vec::new(),
            stub_maps: [0; STUB_AREAS],
            failed: 0,
            exit_at: None,
            fill_at: None,
            unprivileged,
            own: Own::new(slot),
        }
    }

    /// A pointer for `len` bytes (see [`Scratch::ptr`]).
    pub fn ptr(&mut self, len: usize) -> Ptr {
        self.scratch.ptr(&mut self.rng, len)
    }

    /// A descriptor argument (known, closed or forged).
    pub fn fd(&mut self) -> usize {
        fds::any(&mut self.rng)
    }

    /// A descriptor argument for a call that needs a live door.
    pub fn target(&mut self) -> usize {
        fds::target(&mut self.rng)
    }

    /// Records call `nr` about to be made (for the watchdog).
    pub fn note(&self, nr: usize, args: &[usize; 6]) {
        let p = &PROGRESS[self.slot];
        p.call.store(nr, Relaxed);
        for (slot, &a) in p.args.iter().zip(args) {
            slot.store(a as u64, Relaxed);
        }
    }

    /// Issues the current table entry's call with `args` and judges the result.
    pub fn issue(&mut self, args: [usize; 6], expect: Expect) -> isize {
        self.issue_nr(self.entry.nr(), args, expect)
    }

    /// Issues call `nr` (the entry's own number, or an unknown one for the
    /// entry of unknown numbers) and judges the result. A quarter of the
    /// calls enter the kernel with random user flags set (NT, AC, DF and
    /// the arithmetic ones), which must come back unchanged.
    pub fn issue_nr(&mut self, nr: usize, args: [usize; 6], expect: Expect) -> isize {
        self.note(nr, &args);
        let flags = self.rng.chance(25).then(|| self.rng.next() & ENTRY_FLAGS);
        let call = || match flags {
            Some(flags) => {
                let (ret, after) = syscall_with_flags(nr, args, flags);
                (ret, after)
            }
            None => (raw_syscall(nr, args), 0),
        };
        let (ret, after) = match shared_call(nr) {
            true => fds::shared(call),
            false => call(),
        };
        if let Some(flags) = flags {
            self.check(
                after & ENTRY_FLAGS == flags,
                format_args!("RFLAGS {flags:#x} came back as {after:#x}"),
            );
        }
        self.judge(nr, &args, expect, ret);
        ret
    }

    /// Copies `bytes` into the scratch area (most often) or returns a bad
    /// pointer for them.
    pub fn place(&mut self, bytes: &[u8]) -> Ptr {
        self.place_in(bytes, None)
    }

    /// As [`place`](Self::place), but only within scratch page `page` (if
    /// given), so that pieces placed in different pages cannot overwrite
    /// each other.
    pub fn place_in(&mut self, bytes: &[u8], page: Option<usize>) -> Ptr {
        let room = if page.is_some() { PAGE } else { SCRATCH_RW };
        if bytes.len() <= room && self.rng.chance(85) {
            let misalign = self.rng.chance(30);
            let len = bytes.len();
            let at = match page {
                Some(page) => self.scratch.slot_in(&mut self.rng, page, len, misalign),
                None => self.scratch.slot(&mut self.rng, len, misalign),
            };
            self.scratch.write(at, bytes);
            Ptr {
                addr: at,
                access: Access::Write,
            }
        } else {
            let access = if bytes.is_empty() {
                Access::Unknown
            } else {
                Access::Bad
            };
            Ptr {
                addr: bad_addr(&mut self.rng),
                access,
            }
        }
    }

    /// A finding unless `ok`.
    pub fn check(&mut self, ok: bool, what: core::fmt::Arguments) {
        if !ok {
            finding(
                self.seed,
                format_args!(
                    "worker {} thread {} call {}: {}: {what}",
                    self.worker, self.slot, self.index, self.entry
                ),
            );
        }
    }

    /// Checks what call `nr` with `args` returned, `ret`, against
    /// `expect`; a mismatch is a finding.
    pub fn judge(&mut self, nr: usize, args: &[usize; 6], expect: Expect, ret: isize) {
        let result = Errno::check(ret);
        if result.is_err() {
            self.failed += 1;
        }
        if let Some(problem) = expect.problem(ret) {
            finding(
                self.seed,
                format_args!(
                    "worker {} thread {} call {}: {}({:#x?}) returned {ret} ({}): {problem}, \
                     expected {expect}",
                    self.worker,
                    self.slot,
                    self.index,
                    table::name(nr),
                    args,
                    result.map_or_else(|e| e.name(), |_| "ok"),
                ),
            );
        }
    }

    /// Runs `calls` random calls, then undoes what they left behind.
    pub fn run(&mut self, calls: u64) {
        self.tid = thread::gettid();
        let progress = &PROGRESS[self.slot];
        progress.tid.store(self.tid, Relaxed);
        for i in 0..calls {
            self.index = i;
            if self.exit_at == Some(i) {
                process::exit(0);
            }
            if i % 16 == 0 {
                fds::refill(&mut self.rng);
            }
            if i % JUNK_SWEEP == JUNK_SWEEP - 1 {
                self.sweep_junk();
            }
            if self.fill_at == Some(i) {
                self.fill();
            }
            self.entry = table::draw(&mut self.rng);
            if let Some(run) = self.entry.run {
                run(self);
            }
            progress.done.store(i + 1, Relaxed);
        }
        self.cleanup();
        progress.finished.store(true, Relaxed);
    }

    /// Remembers a mapped area; unmaps the oldest beyond a few.
    pub fn mapped(&mut self, addr: usize, len: usize) {
        self.maps.push((addr, len));
        if self.maps.len() > 6 {
            let (addr, len) = self.maps.remove(0);
            self.unmap(addr, len);
        }
    }

    /// Unmaps an area this thread mapped, which must work.
    pub fn unmap(&mut self, addr: usize, len: usize) {
        if let Err(e) = unmap(addr, len) {
            finding(
                self.seed,
                format_args!(
                    "worker {} thread {}: unmapping its own area {addr:#x}+{len:#x} failed: {e:?}",
                    self.worker, self.slot
                ),
            );
        }
    }

    /// Remembers a thread made by `thread_create`; joins the oldest beyond a few.
    pub fn stub(&mut self, stub: Stub) {
        self.stubs.push(stub);
        if self.stubs.len() > 4 {
            let stub = self.stubs.remove(0);
            self.join(stub);
        }
    }

    /// Joins a thread this thread made, which must work and give its exit
    /// value (or ESRCH, if a failed join may have taken it already).
    fn join(&mut self, stub: Stub) {
        let mut value = 0u64;
        let ret = syscall(
            Sys::ThreadJoin,
            [stub.tid as usize, &raw mut value as usize, 0, 0, 0, 0],
        );
        let ok = match Errno::check(ret) {
            Ok(_) => value == stub.value,
            Err(e) => e == Errno::ESRCH && stub.maybe_joined,
        };
        if ret == 0 {
            self.joined(&stub);
        }
        if !ok {
            finding(
                self.seed,
                format_args!(
                    "worker {} thread {}: joining thread {} it made (exit value {:#x}) returned \
                     {ret}, exit value {value:#x}",
                    self.worker, self.slot, stub.tid, stub.value
                ),
            );
        }
    }

    /// Maps a fresh area for a thread to unmap as it ends, at a place of
    /// this thread's [`STUB_AREAS`]; `None` when that place is still taken
    /// (by a thread that has not ended) or memory is short.
    pub fn stub_area(&mut self) -> Option<StubArea> {
        let index = self.rng.index(STUB_AREAS);
        let len = PAGE * (1 + self.rng.below(8) as usize);
        let addr = STUB_REGION + self.slot * STRIDE + index * STUB_AREA_STRIDE;
        map(len, addr).ok()?;
        self.stub_maps[index] += 1;
        Some(StubArea {
            index,
            len,
            maps: self.stub_maps[index],
        })
    }

    /// Where `area` is: its address and length.
    pub fn stub_area_range(&self, area: StubArea) -> (usize, usize) {
        let addr = STUB_REGION + self.slot * STRIDE + area.index * STUB_AREA_STRIDE;
        (addr, area.len)
    }

    /// After joining `stub`: the area it was to unmap as it ended is gone
    /// (unless this thread mapped the place again since).
    pub fn joined(&mut self, stub: &Stub) {
        let Some(area) = stub.area else { return };
        if self.stub_maps[area.index] != area.maps {
            return;
        }
        let (addr, len) = self.stub_area_range(area);
        // No such area any more: EINVAL.
        let again = unmap(addr, len);
        if again != Err(Errno::EINVAL) {
            finding(
                self.seed,
                format_args!(
                    "worker {} thread {}: thread {} ended with thread_exit unmapping \
                     {addr:#x}+{len:#x}, but unmapping it afterwards gave {again:?}",
                    self.worker, self.slot, stub.tid
                ),
            );
        }
    }

    fn cleanup(&mut self) {
        for (addr, len) in core::mem::take(&mut self.maps) {
            self.unmap(addr, len);
        }
        for stub in core::mem::take(&mut self.stubs) {
            self.join(stub);
        }
        self.close_all_own();
    }

    /// Closes descriptors `received` (most of them) or keeps them.
    pub fn receive(&mut self, received: &[i32]) {
        for &fd in received {
            if self.rng.chance(70) {
                fds::shared(|| close(fd));
            } else {
                fds::add(&mut self.rng, fd);
            }
        }
    }
}
