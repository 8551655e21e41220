//! Tests of the pending sets and the sending rules: layouts, Linux's
//! order, who is woken, and the sets against a model.

use super::*;
use alloc::collections::{BTreeMap, VecDeque};
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
    let child = Info::child(CLD_EXITED, 9, 1, 3).encode();
    assert_eq!(&child[0..4], &17u32.to_le_bytes());
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
    process.add(Info::user(2, 1, 0), false).unwrap();
    thread.add(Info::tkill(10, 1, 0), false).unwrap();
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
    assert_eq!(p.add(Info::user(10, 3, 0), false), Ok(()));
    assert_eq!(p.add(Info::user(10, 4, 0), true), Ok(()));
    assert_eq!(p.queued(), 0);
    assert_eq!(p.take(10), Some(Info::user(10, 3, 0)));
    assert_eq!(p.take(10), None);
}

#[test]
fn real_time_instances_queue_in_order() {
    let mut p = Pending::new();
    let raw = |value: u8| {
        let mut raw = [0u8; SIGINFO_SIZE];
        raw[8..12].copy_from_slice(&SI_QUEUE.to_le_bytes());
        raw[24] = value;
        raw
    };
    assert!(!p.queues(40));
    assert_eq!(
        p.add(Info::queued(40, &raw(1)), false),
        Ok(()),
        "the first needs no room"
    );
    assert!(p.queues(40));
    assert_eq!(p.add(Info::queued(40, &raw(2)), false), Err(Full));
    assert_eq!(p.add(Info::queued(40, &raw(2)), true), Ok(()));
    assert_eq!(p.add(Info::user(35, 9, 0), true), Ok(()));
    assert_eq!(p.add(Info::queued(40, &raw(3)), true), Ok(()));
    assert_eq!(p.queued(), 2);
    // The lowest signal first, then each instance of 40 oldest first.
    assert_eq!(p.take(35), Some(Info::user(35, 9, 0)));
    for value in 1..=3 {
        let info = p.take(40).expect("still pending");
        assert_eq!(info.encode()[24], value);
        assert_eq!(info.code, SI_QUEUE);
    }
    assert_eq!(p.take(40), None);
    assert_eq!(p.set(), 0);
    p.add(Info::queued(40, &raw(1)), true).unwrap();
    p.add(Info::queued(40, &raw(2)), true).unwrap();
    p.add(Info::queued(41, &raw(2)), true).unwrap();
    p.add(Info::queued(41, &raw(3)), true).unwrap();
    p.discard(40);
    assert_eq!((p.set(), p.queued()), (bit(41), 1));
}

#[test]
fn queued_info_is_what_the_sender_wrote() {
    let mut raw = [0xaau8; SIGINFO_SIZE];
    raw[0..4].copy_from_slice(&99u32.to_le_bytes());
    raw[8..12].copy_from_slice(&SI_QUEUE.to_le_bytes());
    let out = Info::queued(40, &raw).encode();
    assert_eq!(
        &out[0..4],
        &40u32.to_le_bytes(),
        "the signal sent, not the one written"
    );
    assert_eq!(&out[4..8], &[0; 4]);
    assert_eq!(&out[8..12], &SI_QUEUE.to_le_bytes());
    assert_eq!(&out[12..16], &[0; 4]);
    assert_eq!(&out[16..32], &raw[16..32], "si_pid, si_uid, si_value");
    assert!(out[32..].iter().all(|&b| b == 0));
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
    // A stop is as a termination, but stops: nobody blocked is woken.
    assert_eq!(
        to_process(sig, Stop, &[(b, Runnable), (0, Interruptible)]),
        Sent::Stop
    );
    assert_eq!(
        to_process(sig, Stop, &[(b, Runnable), (b, Interruptible)]),
        Sent::Pending { wake: None }
    );
    assert_eq!(
        to_process(sig, Stop, &waiter),
        Sent::Pending { wake: Some(2) }
    );
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
    assert_eq!(to_thread(20, Stop, 0, Interruptible), Sent::Stop);
    assert_eq!(
        to_thread(20, Stop, bit(20), Runnable),
        Sent::Pending { wake: None },
        "blocked: it waits, the process runs on"
    );
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
        Just(Effect::Terminate),
        Just(Effect::Stop)
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
            Sent::Stop => {
                prop_assert_eq!(effect, Effect::Stop);
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
        // A terminating (stopping) signal ends (stops) the process when
        // a thread that does not block it takes it: a runnable one, or
        // any when nobody waits for it.
        let at_once = runnable_takes || (waiter.is_none() && unblocked);
        if effect == Effect::Terminate && at_once {
            prop_assert_eq!(sent, Sent::Fatal);
        }
        if effect == Effect::Stop && at_once {
            prop_assert_eq!(sent, Sent::Stop);
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

/// The model: per signal, the info of its pending instances, oldest
/// first.
#[derive(Default)]
struct Model {
    thread: BTreeMap<u32, VecDeque<Info>>,
    process: BTreeMap<u32, VecDeque<Info>>,
}

/// Most instances the property test lets the two sets queue.
const ROOM: usize = 4;

impl Model {
    fn queued(&self) -> usize {
        let extra =
            |m: &BTreeMap<u32, VecDeque<Info>>| m.values().map(|q| q.len() - 1).sum::<usize>();
        extra(&self.thread) + extra(&self.process)
    }

    /// Adds `info` to the thread's set or the process's.
    fn add(&mut self, to_thread: bool, info: Info) -> Result<(), Full> {
        let room = self.queued() < ROOM;
        let set = match to_thread {
            true => &mut self.thread,
            false => &mut self.process,
        };
        match set.get_mut(&info.signo) {
            None => {
                set.insert(info.signo, VecDeque::from([info]));
            }
            Some(_) if info.signo < 32 => {}
            Some(_) if !room => return Err(Full),
            Some(queue) => queue.push_back(info),
        }
        Ok(())
    }

    fn dequeue(&mut self, mask: u64) -> Option<Info> {
        let pick = |set: &BTreeMap<u32, VecDeque<Info>>| {
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
        let take = |set: &mut BTreeMap<u32, VecDeque<Info>>, s: u32| {
            let queue = set.get_mut(&s)?;
            let info = queue.pop_front();
            if queue.is_empty() {
                set.remove(&s);
            }
            info
        };
        if let Some(s) = pick(&self.thread) {
            return take(&mut self.thread, s);
        }
        pick(&self.process).and_then(|s| take(&mut self.process, s))
    }
}

#[derive(Clone, Debug)]
enum Op {
    ToThread(u32, u32),
    ToProcess(u32, u32),
    Dequeue(u64),
    /// `rt_sigtimedwait` for a set.
    Wait(u64),
    /// The process's action for a signal became one that discards it.
    Discard(u32),
}

fn op() -> impl Strategy<Value = Op> {
    // Real-time signals half the time, few of them, so that they queue.
    let sig = prop_oneof![1u32..=64, 32u32..=35];
    let mask = prop_oneof![
        Just(0u64),
        any::<u64>(),
        (1u32..=64).prop_map(|s| !(1u64 << (s - 1)))
    ];
    prop_oneof![
        3 => (sig.clone(), 0u32..5).prop_map(|(s, p)| Op::ToThread(s, p)),
        3 => (sig.clone(), 0u32..5).prop_map(|(s, p)| Op::ToProcess(s, p)),
        2 => mask.clone().prop_map(Op::Dequeue),
        1 => mask.prop_map(|m| Op::Wait(!m)),
        1 => sig.prop_map(Op::Discard),
    ]
}

proptest! {
    #[test]
    fn pending_sets_behave_like_the_model(ops in proptest::collection::vec(op(), 1..200)) {
        let (mut thread, mut process) = (Pending::new(), Pending::new());
        let mut model = Model::default();
        for op in ops {
            let room = thread.queued() + process.queued() < ROOM;
            match op {
                Op::ToThread(sig, pid) => {
                    let info = Info::tkill(sig, pid, 0);
                    prop_assert_eq!(thread.add(info, room), model.add(true, info));
                }
                Op::ToProcess(sig, pid) => {
                    let info = Info::user(sig, pid, 0);
                    prop_assert_eq!(process.add(info, room), model.add(false, info));
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
                Op::Discard(sig) => {
                    thread.discard(sig);
                    process.discard(sig);
                    model.thread.remove(&sig);
                    model.process.remove(&sig);
                }
            }
            let set = |m: &BTreeMap<u32, VecDeque<Info>>| m.keys().fold(0u64, |s, &k| s | 1 << (k - 1));
            prop_assert_eq!(thread.set(), set(&model.thread));
            prop_assert_eq!(process.set(), set(&model.process));
            prop_assert_eq!(thread.queued() + process.queued(), model.queued());
        }
    }
}
