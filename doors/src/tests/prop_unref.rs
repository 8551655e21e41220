//! The scheduling and unreferenced-invocation half of the property test's
//! model: which pool every parked thread is in, which thread serves what,
//! which callers wait for which door, and per door its attributes, the
//! reference counts seen and the notices delivered. Checked after every
//! step:
//!
//! 1. a notice (argp == DOOR_UNREF_DATA) goes only to a DOOR_UNREF or
//!    DOOR_UNREF_MULTI door that is not revoked, on a thread of the door's
//!    server process taken from the door's pool (its private pool, i.e. a
//!    bound thread, for DOOR_PRIVATE, else the process's shared pool);
//! 2. a DOOR_UNREF door gets at most one notice, and every notice follows
//!    (since the previous one) a count above one and a drop to one;
//! 3. no notice starts while a call on the door that was active when the
//!    notice fired (the count dropped to one) is still waiting or being
//!    served: it is deferred until they finish (calls made after it fired
//!    may overtake or overlap it: they find it queued or running); notices
//!    of one door never overlap;
//! 4. at the end of a case (after the wind-down parks every thread), a
//!    live door due a notice (count one after being above one since its
//!    last notice, or ever for DOOR_UNREF without one yet), with no call or
//!    notice on it running, got it, unless its pool has no idle thread; then
//!    a new thread parking in that pool gets it.
//!
//! The count is the model's (descriptors + attachments + in-flight entries),
//! seen at step boundaries. Within one step a door's count only rises and
//! then falls, and its notice is delivered after the rise (exit_process may
//! close descriptors after delivering). A DOOR_RELEASE pass raises the
//! passed door's count by one for an instant (the entry is in flight before
//! the sender's descriptor closes). Rule 2 uses an upper bound of what the
//! count may have been (including that instant); rule 4 a lower bound (step
//! boundaries only), so neither depends on whether such a transfer notifies.

use super::{NAMES, Op, PIDS, Run, TIDS, pid_of};
use crate::system::{CallState, Pending, PoolKey};
use crate::tests::handle_of;
use crate::{Errno, Next, Pid, Tid, Upcall};
use abi::{DOOR_PRIVATE, DOOR_UNREF, DOOR_UNREF_DATA, DOOR_UNREF_MULTI};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::vec;
use std::vec::Vec;

/// A pool, named by the model: a process's shared pool or a door's (by its
/// unique id) private one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PoolM {
    Shared(Pid),
    Private(u64),
}

/// What the model knows of one door's references and notices.
#[derive(Default)]
pub(super) struct DoorM {
    pub attrs: u32,
    /// The count at the last step boundary.
    refs: u32,
    /// The highest count in the current step (a DOOR_RELEASE pass).
    peak: u32,
    /// May have been above one: ever / since the last notice.
    ever_hi: bool,
    above_hi: bool,
    /// May have dropped to one after `above_hi` (a notice may be due).
    dropped_hi: bool,
    /// Was above one (at a step boundary): ever / since the last notice.
    ever_lo: bool,
    above_lo: bool,
    notices: u32,
    /// A notice was delivered in the current step.
    delivered: bool,
    /// The first step since the last notice in which the count may have
    /// dropped to one: the pending notice fired no earlier.
    fired_from: Option<usize>,
}

/// The model's view of threads and notices.
#[derive(Default)]
pub(super) struct Sched {
    /// door_bind targets (doors by unique id).
    pub bound: BTreeMap<Tid, u64>,
    /// Fork children's threads bound to an invalid door.
    pub invbound: BTreeSet<Tid>,
    /// Threads idle in a pool.
    pub parked: BTreeMap<Tid, PoolM>,
    /// Callers waiting for a server thread: the door they call, and the
    /// step the call was made in.
    pub waiting: BTreeMap<Tid, (u64, usize)>,
    /// Threads serving an invocation: the door, whether it is a notice, and
    /// the step the call was made in.
    pub serving: BTreeMap<Tid, (u64, bool, usize)>,
    /// Steps completed.
    pub step: usize,
    pub doors: BTreeMap<u64, DoorM>,
    /// The current step is a process exit.
    pub exiting: bool,
    /// Doors whose private pool failed a thread (ParkFailed, Next::Fail):
    /// each must be revoked or unreferenced at the end of the step.
    pub pool_gone: Vec<u64>,
}

impl Run {
    pub(super) fn created(&mut self, uniq: u64, attrs: u32) {
        let d = DoorM {
            attrs,
            ..DoorM::default()
        };
        assert!(self.m.s.doors.insert(uniq, d).is_none());
    }

    /// The pool door `u`'s invocations run in.
    fn pool_of(&self, u: u64) -> PoolM {
        if self.m.s.doors[&u].attrs & DOOR_PRIVATE != 0 {
            PoolM::Private(u)
        } else {
            PoolM::Shared(self.m.server_of[&u])
        }
    }

    /// Calls on door `u` waiting or being served, made before step `before`.
    fn active_since(&self, u: u64, before: usize) -> usize {
        let waiting = self.m.s.waiting.values();
        let waiting = waiting.filter(|&&(d, at)| d == u && at < before).count();
        let serving = self.m.s.serving.values();
        waiting
            + serving
                .filter(|&&(d, unref, at)| d == u && !unref && at < before)
                .count()
    }

    /// Calls on door `u` waiting or being served.
    fn active(&self, u: u64) -> usize {
        self.active_since(u, usize::MAX)
    }

    /// Whether a notice of door `u` is being served.
    fn running(&self, u: u64) -> bool {
        self.m
            .s
            .serving
            .values()
            .any(|&(d, unref, _)| d == u && unref)
    }

    /// Caller `tid` waits for a server thread of door `u`.
    pub(super) fn waits(&mut self, tid: Tid, u: u64) {
        self.m.s.waiting.insert(tid, (u, self.m.s.step));
    }

    /// Model reference counts: descriptors + attachments + in-flight entries.
    pub(super) fn model_refs(&self) -> BTreeMap<u64, u32> {
        let mut refs: BTreeMap<u64, u32> = BTreeMap::new();
        let named = self
            .m
            .tables
            .values()
            .flat_map(|t| t.values())
            .chain(self.m.names.values());
        for u in named.chain(self.m.inflight.values().flatten()) {
            *refs.entry(*u).or_default() += 1;
        }
        refs
    }

    /// Door `u` is passed with DOOR_RELEASE and the message is delivered or
    /// queued: its count rises by one before the sender's copy closes.
    pub(super) fn transient(&mut self, u: u64) {
        if super::is_token(u) {
            return;
        }
        let d = self.m.s.doors.get_mut(&u).expect("passed an unknown door");
        d.peak = d.peak.max(d.refs + 1);
    }

    /// Thread `tid` leaves the model's scheduling records.
    pub(super) fn sched_gone(&mut self, tid: Tid) {
        let s = &mut self.m.s;
        s.bound.remove(&tid);
        s.invbound.remove(&tid);
        s.parked.remove(&tid);
        s.waiting.remove(&tid);
        s.serving.remove(&tid);
    }

    /// Idle thread `tid` left its pool (ParkFailed): interrupted (EINTR),
    /// it stays bound; else it lost its private pool.
    pub(super) fn park_failed(&mut self, tid: Tid, errno: Errno) {
        let pool = self.m.s.parked.remove(&tid);
        if errno == Errno::EINTR {
            assert!(pool.is_some(), "thread {tid} interrupted but not parked");
            return;
        }
        let Some(PoolM::Private(b)) = pool else {
            panic!("thread {tid} lost its pool but was parked in {pool:?}");
        };
        self.m.s.pool_gone.push(b);
        self.m.s.bound.remove(&tid);
    }

    /// Thread `tid` ended a door_return with `next`.
    pub(super) fn next(&mut self, tid: Tid, next: &Next) {
        let bound = self.m.s.bound.get(&tid).copied();
        let pool = bound.map_or(PoolM::Shared(pid_of(tid)), PoolM::Private);
        match next {
            Next::Park => {
                self.parks_in(bound);
                self.m.s.parked.insert(tid, pool);
            }
            Next::Serve(up) => {
                self.parks_in(bound);
                assert_eq!(up.server, tid, "a parking thread served for another");
                self.upcall(up, pool);
            }
            Next::Fail(e) => {
                assert_eq!(*e, Errno::EBADF);
                let b = bound.expect("park failed for an unbound thread");
                self.m.s.bound.remove(&tid);
                self.m.s.pool_gone.push(b);
            }
        }
    }

    fn parks_in(&self, bound: Option<u64>) {
        if let Some(b) = bound {
            assert!(
                !self.m.dead.contains(&b),
                "parked in the pool of revoked door {b}"
            );
        }
    }

    /// Checks an upcall of thread `up.server` taken from `pool` and records
    /// the invocation (rules 1 to 3 for notices).
    pub(super) fn check_upcall(&mut self, up: &Upcall, pool: PoolM) {
        let u = up.door;
        let server = self.m.server_of[&u];
        assert_eq!(up.server_pid, server, "door {u} served by a stranger");
        assert_eq!(pid_of(up.server), server, "thread of another process");
        assert_eq!(pool, self.pool_of(u), "door {u} served from the wrong pool");
        let [_, argp, arg_size, _, desc_num, _] = up.entry_regs();
        let unref = argp == DOOR_UNREF_DATA;
        assert_eq!(
            unref,
            up.caller.is_none(),
            "argp DOOR_UNREF_DATA iff notice"
        );
        let mut made = self.m.s.step;
        if let Some(c) = up.caller
            && let Some((d, at)) = self.m.s.waiting.remove(&c)
        {
            assert_eq!(d, u, "caller {c} served on another door");
            made = at;
        }
        if unref {
            assert_eq!((arg_size, desc_num), (0, 0));
            assert!(up.copy.is_none() && up.descs.is_empty());
            assert!(!self.m.dead.contains(&u), "notice of revoked door {u}");
            let fired = self.m.s.doors[&u].fired_from.unwrap_or(self.m.s.step);
            assert_eq!(
                self.active_since(u, fired),
                0,
                "notice of door {u} while a call older than it runs or waits"
            );
            assert!(!self.running(u), "two notices of door {u} at once");
            let d = self.m.s.doors.get_mut(&u).unwrap();
            assert!(
                d.attrs & (DOOR_UNREF | DOOR_UNREF_MULTI) != 0,
                "notice of door {u} without DOOR_UNREF(_MULTI)"
            );
            assert!(
                d.attrs & DOOR_UNREF == 0 || d.notices == 0,
                "second notice of DOOR_UNREF door {u}"
            );
            assert!(!d.delivered, "two notices of door {u} in one step");
            d.notices += 1;
            d.delivered = true;
        }
        let prev = self.m.s.serving.insert(up.server, (u, unref, made));
        assert!(prev.is_none(), "thread {} serves twice", up.server);
    }

    /// End of a step: checks the notices delivered in it against the counts
    /// (rule 2) and records the counts seen.
    pub(super) fn track(&mut self) {
        let refs = self.model_refs();
        let exiting = core::mem::take(&mut self.m.s.exiting);
        let step = self.m.s.step;
        self.m.s.step += 1;
        for b in core::mem::take(&mut self.m.s.pool_gone) {
            assert!(
                self.m.dead.contains(&b) || !refs.contains_key(&b),
                "private pool of live door {b} failed its threads"
            );
        }
        for (&u, d) in self.m.s.doors.iter_mut() {
            let e = refs.get(&u).copied().unwrap_or(0);
            let p = d.peak.max(d.refs).max(e);
            if d.delivered {
                let due = d.dropped_hi || ((d.above_hi || p > 1) && e <= 1);
                assert!(
                    due,
                    "door {u}: notice without the count dropping to one after \
                     being above one (counts {} -> {e}, peak {p})",
                    d.refs
                );
                // After its notice a door's count only falls within a step;
                // only exit_process closes descriptors after delivering.
                d.above_hi = if exiting { p > 1 } else { e > 1 };
                d.dropped_hi = exiting && d.above_hi && e <= 1;
                d.above_lo = e > 1;
                d.fired_from = d.dropped_hi.then_some(step);
            } else {
                d.dropped_hi |= (d.above_hi || p > 1) && e <= 1;
                if d.dropped_hi && d.fired_from.is_none() {
                    d.fired_from = Some(step);
                }
                d.above_hi |= p > 1;
                d.above_lo |= e > 1;
            }
            d.ever_hi |= p > 1;
            d.ever_lo |= e > 1;
            assert!(d.above_hi || !d.above_lo);
            assert!(d.ever_hi || !d.ever_lo);
            (d.refs, d.peak, d.delivered) = (e, 0, false);
        }
    }

    /// The model's scheduling records against the system's state.
    pub(super) fn check_sched(&self) {
        let sys = &self.w.sys;
        let uniq = |k| sys.doors.get(k).map(|d| d.uniq);
        let pool = |k| match k {
            PoolKey::Shared(p) => PoolM::Shared(sys.procs.id_of(p)),
            PoolKey::Private(d) => PoolM::Private(uniq(d).expect("pool of a freed door")),
        };
        let mut parked = BTreeMap::new();
        let mut waiting = BTreeMap::new();
        let mut serving = BTreeMap::new();
        for (key, t) in sys.threads.iter() {
            let tid = t.tid;
            if let Some(k) = t.idle {
                parked.insert(tid, pool(k));
            }
            if let Some(CallState::Waiting(k)) = t.call {
                let q = match k {
                    PoolKey::Shared(p) => &sys.procs.at(p).pool.queue,
                    PoolKey::Private(d) => &sys.doors.get(d).unwrap().pool.queue,
                };
                let door = q.iter().find_map(|p| match p {
                    Pending::Call { caller, door, .. } if *caller == key => Some(*door),
                    _ => None,
                });
                let door = uniq(door.expect("waiting caller not queued"));
                waiting.insert(tid, door.unwrap());
            }
            if let Some(i) = &t.serving {
                serving.insert(tid, (uniq(i.door).unwrap(), i.unref));
            }
            match (t.bind, self.m.s.bound.get(&tid)) {
                (None, None) => {}
                (Some(k), Some(&u)) => match uniq(k) {
                    Some(v) => assert_eq!(v, u, "thread {tid} bound elsewhere"),
                    None => assert!(sys.doors.iter().all(|(_, d)| d.uniq != u)),
                },
                (b, m) => panic!("thread {tid} bound to {b:?}, model {m:?}"),
            }
            let invalid = self.m.s.invbound.contains(&tid);
            assert_eq!(t.bound_invalid, invalid, "thread {tid} invalidly bound");
        }
        assert_eq!(parked, self.m.s.parked, "idle threads");
        let s = &self.m.s;
        let model = s.waiting.iter().map(|(&t, &(d, _))| (t, d)).collect();
        assert_eq!(waiting, model, "waiting callers");
        let model = s
            .serving
            .iter()
            .map(|(&t, &(d, n, _))| (t, (d, n)))
            .collect();
        assert_eq!(serving, model, "invocations");
        assert!(self.m.s.bound.keys().all(|t| sys.threads.contains_key(t)));
        assert!(
            self.m
                .s
                .invbound
                .iter()
                .all(|t| sys.threads.contains_key(t))
        );
        for (_, d) in sys.doors.iter() {
            assert_eq!(
                d.active as usize,
                self.active(d.uniq),
                "calls on {}",
                d.uniq
            );
            assert_eq!(d.unref.running, self.running(d.uniq));
        }
    }

    /// Whether door `u` (now at `refs`) is owed a notice that nothing defers.
    fn owed(&self, u: u64, refs: &BTreeMap<u64, u32>) -> bool {
        let d = &self.m.s.doors[&u];
        let due = if d.attrs & DOOR_UNREF_MULTI != 0 {
            d.above_lo
        } else {
            d.attrs & DOOR_UNREF != 0 && d.notices == 0 && d.ever_lo
        };
        due && refs.get(&u) == Some(&1)
            && !self.m.dead.contains(&u)
            && self.active(u) == 0
            && !self.running(u)
    }

    /// Rule 4, after the wind-down: every owed notice was delivered, or its
    /// pool has no idle thread and a new thread parking there gets it.
    pub(super) fn check_liveness(&mut self) {
        let refs = self.model_refs();
        let owed: Vec<u64> = self
            .m
            .s
            .doors
            .keys()
            .copied()
            .filter(|&u| self.owed(u, &refs))
            .collect();
        for u in owed {
            if !self.owed(u, &self.model_refs()) {
                continue;
            }
            let pool = self.pool_of(u);
            assert!(
                !self.m.s.parked.values().any(|&p| p == pool),
                "door {u}: notice owed but not delivered, {pool:?} has an idle thread"
            );
            self.park_new_thread(u, pool);
        }
    }

    /// Parks a new thread in `pool` (bound to door `u` if private) until it
    /// serves `u`'s owed notice.
    fn park_new_thread(&mut self, u: u64, pool: PoolM) {
        let server = self.m.server_of[&u];
        let fd = self.m.tables[&server]
            .iter()
            .find(|&(_, &v)| v == u)
            .map(|(&fd, _)| fd);
        if let (PoolM::Private(_), None) = (pool, fd) {
            // No descriptor to door_bind with: the notice must still wait.
            let sys = &self.w.sys;
            let d = sys.doors.iter().find(|(_, d)| d.uniq == u).unwrap().1;
            assert!(d.unref.queued, "door {u}: owed notice is not queued");
            return;
        }
        let tid = (server * 10 + 2..server * 10 + 10)
            .find(|t| !self.m.threads.contains(t))
            .expect("no thread id left");
        self.w
            .sys
            .create_thread(server, tid, handle_of(tid))
            .unwrap();
        self.m.threads.insert(tid);
        if let (PoolM::Private(_), Some(fd)) = (pool, fd) {
            self.w.door_bind(tid, fd).unwrap();
            self.m.s.bound.insert(tid, u);
        }
        let before = self.m.s.doors[&u].notices;
        for _ in 0..64 {
            if self.m.s.doors[&u].notices > before || self.m.s.parked.contains_key(&tid) {
                break;
            }
            self.ret(tid, None);
            self.drain();
            self.track();
            self.check();
        }
        assert!(
            self.m.s.doors[&u].notices > before,
            "door {u}: owed notice not delivered to a new thread in {pool:?}"
        );
    }
}

/// Operations weighted towards reference-count changes (dup, close,
/// passing, naming) on doors with unreferenced notices, and towards bound
/// threads.
fn notice_op() -> impl Strategy<Value = Op> {
    let p = 0..PIDS.len();
    let t = 0..TIDS.len();
    let k = 0..8usize;
    let pass = proptest::option::weighted(0.5, (0..8usize, any::<bool>()));
    // DOOR_UNREF, DOOR_UNREF_MULTI, and both with DOOR_PRIVATE.
    let attrs = proptest::sample::select(vec![1usize, 2, 4, 7]);
    prop_oneof![
        3 => (p.clone(), attrs).prop_map(|(p, attrs)| Op::Create { p, attrs }),
        4 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Close { p, k }),
        4 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Dup { p, k }),
        5 => (t.clone(), k.clone(), pass.clone())
            .prop_map(|(t, k, pass)| Op::Call { t, k, pass, big: false }),
        6 => (t.clone(), pass).prop_map(|(t, pass)| Op::Return { t, pass }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Revoke { p, k }),
        3 => (t.clone(), k.clone()).prop_map(|(t, k)| Op::Bind { t, k }),
        2 => (p.clone(), k, 0..NAMES.len()).prop_map(|(p, k, n)| Op::Attach { p, k, n }),
        2 => (0..NAMES.len()).prop_map(|n| Op::Detach { n }),
        2 => (p.clone(), 0..NAMES.len()).prop_map(|(p, n)| Op::Open { p, n }),
        1 => t.clone().prop_map(|t| Op::Abort { t }),
        1 => t.clone().prop_map(|t| Op::ExitThread { t }),
        1 => p.prop_map(|p| Op::ExitProcess { p }),
        2 => t.clone().prop_map(|t| Op::Fork { t }),
        1 => t.prop_map(|t| Op::Exec { t }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn unreferenced_notices_follow_the_rules(ops in proptest::collection::vec(notice_op(), 1..120)) {
        let mut run = Run::new();
        // Every thread starts parked in its process's shared pool.
        for t in 0..TIDS.len() {
            run.step(&Op::Return { t, pass: None });
        }
        for op in &ops {
            run.step(op);
        }
        run.finish();
    }
}
