//! Pending signals of the Linux personality, as Linux keeps them: a set
//! per process (`kill`, `alarm`, SIGCHLD) and one per thread (`tgkill`,
//! faults), each signal at most once in a set (a signal sent again while
//! pending merges with the first, whose `siginfo_t` is kept: real-time
//! signals are not queued here). Which one a thread takes next is Linux's
//! order: its own set before its process's, and within a set the
//! synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS)
//! before the others, lowest number first; `rt_sigtimedwait` takes in the
//! same order among the signals it waits for ([`take_waited`]). What a
//! signal sent does — dropped, pending, waking which blocked thread, or
//! the end of the process — is [`to_process`]'s and [`to_thread`]'s rule.

use super::signal::NSIG;

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const ILL_ILLOPN: i32 = 2;
pub const FPE_INTDIV: i32 = 1;
pub const BUS_ADRALN: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;

/// `sizeof(siginfo_t)`.
pub const SIGINFO_SIZE: usize = 128;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    set: u64,
    info: [Info; NSIG],
}

impl Pending {
    /// Nothing pending.
    pub const fn new() -> Pending {
        Pending {
            set: 0,
            info: [Info {
                signo: 0,
                code: 0,
                detail: Detail::Kernel,
            }; NSIG],
        }
    }

    /// The pending signals.
    pub const fn set(&self) -> u64 {
        self.set
    }

    /// Makes `info.signo` (1..=64) pending; if it is already, the first
    /// instance stays (with its info) and this one merges with it.
    pub fn add(&mut self, info: Info) {
        let sig = info.signo;
        if self.set & bit(sig) == 0 {
            self.set |= bit(sig);
            self.info[sig as usize - 1] = info;
        }
    }

    /// Takes signal `sig` out of the set: its info, if it was pending.
    pub fn take(&mut self, sig: u32) -> Option<Info> {
        if self.set & bit(sig) == 0 {
            return None;
        }
        self.set &= !bit(sig);
        Some(self.info[sig as usize - 1])
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
    /// SIG_IGN, or a default action that ignores it (or stops: no job
    /// control here).
    Ignore,
    /// Its default action ends the process.
    Terminate,
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
/// signal the thread takes either ends the process (a default action that
/// terminates, unless the thread waits for it with its mask blocking it)
/// or wakes the thread if it waits for it or is interrupted by it; a
/// blocked one stays pending.
pub fn to_thread(sig: u32, effect: Effect, mask: u64, run: Run) -> Sent {
    let blocked = mask & bit(sig) != 0;
    match effect {
        Effect::Ignore if !blocked => Sent::Dropped,
        Effect::Terminate if !blocked => Sent::Fatal,
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
/// block it and its default action terminates, the process ends. If every
/// thread blocks it, it stays pending until one unblocks or waits for it.
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
    if effect == Effect::Terminate && mask & bit(sig) == 0 {
        return Sent::Fatal;
    }
    Sent::Pending {
        wake: woken(sig, effect, run).then_some(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn siginfo_layouts() {
        let kill = Info::user(10, 7, 100).encode();
        assert_eq!(&kill[0..4], &10u32.to_le_bytes());
        assert_eq!(&kill[8..12], &SI_USER.to_le_bytes());
        assert_eq!(&kill[16..24], &[7, 0, 0, 0, 100, 0, 0, 0]);
        let tkill = Info::tkill(12, 7, 0).encode();
        assert_eq!(&tkill[8..12], &(-6i32).to_le_bytes());
        let fault = Info::fault(11, SEGV_ACCERR, 0xdead_beef_0000).encode();
        assert_eq!(&fault[8..12], &2i32.to_le_bytes());
        assert_eq!(&fault[16..24], &0xdead_beef_0000u64.to_le_bytes());
        let alarm = Info::kernel(14).encode();
        assert_eq!(&alarm[8..12], &0x80i32.to_le_bytes());
        assert!(alarm[12..].iter().all(|&b| b == 0));
        let child = Info {
            signo: 17,
            code: CLD_EXITED,
            detail: Detail::Child {
                pid: 9,
                uid: 1,
                status: 3,
            },
        }
        .encode();
        assert_eq!(&child[16..28], &[9, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0]);
    }

    #[test]
    fn faults_as_linux_reports_them() {
        let unmapped = Info::of_fault(14, 0b100, 0x1234, 0x40_0000);
        assert_eq!(unmapped, Info::fault(11, SEGV_MAPERR, 0x1234));
        assert_eq!(Info::of_fault(14, 0b111, 0x1234, 0).code, SEGV_ACCERR);
        assert_eq!(
            Info::of_fault(6, 0, 0, 0x40_0010),
            Info::fault(4, ILL_ILLOPN, 0x40_0010)
        );
        assert_eq!(
            Info::of_fault(0, 0, 0, 0x40_0010),
            Info::fault(8, FPE_INTDIV, 0x40_0010)
        );
        assert_eq!(
            Info::of_fault(13, 0, 0, 0x40_0010),
            Info::fault(11, SI_KERNEL, 0)
        );
        assert_eq!(Info::of_fault(17, 0, 0, 0).signo, 7);
    }

    #[test]
    fn synchronous_signals_and_the_thread_go_first() {
        assert_eq!(next(bit(2) | bit(11), 0), Some(11));
        assert_eq!(next(bit(2) | bit(11), bit(11)), Some(2));
        assert_eq!(next(bit(64) | bit(33), 0), Some(33));
        assert_eq!(next(bit(5), bit(5)), None);
        let mut thread = Pending::new();
        let mut process = Pending::new();
        process.add(Info::user(2, 1, 0));
        thread.add(Info::tkill(10, 1, 0));
        assert_eq!(
            dequeue(&mut thread, &mut process, 0).map(|i| i.signo),
            Some(10)
        );
        assert!(deliverable(&thread, &process, 0));
        assert!(!deliverable(&thread, &process, bit(2)));
        assert_eq!(
            dequeue(&mut thread, &mut process, 0).map(|i| i.signo),
            Some(2)
        );
        assert_eq!(dequeue(&mut thread, &mut process, 0), None);
    }

    #[test]
    fn a_second_instance_merges_with_the_first() {
        let mut p = Pending::new();
        p.add(Info::user(10, 3, 0));
        p.add(Info::user(10, 4, 0));
        assert_eq!(p.take(10), Some(Info::user(10, 3, 0)));
        assert_eq!(p.take(10), None);
    }

    #[test]
    fn who_is_woken() {
        use Effect::*;
        use Run::*;
        let sig = 10;
        let b = bit(10);
        let handled = |threads: &[(u64, Run)]| to_process(sig, Handle, threads);
        assert_eq!(
            handled(&[(0, Interruptible), (0, Runnable)]),
            Sent::Pending { wake: None }
        );
        assert_eq!(
            handled(&[(b, Runnable), (0, Uninterruptible), (0, Interruptible)]),
            Sent::Pending { wake: Some(2) }
        );
        assert_eq!(handled(&[(b, Interruptible)]), Sent::Pending { wake: None });
        assert_eq!(
            handled(&[(0, Uninterruptible)]),
            Sent::Pending { wake: None }
        );
        // A thread waiting for it takes it though its mask blocks it; a
        // default action that terminates then does not.
        let waiter = [(b, Runnable), (b, Interruptible), (b, Waiting(b | 1))];
        assert_eq!(handled(&waiter), Sent::Pending { wake: Some(2) });
        assert_eq!(
            to_process(sig, Terminate, &waiter),
            Sent::Pending { wake: Some(2) }
        );
        assert_eq!(
            to_process(sig, Ignore, &waiter),
            Sent::Pending { wake: Some(2) }
        );
        // Waiting for it without blocking it: as Linux, it is fatal.
        assert_eq!(to_process(sig, Terminate, &[(0, Waiting(b))]), Sent::Fatal);
        // Another signal, handled, interrupts the wait.
        assert_eq!(
            to_process(12, Handle, &[(0, Waiting(b))]),
            Sent::Pending { wake: Some(0) }
        );
        assert_eq!(
            to_process(12, Handle, &[(bit(12), Waiting(b))]),
            Sent::Pending { wake: None }
        );
        // Blocked everywhere: pending, whatever its action.
        assert_eq!(
            to_process(sig, Terminate, &[(b, Runnable), (b, Interruptible)]),
            Sent::Pending { wake: None }
        );
        assert_eq!(
            to_process(sig, Terminate, &[(b, Runnable), (0, Uninterruptible)]),
            Sent::Fatal
        );
        // Ignored: dropped unless the main thread blocks it.
        assert_eq!(
            to_process(sig, Ignore, &[(0, Runnable), (b, Waiting(b))]),
            Sent::Dropped
        );
        assert_eq!(to_process(sig, Ignore, &[]), Sent::Dropped);
        assert_eq!(
            to_process(sig, Terminate, &[]),
            Sent::Pending { wake: None }
        );
    }

    #[test]
    fn to_one_thread() {
        use Effect::*;
        use Run::*;
        let b = bit(10);
        assert_eq!(to_thread(10, Ignore, 0, Waiting(b)), Sent::Dropped);
        assert_eq!(
            to_thread(10, Ignore, b, Runnable),
            Sent::Pending { wake: None }
        );
        assert_eq!(
            to_thread(10, Ignore, b, Waiting(b)),
            Sent::Pending { wake: Some(0) }
        );
        assert_eq!(to_thread(10, Terminate, 0, Uninterruptible), Sent::Fatal);
        assert_eq!(
            to_thread(10, Terminate, b, Interruptible),
            Sent::Pending { wake: None }
        );
        assert_eq!(
            to_thread(10, Terminate, b, Waiting(b)),
            Sent::Pending { wake: Some(0) }
        );
        assert_eq!(
            to_thread(10, Handle, 0, Interruptible),
            Sent::Pending { wake: Some(0) }
        );
        assert_eq!(
            to_thread(10, Handle, 0, Uninterruptible),
            Sent::Pending { wake: None }
        );
        assert_eq!(
            to_thread(10, Handle, b, Interruptible),
            Sent::Pending { wake: None }
        );
        assert_eq!(
            to_thread(10, Handle, b, Waiting(bit(12))),
            Sent::Pending { wake: None }
        );
    }

    fn run() -> impl Strategy<Value = Run> {
        prop_oneof![
            Just(Run::Runnable),
            Just(Run::Interruptible),
            Just(Run::Uninterruptible),
            (0u64..16).prop_map(|set| Run::Waiting(set << 9)),
        ]
    }

    fn effect() -> impl Strategy<Value = Effect> {
        prop_oneof![
            Just(Effect::Handle),
            Just(Effect::Ignore),
            Just(Effect::Terminate)
        ]
    }

    proptest! {
        /// Sending to a process keeps the promises of signal(7) and
        /// sigwait: checked as properties of the outcome, signals 9..=13
        /// and masks over them so that every case comes up.
        #[test]
        fn process_signals_go_where_linux_sends_them(
            sig in 10u32..=13,
            effect in effect(),
            threads in proptest::collection::vec(((0u64..16).prop_map(|m| m << 9), run()), 0..5),
        ) {
            let b = bit(sig);
            let blocks = |mask: u64| mask & b != 0;
            let waits = |run: Run| matches!(run, Run::Waiting(set) if set & b != 0);
            let blocked_run = |run: Run| matches!(run, Run::Interruptible | Run::Waiting(_));
            let sent = to_process(sig, effect, &threads);
            let main_blocks = threads.first().is_some_and(|&(m, _)| blocks(m));
            prop_assert_eq!(sent == Sent::Dropped, effect == Effect::Ignore && !main_blocks);
            let runnable_takes = threads.iter().any(|&(m, r)| r == Run::Runnable && !blocks(m));
            let unblocked = threads.iter().any(|&(m, _)| !blocks(m));
            let waiter = threads.iter().position(|&(_, r)| waits(r));
            match sent {
                Sent::Dropped => {}
                Sent::Fatal => {
                    prop_assert_eq!(effect, Effect::Terminate);
                    prop_assert!(unblocked);
                }
                Sent::Pending { wake: Some(i) } => {
                    let (mask, run) = threads[i];
                    prop_assert!(blocked_run(run));
                    prop_assert!(!runnable_takes);
                    // It takes it: waits for it, or its handler interrupts.
                    prop_assert!(waits(run) || (effect == Effect::Handle && !blocks(mask)));
                    // No thread before it would have been woken.
                    for &(m, r) in &threads[..i] {
                        prop_assert!(!waits(r));
                        prop_assert!(!(effect == Effect::Handle && blocked_run(r) && !blocks(m)));
                    }
                }
                Sent::Pending { wake: None } => {
                    prop_assert!(runnable_takes || waiter.is_none());
                    if effect == Effect::Handle && !runnable_takes {
                        prop_assert!(!threads.iter().any(|&(m, r)| blocked_run(r) && !blocks(m)));
                    }
                }
            }
            // A terminating signal ends the process when a thread that does
            // not block it takes it: a runnable one, or any when nobody
            // waits for it.
            if effect == Effect::Terminate && (runnable_takes || (waiter.is_none() && unblocked)) {
                prop_assert_eq!(sent, Sent::Fatal);
            }
            // Blocked by all and waited for by none: it waits.
            if effect != Effect::Ignore && !unblocked && waiter.is_none() {
                prop_assert_eq!(sent, Sent::Pending { wake: None });
            }
            // Sent to one thread, the rule is the same with that thread alone.
            if let [(mask, run)] = threads[..] {
                prop_assert_eq!(to_thread(sig, effect, mask, run), sent);
            }
        }
    }

    /// The model: per signal, the info of its first pending instance.
    #[derive(Default)]
    struct Model {
        thread: BTreeMap<u32, Info>,
        process: BTreeMap<u32, Info>,
    }

    impl Model {
        fn dequeue(&mut self, mask: u64) -> Option<Info> {
            let pick = |set: &BTreeMap<u32, Info>| {
                let ready: Vec<u32> = set
                    .keys()
                    .copied()
                    .filter(|&s| mask & (1 << (s - 1)) == 0)
                    .collect();
                let sync = [4, 5, 7, 8, 11, 31];
                ready
                    .iter()
                    .copied()
                    .find(|s| sync.contains(s))
                    .or(ready.first().copied())
            };
            if let Some(s) = pick(&self.thread) {
                return self.thread.remove(&s);
            }
            pick(&self.process).and_then(|s| self.process.remove(&s))
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        ToThread(u32, u32),
        ToProcess(u32, u32),
        Dequeue(u64),
        /// `rt_sigtimedwait` for a set.
        Wait(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let sig = 1u32..=64;
        let mask = prop_oneof![
            Just(0u64),
            any::<u64>(),
            (1u32..=64).prop_map(|s| !(1u64 << (s - 1)))
        ];
        prop_oneof![
            (sig.clone(), 0u32..5).prop_map(|(s, p)| Op::ToThread(s, p)),
            (sig, 0u32..5).prop_map(|(s, p)| Op::ToProcess(s, p)),
            mask.clone().prop_map(Op::Dequeue),
            mask.prop_map(|m| Op::Wait(!m)),
        ]
    }

    proptest! {
        #[test]
        fn pending_sets_behave_like_the_model(ops in proptest::collection::vec(op(), 1..200)) {
            let (mut thread, mut process) = (Pending::new(), Pending::new());
            let mut model = Model::default();
            for op in ops {
                match op {
                    Op::ToThread(sig, pid) => {
                        thread.add(Info::tkill(sig, pid, 0));
                        model.thread.entry(sig).or_insert(Info::tkill(sig, pid, 0));
                    }
                    Op::ToProcess(sig, pid) => {
                        process.add(Info::user(sig, pid, 0));
                        model.process.entry(sig).or_insert(Info::user(sig, pid, 0));
                    }
                    Op::Dequeue(mask) => {
                        let expected = model.dequeue(mask);
                        prop_assert_eq!(deliverable(&thread, &process, mask), expected.is_some());
                        prop_assert_eq!(dequeue(&mut thread, &mut process, mask), expected);
                    }
                    Op::Wait(set) => {
                        let expected = model.dequeue(!set);
                        prop_assert_eq!(take_waited(&mut thread, &mut process, set), expected);
                    }
                }
                let set = |m: &BTreeMap<u32, Info>| m.keys().fold(0u64, |s, &k| s | 1 << (k - 1));
                prop_assert_eq!(thread.set(), set(&model.thread));
                prop_assert_eq!(process.set(), set(&model.process));
            }
        }
    }
}
