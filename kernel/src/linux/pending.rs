//! Pending signals of the Linux personality, as Linux keeps them: a set
//! per process (`kill`, `alarm`, SIGCHLD) and one per thread (`tgkill`,
//! faults). A standard signal is at most once in a set (one sent again
//! while pending merges with the first, whose `siginfo_t` is kept); a
//! real-time one (from [`SIGRTMIN`]) is queued, each instance with its
//! `siginfo_t`, taken oldest first, while the system has room
//! (`abi::MAX_QUEUED_SIGNALS`). Which one a thread takes next is Linux's
//! order: its own set before its process's, and within a set the
//! synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS)
//! before the others, lowest number first; `rt_sigtimedwait` takes in the
//! same order among the signals it waits for ([`take_waited`]). What a
//! signal sent does — dropped, pending, waking which blocked thread, the
//! end of the process, or its stop — is [`to_process`]'s and
//! [`to_thread`]'s rule.

use alloc::collections::VecDeque;

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TKILL: i32 = -6;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const ILL_ILLOPN: i32 = 2;
pub const FPE_INTDIV: i32 = 1;
pub const BUS_ADRALN: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// `sizeof(siginfo_t)`.
pub const SIGINFO_SIZE: usize = 128;
/// The first real-time signal (Linux's kernel SIGRTMIN: C libraries keep
/// the first few for themselves, musl's `SIGRTMIN()` is 35).
pub const SIGRTMIN: u32 = 32;

/// What a `siginfo_t` says beyond the signal and its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Detail {
    /// Nothing (the kernel sent it: an alarm).
    #[default]
    Kernel,
    /// `si_pid` and `si_uid` of the sender (kill, tgkill).
    Sender { pid: u32, uid: u32 },
    /// `si_addr` of a fault.
    Fault { addr: u64 },
    /// SIGCHLD: the child's pid, real uid and status.
    Child { pid: u32, uid: u32, status: i32 },
    /// What the sender of `rt_sigqueueinfo` wrote at `si_pid`, `si_uid`
    /// and `si_value` (where `sigqueue` puts them; a timer's id, overrun
    /// and value are at the same places).
    Queued { pid: u32, uid: u32, value: u64 },
}

/// A pending signal's `siginfo_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Info {
    pub signo: u32,
    pub code: i32,
    pub detail: Detail,
}

impl Info {
    /// Sent by `kill` from process `pid` with real uid `uid`.
    pub const fn user(signo: u32, pid: u32, uid: u32) -> Info {
        Info {
            signo,
            code: SI_USER,
            detail: Detail::Sender { pid, uid },
        }
    }

    /// Sent by `tgkill`/`tkill`.
    pub const fn tkill(signo: u32, pid: u32, uid: u32) -> Info {
        Info {
            signo,
            code: SI_TKILL,
            detail: Detail::Sender { pid, uid },
        }
    }

    /// Sent by the kernel itself (an alarm: Linux's SI_KERNEL).
    pub const fn kernel(signo: u32) -> Info {
        Info {
            signo,
            code: SI_KERNEL,
            detail: Detail::Kernel,
        }
    }

    /// Sent by `rt_sigqueueinfo` with the `siginfo_t` bytes `raw`: its
    /// code, and what [`Detail::Queued`] keeps (the signal is `signo`,
    /// whatever `raw` says).
    pub fn queued(signo: u32, raw: &[u8; SIGINFO_SIZE]) -> Info {
        let word = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        Info {
            signo,
            code: word(8) as i32,
            detail: Detail::Queued {
                pid: word(16),
                uid: word(20),
                value: u64::from(word(24)) | u64::from(word(28)) << 32,
            },
        }
    }

    /// Whether this info, given to `rt_sigqueueinfo`, would pass for one
    /// the kernel or `kill`/`tgkill` made (a code that is not negative, or
    /// SI_TKILL): Linux lets a process send such an info to itself only.
    pub const fn impersonates(&self) -> bool {
        self.code >= 0 || self.code == SI_TKILL
    }

    /// SIGCHLD for child `pid` (real uid `uid`) that ended, stopped or
    /// continued (`code`: CLD_EXITED, CLD_KILLED, CLD_STOPPED,
    /// CLD_CONTINUED) with `status` (its exit status or the signal).
    pub const fn child(code: i32, pid: u32, uid: u32, status: i32) -> Info {
        Info {
            signo: abi::signal::SIGCHLD as u32,
            code,
            detail: Detail::Child { pid, uid, status },
        }
    }

    /// A fault at `addr` (`si_addr`).
    pub const fn fault(signo: u32, code: i32, addr: u64) -> Info {
        Info {
            signo,
            code,
            detail: Detail::Fault { addr },
        }
    }

    /// The signal for CPU exception `vector` (with its error code `error`,
    /// at `rip`, `cr2` the faulting address of a page fault) as Linux
    /// reports it: a page fault is SIGSEGV with SEGV_MAPERR (nothing
    /// mapped) or SEGV_ACCERR (a protection) at the address; #UD is
    /// SIGILL, #DE SIGFPE (FPE_INTDIV), both at the instruction; #AC is
    /// SIGBUS (BUS_ADRALN); #DB is SIGTRAP (TRAP_TRACE); the rest
    /// (#GP, #BP, #SS, #NP, x87 and SIMD errors) are SI_KERNEL.
    pub fn of_fault(vector: u8, error: u64, cr2: u64, rip: u64) -> Info {
        let signo = crate::signal::fault_signal(vector) as u32;
        let (code, addr) = match vector {
            14 if error & 1 == 0 => (SEGV_MAPERR, cr2),
            14 => (SEGV_ACCERR, cr2),
            6 => (ILL_ILLOPN, rip),
            0 => (FPE_INTDIV, rip),
            17 => (BUS_ADRALN, 0),
            1 => (TRAP_TRACE, rip),
            _ => (SI_KERNEL, 0),
        };
        Info::fault(signo, code, addr)
    }

    /// The `siginfo_t` bytes (x86-64 layout: signo, errno, code, then the
    /// union at offset 16).
    pub fn encode(&self) -> [u8; SIGINFO_SIZE] {
        let mut out = [0u8; SIGINFO_SIZE];
        out[0..4].copy_from_slice(&self.signo.to_le_bytes());
        out[8..12].copy_from_slice(&self.code.to_le_bytes());
        match self.detail {
            Detail::Kernel => {}
            Detail::Sender { pid, uid } => {
                out[16..20].copy_from_slice(&pid.to_le_bytes());
                out[20..24].copy_from_slice(&uid.to_le_bytes());
            }
            Detail::Fault { addr } => out[16..24].copy_from_slice(&addr.to_le_bytes()),
            Detail::Child { pid, uid, status } => {
                out[16..20].copy_from_slice(&pid.to_le_bytes());
                out[20..24].copy_from_slice(&uid.to_le_bytes());
                out[24..28].copy_from_slice(&status.to_le_bytes());
            }
            Detail::Queued { pid, uid, value } => {
                out[16..20].copy_from_slice(&pid.to_le_bytes());
                out[20..24].copy_from_slice(&uid.to_le_bytes());
                out[24..32].copy_from_slice(&value.to_le_bytes());
            }
        }
        out
    }
}

/// The bit of signal `sig` (1..=64) in a set.
pub const fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// The synchronous signals, taken before the others.
const SYNCHRONOUS: u64 = bit(4) | bit(5) | bit(7) | bit(8) | bit(11) | bit(31);

/// A set of pending signals with their `siginfo_t`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The signals with an instance pending.
    set: u64,
    /// The pending instances, oldest first: one of each standard signal
    /// in `set`, one or more of each real-time one.
    instances: VecDeque<Info>,
}

/// [`Pending::add`] found no room to queue another instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl Pending {
    /// Nothing pending.
    pub const fn new() -> Pending {
        Pending {
            set: 0,
            instances: VecDeque::new(),
        }
    }

    /// The pending signals.
    pub const fn set(&self) -> u64 {
        self.set
    }

    /// The instances queued behind the first of their signal: what
    /// counts against `abi::MAX_QUEUED_SIGNALS`.
    pub fn queued(&self) -> usize {
        self.instances.len() - self.set.count_ones() as usize
    }

    /// Whether adding signal `sig` would queue an instance (a real-time
    /// signal already pending).
    pub const fn queues(&self, sig: u32) -> bool {
        sig >= SIGRTMIN && self.set & bit(sig) != 0
    }

    /// Makes `info.signo` (1..=64) pending. A standard signal already
    /// pending merges with the first instance, whose info stays; a
    /// real-time one is queued behind the pending ones if there is `room`,
    /// and otherwise `Full` with nothing changed.
    pub fn add(&mut self, info: Info, room: bool) -> Result<(), Full> {
        let sig = info.signo;
        match self.set & bit(sig) != 0 {
            false => self.set |= bit(sig),
            true if !self.queues(sig) => return Ok(()),
            true if !room => return Err(Full),
            true => {}
        }
        self.instances.push_back(info);
        Ok(())
    }

    /// Takes the oldest instance of signal `sig`: its info, if it was
    /// pending (the next instance, if one is queued, stays pending).
    pub fn take(&mut self, sig: u32) -> Option<Info> {
        if self.set & bit(sig) == 0 {
            return None;
        }
        let at = self.instances.iter().position(|i| i.signo == sig)?;
        let taken = self.instances.remove(at);
        if !self.instances.iter().any(|i| i.signo == sig) {
            self.set &= !bit(sig);
        }
        taken
    }

    /// Drops every instance of signal `sig`.
    pub fn discard(&mut self, sig: u32) {
        self.set &= !bit(sig);
        self.instances.retain(|i| i.signo != sig);
    }
}

impl Default for Pending {
    fn default() -> Self {
        Pending::new()
    }
}

/// The signal of `pending` that goes first under `mask`: synchronous ones
/// first, then the lowest number.
pub fn next(pending: u64, mask: u64) -> Option<u32> {
    let ready = pending & !mask;
    let first = match ready & SYNCHRONOUS {
        0 => ready,
        sync => sync,
    };
    (first != 0).then(|| first.trailing_zeros() + 1)
}

/// Takes the signal a thread with `mask` handles next: from its own set
/// `thread` first, then from its process's set `process`.
pub fn dequeue(thread: &mut Pending, process: &mut Pending, mask: u64) -> Option<Info> {
    if let Some(sig) = next(thread.set(), mask) {
        return thread.take(sig);
    }
    next(process.set(), mask).and_then(|sig| process.take(sig))
}

/// Whether a thread with `mask` has a signal to handle among `thread`
/// (its own) and `process` (its process's).
pub fn deliverable(thread: &Pending, process: &Pending, mask: u64) -> bool {
    (thread.set() | process.set()) & !mask != 0
}

/// Takes the signal `rt_sigtimedwait` for `set` takes: as a delivery
/// would ([`dequeue`]), but among the signals of `set` whatever the mask.
pub fn take_waited(thread: &mut Pending, process: &mut Pending, set: u64) -> Option<Info> {
    dequeue(thread, process, !set)
}

/// What a thread is doing, as far as signals care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// Running or ready: it takes a signal on its next return to user mode.
    Runnable,
    /// Blocked in a wait a signal interrupts (pause, sleep, wait4, a pipe,
    /// a futex, a door call, idle in door_return).
    Interruptible,
    /// Blocked in a wait a signal does not interrupt (a join).
    Uninterruptible,
    /// Blocked in `rt_sigtimedwait` for this set: it takes those signals
    /// though its mask blocks them (as Linux, which unblocks them while it
    /// waits), and the others interrupt it as any interruptible wait.
    Waiting(u64),
}

impl Run {
    /// The signals it takes whatever its mask.
    fn awaited(self) -> u64 {
        match self {
            Run::Waiting(set) => set,
            _ => 0,
        }
    }
}

/// What a signal's action makes of it when it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A handler runs.
    Handle,
    /// SIG_IGN, or a default action that ignores it (SIGCONT's too: it
    /// continued the process when it was sent, `kernel::job`).
    Ignore,
    /// Its default action ends the process.
    Terminate,
    /// Its default action stops the process.
    Stop,
}

/// What sending a signal does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Nothing: it is ignored and not blocked.
    Dropped,
    /// It is made pending; `wake`: the blocked thread to wake to take it
    /// (an index in the threads given).
    Pending { wake: Option<usize> },
    /// The process ends: a thread takes it whose mask does not block it,
    /// and its default action terminates.
    Fatal,
    /// The process stops (the signal is taken): a thread takes it whose
    /// mask does not block it, and its default action stops.
    Stop,
}

impl Effect {
    /// What a thread that takes the signal without blocking it makes of
    /// it at once: the end of the process, or its stop.
    const fn at_once(self) -> Option<Sent> {
        match self {
            Effect::Terminate => Some(Sent::Fatal),
            Effect::Stop => Some(Sent::Stop),
            Effect::Handle | Effect::Ignore => None,
        }
    }
}

/// Whether a thread with `mask` doing `run` takes `sig`: its mask lets
/// it through, or it waits for it.
fn takes(sig: u32, mask: u64, run: Run) -> bool {
    mask & !run.awaited() & bit(sig) == 0
}

/// Whether a thread doing `run`, which takes `sig`, is woken by it: a
/// wait for it, or a handler interrupting an interruptible wait.
fn woken(sig: u32, effect: Effect, run: Run) -> bool {
    match run {
        Run::Waiting(set) => set & bit(sig) != 0 || effect == Effect::Handle,
        Run::Interruptible => effect == Effect::Handle,
        Run::Runnable | Run::Uninterruptible => false,
    }
}

/// Sending `sig`, whose action makes it `effect`, to one thread (`tgkill`)
/// with `mask` doing `run`, as Linux: an ignored signal is dropped unless
/// the mask blocks it (its action may change before it is unblocked); a
/// signal the thread takes either ends or stops the process (a default
/// action that terminates or stops, unless the thread waits for it with
/// its mask blocking it) or wakes the thread if it waits for it or is
/// interrupted by it; a blocked one stays pending.
pub fn to_thread(sig: u32, effect: Effect, mask: u64, run: Run) -> Sent {
    let blocked = mask & bit(sig) != 0;
    match (effect, effect.at_once()) {
        (Effect::Ignore, _) if !blocked => Sent::Dropped,
        (_, Some(sent)) if !blocked => sent,
        _ => Sent::Pending {
            wake: (takes(sig, mask, run) && woken(sig, effect, run)).then_some(0),
        },
    }
}

/// Sending `sig`, whose action makes it `effect`, to a process whose
/// threads have these masks and states (in the process's order, main
/// thread first), as Linux: an ignored signal is dropped unless the main
/// thread blocks it. Otherwise it is pending for the process, and taken
/// by a runnable thread that does not block it if there is one (on its
/// next return to user mode: nothing to wake), else the first blocked
/// thread it wakes (a wait for it, or a handler's interruption), else any
/// thread that does not block it; if that thread's own mask does not
/// block it and its default action terminates (stops), the process ends
/// (stops). If every thread blocks it, it stays pending until one
/// unblocks or waits for it.
pub fn to_process(sig: u32, effect: Effect, threads: &[(u64, Run)]) -> Sent {
    if effect == Effect::Ignore
        && threads
            .first()
            .is_none_or(|&(mask, _)| mask & bit(sig) == 0)
    {
        return Sent::Dropped;
    }
    let find = |want: &dyn Fn(u64, Run) -> bool| {
        threads
            .iter()
            .position(|&(mask, run)| takes(sig, mask, run) && want(mask, run))
    };
    let chosen = find(&|_, run| run == Run::Runnable)
        .or_else(|| find(&|_, run| woken(sig, effect, run)))
        .or_else(|| find(&|_, _| true));
    let Some(i) = chosen else {
        return Sent::Pending { wake: None };
    };
    let (mask, run) = threads[i];
    if let Some(sent) = effect.at_once()
        && mask & bit(sig) == 0
    {
        return sent;
    }
    Sent::Pending {
        wake: woken(sig, effect, run).then_some(i),
    }
}

#[cfg(test)]
mod tests;
