//! Property test: random sequences of create, close, dup, call, return,
//! descriptor passing (of doors and of tokens: objects of another kind),
//! revoke, bind, fattach/fdetach/open, door_info, abort, thread and process
//! exit, fork and exec, signals interrupting idle threads, checked after every step against a reference model
//! of the descriptor tables and against the system's own invariants; the
//! scheduling and unreferenced-invocation rules are in `prop_unref`.

use super::*;
use crate::system::{CallState, Pending, PoolKey};
use abi::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::vec;
use unref::{PoolM, Sched};

#[path = "prop_fork.rs"]
mod fork;
#[path = "prop_unref.rs"]
mod unref;

/// Processes 1 to 3 exist from the start; 4 and 5 are fork children, each
/// with one thread (40, 50), once a thread forks.
const PIDS: [Pid; 5] = [1, 2, 3, 4, 5];
const INITIAL: usize = 3;
const TIDS: [Tid; 8] = [10, 11, 20, 21, 30, 31, 40, 50];
const ATTRS: [u32; 8] = [
    0,
    DOOR_UNREF,
    DOOR_UNREF_MULTI,
    DOOR_PRIVATE,
    DOOR_PRIVATE | DOOR_UNREF_MULTI,
    DOOR_NO_CANCEL,
    DOOR_REFUSE_DESC,
    DOOR_PRIVATE | DOOR_UNREF,
];
const NAMES: [&[u8]; 2] = [b"/a", b"/b"];
const CAPACITY: usize = 5;
/// Model identities at or above this are tokens (`TOKEN + t` for token `t`);
/// below it, door uniquifiers.
const TOKEN: u64 = 1 << 40;

fn is_token(u: u64) -> bool {
    u >= TOKEN
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        p: usize,
        attrs: usize,
    },
    Token {
        p: usize,
    },
    Close {
        p: usize,
        k: usize,
    },
    Dup {
        p: usize,
        k: usize,
    },
    Call {
        t: usize,
        k: usize,
        pass: Option<(usize, bool)>,
        big: bool,
    },
    Return {
        t: usize,
        pass: Option<(usize, bool)>,
    },
    Revoke {
        p: usize,
        k: usize,
    },
    Bind {
        t: usize,
        k: usize,
    },
    Unbind {
        t: usize,
    },
    Attach {
        p: usize,
        k: usize,
        n: usize,
    },
    Detach {
        n: usize,
    },
    Open {
        p: usize,
        n: usize,
    },
    Abort {
        t: usize,
    },
    ExitThread {
        t: usize,
    },
    ExitProcess {
        p: usize,
    },
    Info {
        t: usize,
        k: usize,
    },
    Fork {
        t: usize,
    },
    Exec {
        t: usize,
    },
    /// A signal interrupts the thread (if idle in its pool).
    Interrupt {
        t: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PIDS.len();
    let t = 0..TIDS.len();
    let k = 0..8usize;
    let pass = proptest::option::of((0..8usize, any::<bool>()));
    prop_oneof![
        3 => (p.clone(), 0..ATTRS.len()).prop_map(|(p, attrs)| Op::Create { p, attrs }),
        1 => p.clone().prop_map(|p| Op::Token { p }),
        2 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Close { p, k }),
        2 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Dup { p, k }),
        6 => (t.clone(), k.clone(), pass.clone(), proptest::bool::weighted(0.05))
            .prop_map(|(t, k, pass, big)| Op::Call { t, k, pass, big }),
        6 => (t.clone(), pass).prop_map(|(t, pass)| Op::Return { t, pass }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Revoke { p, k }),
        1 => (t.clone(), k.clone()).prop_map(|(t, k)| Op::Bind { t, k }),
        1 => t.clone().prop_map(|t| Op::Unbind { t }),
        2 => (p.clone(), k.clone(), 0..NAMES.len()).prop_map(|(p, k, n)| Op::Attach { p, k, n }),
        1 => (0..NAMES.len()).prop_map(|n| Op::Detach { n }),
        2 => (p.clone(), 0..NAMES.len()).prop_map(|(p, n)| Op::Open { p, n }),
        1 => t.clone().prop_map(|t| Op::Abort { t }),
        1 => t.clone().prop_map(|t| Op::ExitThread { t }),
        1 => p.prop_map(|p| Op::ExitProcess { p }),
        1 => (t.clone(), k).prop_map(|(t, k)| Op::Info { t, k }),
        1 => t.clone().prop_map(|t| Op::Fork { t }),
        1 => t.clone().prop_map(|t| Op::Exec { t }),
        1 => t.prop_map(|t| Op::Interrupt { t }),
    ]
}

/// What the tables should hold, driven only by the outcomes the system
/// reports (new descriptors, deliveries, releases).
#[derive(Default)]
struct Model {
    tables: BTreeMap<Pid, BTreeMap<Fd, u64>>,
    names: BTreeMap<usize, u64>,
    /// Doors carried by calls still waiting for a server thread.
    inflight: BTreeMap<Tid, Vec<u64>>,
    /// Threads blocked in door_call.
    blocked: BTreeSet<Tid>,
    threads: BTreeSet<Tid>,
    /// Doors revoked or whose server died.
    dead: BTreeSet<u64>,
    /// Doors whose server process exited or executed another image.
    orphaned: BTreeSet<u64>,
    server_of: BTreeMap<u64, Pid>,
    /// Processes created so far (fork children are never reused).
    born: BTreeSet<Pid>,
    /// Pools, invocations and notices.
    s: Sched,
}

struct Run {
    w: World,
    m: Model,
}

fn pid_of(tid: Tid) -> Pid {
    tid / 10
}

impl Run {
    fn new() -> Self {
        let mut w = World::with(Config::default(), CAPACITY);
        let mut m = Model::default();
        for pid in &PIDS[..INITIAL] {
            w.process(*pid, &[]);
            m.tables.insert(*pid, BTreeMap::new());
            m.born.insert(*pid);
        }
        for tid in TIDS.into_iter().filter(|&t| m.born.contains(&pid_of(t))) {
            w.sys
                .create_thread(pid_of(tid), tid, handle_of(tid))
                .unwrap();
            m.threads.insert(tid);
        }
        Run { w, m }
    }

    /// The k-th descriptor of `pid` in the model, or a forged one.
    fn pick(&self, pid: Pid, k: usize) -> Fd {
        match self.m.tables.get(&pid) {
            Some(t) if !t.is_empty() => *t.keys().nth(k % t.len()).unwrap(),
            _ => 4000 + k as Fd,
        }
    }

    fn entry(&self, pid: Pid, k: Option<(usize, bool)>) -> Option<(Fd, bool, u64)> {
        let (k, release) = k?;
        let t = self.m.tables.get(&pid)?;
        let fd = *t.keys().nth(k % t.len().max(1))?;
        Some((fd, release, t[&fd]))
    }

    fn insert(&mut self, pid: Pid, fd: Fd, uniq: u64) {
        let t = self
            .m
            .tables
            .get_mut(&pid)
            .expect("delivery to a dead process");
        assert!(
            t.insert(fd, uniq).is_none(),
            "descriptor {fd} handed out twice in {pid}"
        );
        assert!(t.len() <= CAPACITY);
    }

    fn release(&mut self, pid: Pid, pass: Option<(Fd, bool, u64)>) {
        if let Some((fd, true, _)) = pass {
            self.m
                .tables
                .get_mut(&pid)
                .unwrap()
                .remove(&fd)
                .expect("released twice");
        }
    }

    /// An upcall of thread `up.server`, taken from `pool`.
    fn upcall(&mut self, up: &Upcall, pool: PoolM) {
        self.check_upcall(up, pool);
        let sent = match up.caller {
            Some(c) => self.m.inflight.remove(&c).unwrap_or_default(),
            None => {
                assert_eq!(up.entry_regs()[1], DOOR_UNREF_DATA);
                Vec::new()
            }
        };
        assert_eq!(
            up.descs.iter().map(|d| d.d_id).collect::<Vec<_>>(),
            d_ids(&sent)
        );
        for (d, u) in up.descs.iter().zip(sent) {
            self.insert(up.server_pid, d.d_descriptor, u);
        }
    }

    fn drain(&mut self) {
        while let Some(e) = self.w.sys.pop_event() {
            match e {
                Event::CallFailed { caller, .. } => {
                    assert!(
                        self.m.blocked.remove(&caller),
                        "failed a caller that was not blocked"
                    );
                    self.m.inflight.remove(&caller);
                    self.m.s.waiting.remove(&caller);
                }
                Event::Dispatch(up) => {
                    assert!(up.caller.is_none(), "only notices are dispatched");
                    let pool = self.m.s.parked.remove(&up.server);
                    self.upcall(&up, pool.expect("dispatch to a thread not parked"));
                }
                Event::Cancel { server } => assert!(self.w.sys.is_cancelled(server)),
                Event::ParkFailed { tid, errno } => {
                    assert!(self.w.sys.running_thread(tid).is_ok());
                    self.park_failed(tid, errno);
                }
            }
        }
    }

    fn thread_gone(&mut self, tid: Tid) {
        self.m.threads.remove(&tid);
        self.m.blocked.remove(&tid);
        self.m.inflight.remove(&tid);
        self.sched_gone(tid);
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Create { p, attrs } => {
                let pid = PIDS[p];
                let r = self.w.door_create(pid, PC, 0, ATTRS[attrs]);
                match self.m.tables.get(&pid) {
                    None => assert_eq!(r, Err(Errno::ESRCH)),
                    Some(t) if t.len() == CAPACITY => assert_eq!(r, Err(Errno::EMFILE)),
                    Some(_) => {
                        let fd = r.unwrap().fd;
                        let uniq = self.w.door_of(pid, fd);
                        self.m.server_of.insert(uniq, pid);
                        self.created(uniq, ATTRS[attrs]);
                        self.insert(pid, fd, uniq);
                    }
                }
            }
            Op::Token { p } => {
                let pid = PIDS[p];
                if self.m.tables.get(&pid).is_some_and(|t| t.len() < CAPACITY) {
                    let fd = self.w.token(pid);
                    let Some(Cap::Token(t)) = self.w.caps.get(pid, fd) else {
                        panic!("a token was not installed");
                    };
                    self.insert(pid, fd, TOKEN + u64::from(t));
                }
            }
            Op::Close { p, k } => {
                let (pid, fd) = (PIDS[p], self.pick(PIDS[p], k));
                let r = self.w.close(pid, fd);
                match self.m.tables.get_mut(&pid).and_then(|t| t.remove(&fd)) {
                    Some(_) => assert_eq!(r, Ok(())),
                    None => assert_eq!(r, Err(Errno::EBADF)),
                }
            }
            Op::Dup { p, k } => {
                let (pid, fd) = (PIDS[p], self.pick(PIDS[p], k));
                let r = self.w.dup(pid, fd);
                match self
                    .m
                    .tables
                    .get(&pid)
                    .and_then(|t| t.get(&fd).map(|u| (*u, t.len())))
                {
                    None => assert_eq!(r, Err(Errno::EBADF)),
                    Some((_, CAPACITY)) => assert_eq!(r, Err(Errno::EMFILE)),
                    Some((uniq, _)) => self.insert(pid, r.unwrap(), uniq),
                }
            }
            Op::Call { t, k, pass, big } => self.call(TIDS[t], k, pass, big),
            Op::Return { t, pass } => self.ret(TIDS[t], pass),
            Op::Revoke { p, k } => {
                let (pid, fd) = (PIDS[p], self.pick(PIDS[p], k));
                let r = self.w.door_revoke(pid, fd);
                match self.m.tables.get(&pid).and_then(|t| t.get(&fd).copied()) {
                    None => assert_eq!(r, Err(Errno::EBADF)),
                    Some(u) if is_token(u) => assert_eq!(r, Err(Errno::EBADF)),
                    Some(u) if self.m.dead.contains(&u) => assert_eq!(r, Err(Errno::EBADF)),
                    Some(u) if self.m.server_of[&u] != pid => assert_eq!(r, Err(Errno::EPERM)),
                    Some(u) => {
                        assert_eq!(r, Ok(()));
                        self.m.dead.insert(u);
                        self.m.tables.get_mut(&pid).unwrap().remove(&fd);
                    }
                }
            }
            Op::Bind { t, k } => {
                let tid = TIDS[t];
                let fd = self.pick(pid_of(tid), k);
                let r = self.w.door_bind(tid, fd);
                assert!(
                    matches!(r, Ok(()) | Err(Errno::EBADF | Errno::EINVAL | Errno::ESRCH)),
                    "{r:?}"
                );
                if r.is_ok() {
                    let u = self.m.tables[&pid_of(tid)][&fd];
                    assert_eq!(self.m.s.doors[&u].attrs & DOOR_PRIVATE, DOOR_PRIVATE);
                    assert_eq!(self.m.server_of[&u], pid_of(tid));
                    assert!(!self.m.orphaned.contains(&u));
                    self.m.s.bound.insert(tid, u);
                    self.m.s.invbound.remove(&tid);
                }
            }
            Op::Unbind { t } => self.unbind(TIDS[t]),
            Op::Attach { p, k, n } => {
                let (pid, fd) = (PIDS[p], self.pick(PIDS[p], k));
                let r = self.w.fattach(pid, fd, NAMES[n]);
                match self.m.tables.get(&pid).and_then(|t| t.get(&fd).copied()) {
                    None => assert_eq!(r, Err(Errno::EBADF)),
                    Some(u) if is_token(u) => assert_eq!(r, Err(Errno::EBADF)),
                    Some(_) if self.m.names.contains_key(&n) => assert_eq!(r, Err(Errno::EBUSY)),
                    Some(u) => {
                        assert_eq!(r, Ok(()));
                        self.m.names.insert(n, u);
                    }
                }
            }
            Op::Detach { n } => {
                let r = self.w.fdetach(NAMES[n]);
                if self.m.names.remove(&n).is_some() {
                    assert_eq!(r, Ok(()));
                } else {
                    assert_eq!(r, Err(Errno::EINVAL));
                }
            }
            Op::Open { p, n } => {
                let pid = PIDS[p];
                let r = self.w.open(pid, NAMES[n]);
                match (
                    self.m.names.get(&n).copied(),
                    self.m.tables.get(&pid).map(|t| t.len()),
                ) {
                    (None, _) => assert_eq!(r, Err(Errno::ENOENT)),
                    (Some(_), None) => assert_eq!(r, Err(Errno::ESRCH)),
                    (Some(_), Some(CAPACITY)) => assert_eq!(r, Err(Errno::EMFILE)),
                    (Some(u), Some(_)) => self.insert(pid, r.unwrap(), u),
                }
            }
            Op::Abort { t } => {
                let tid = TIDS[t];
                let r = self.w.abort_call(pid_of(tid), tid);
                if self.m.blocked.contains(&tid) {
                    assert_eq!(r, Ok(()));
                    // Withdrawn now (its CallFailed may follow a notice).
                    if self.m.s.waiting.remove(&tid).is_some() {
                        self.m.inflight.remove(&tid);
                    }
                } else if self.m.threads.contains(&tid) {
                    assert_eq!(r, Err(Errno::EINVAL));
                } else {
                    assert_eq!(r, Err(Errno::ESRCH));
                }
            }
            Op::ExitThread { t } => {
                self.w.exit_thread(TIDS[t]);
                self.thread_gone(TIDS[t]);
            }
            Op::ExitProcess { p } => self.exit_process(PIDS[p]),
            Op::Info { t, k } => self.info(TIDS[t], k),
            Op::Fork { t } => self.fork(TIDS[t]),
            Op::Exec { t } => self.exec(TIDS[t]),
            Op::Interrupt { t } => {
                let idle = self.m.s.parked.contains_key(&TIDS[t]);
                assert_eq!(self.w.sys.interrupt_idle(TIDS[t]), idle);
            }
        }
        self.drain();
        self.track();
        self.check();
    }

    fn exit_process(&mut self, pid: Pid) {
        self.w.exit_process(pid);
        self.m.s.exiting = true;
        let threads: Vec<Tid> = TIDS.iter().chain(&self.m.threads).copied().collect();
        for tid in threads.into_iter().filter(|&t| pid_of(t) == pid) {
            self.thread_gone(tid);
        }
        self.m.tables.remove(&pid);
        self.orphan_doors_of(pid);
    }

    fn call(&mut self, tid: Tid, k: usize, pass: Option<(usize, bool)>, big: bool) {
        let pid = pid_of(tid);
        if !self.m.threads.contains(&tid) {
            assert_eq!(self.w.call(tid, 0, None), Err(Errno::ESRCH));
            return;
        }
        if self.w.sys.running_thread(tid).is_err() {
            assert_eq!(self.w.call(tid, 0, None), Err(Errno::EINVAL));
            return;
        }
        let fd = self.pick(pid, k);
        let entry = self.entry(pid, pass);
        let descs: Vec<_> = entry
            .iter()
            .map(|&(fd, rel, _)| {
                if rel {
                    pass_release(fd)
                } else {
                    super::pass(fd)
                }
            })
            .collect();
        let params = self.w.arg(tid, if big { 1 << 20 } else { 8 }, &descs, 64);
        let r = self.w.call(tid, fd, Some(params));
        let target = self.m.tables[&pid].get(&fd).copied();
        match target {
            None => return assert_eq!(r, Err(Errno::EBADF)),
            Some(u) if is_token(u) => return assert_eq!(r, Err(Errno::EBADF)),
            Some(u) if self.m.dead.contains(&u) => return assert_eq!(r, Err(Errno::EBADF)),
            Some(_) => {}
        }
        let sent: Vec<u64> = entry.iter().map(|e| e.2).collect();
        if let (Ok(_), Some((_, true, u))) = (&r, entry) {
            self.transient(u);
        }
        match r {
            Ok(CallOutcome::Handoff(up)) => {
                assert_eq!(up.caller, Some(tid));
                assert_eq!(Some(up.door), target);
                self.m.inflight.insert(tid, sent);
                let pool = self.m.s.parked.remove(&up.server);
                self.upcall(&up, pool.expect("handoff to a thread not parked"));
                self.m.blocked.insert(tid);
            }
            Ok(CallOutcome::Wait) => {
                self.m.inflight.insert(tid, sent);
                self.m.blocked.insert(tid);
                self.waits(tid, target.unwrap());
            }
            Err(e) => assert!(
                matches!(e, Errno::E2BIG | Errno::ENOTSUP | Errno::EMFILE),
                "{e:?}"
            ),
        }
        self.release(pid, entry);
    }

    fn ret(&mut self, tid: Tid, pass: Option<(usize, bool)>) {
        let pid = pid_of(tid);
        if !self.m.threads.contains(&tid) {
            let r = self.w.sys.door_return(
                &mut self.w.mem,
                &mut self.w.caps,
                tid,
                ReturnArgs {
                    stack: stack(tid),
                    ..ReturnArgs::default()
                },
            );
            return assert_eq!(r, Err(Errno::ESRCH));
        }
        if self.w.sys.running_thread(tid).is_err() || self.m.s.invbound.contains(&tid) {
            return assert_eq!(self.w.ret(tid, 0, &[]), Err(Errno::EINVAL));
        }
        let entry = self.entry(pid, pass);
        let descs: Vec<_> = entry
            .iter()
            .map(|&(fd, rel, _)| {
                if rel {
                    pass_release(fd)
                } else {
                    super::pass(fd)
                }
            })
            .collect();
        match self.w.ret(tid, 8, &descs) {
            Ok(out) => {
                self.m.s.serving.remove(&tid);
                if let (Some(_), Some((_, true, u))) = (&out.reply, entry) {
                    self.transient(u);
                }
                if let Some(reply) = &out.reply {
                    assert!(
                        self.m.blocked.remove(&reply.caller),
                        "replied to a caller that was not blocked"
                    );
                    let d = reply.result.as_ref().expect("mappings do not fail here");
                    let ids: Vec<u64> = d.descs.iter().map(|d| d.d_id).collect();
                    let sent: Vec<u64> = entry.iter().map(|e| e.2).collect();
                    assert_eq!(ids, d_ids(&sent));
                    for (x, u) in d.descs.iter().zip(sent) {
                        self.insert(reply.caller_pid, x.d_descriptor, u);
                    }
                }
                self.release(pid, entry);
                // Events of this return precede the parking thread's next
                // upcall.
                self.drain();
                self.next(tid, &out.next);
            }
            Err(e) => assert_eq!(e, Errno::EMFILE),
        }
    }

    /// Invariants of the system against itself and the model.
    fn check(&self) {
        let sys = &self.w.sys;
        // Tables match the model exactly.
        let identity = |cap: &Cap| match *cap {
            Cap::Door(d) => sys.door(d).uniq,
            Cap::Token(t) => TOKEN + u64::from(t),
        };
        let tables: BTreeMap<Pid, BTreeMap<Fd, u64>> = self
            .w
            .caps
            .tables
            .iter()
            .map(|(&pid, t)| {
                let open = t.iter().enumerate();
                let open = open.filter_map(|(fd, c)| c.as_ref().map(|c| (fd as Fd, identity(c))));
                (pid, open.collect())
            })
            .collect();
        assert_eq!(tables, self.m.tables);
        // Reference counts: descriptors + attachments + in-flight entries,
        // of doors (counted by the door logic) and of tokens (counted by the
        // capability layer, through retain and release).
        let refs = self.model_refs();
        let tokens: BTreeMap<u64, u32> = refs
            .iter()
            .filter(|(u, _)| is_token(**u))
            .map(|(&u, &n)| (u - TOKEN, n))
            .collect();
        let counted: BTreeMap<u64, u32> = self
            .w
            .caps
            .tokens
            .iter()
            .map(|(&t, &n)| (u64::from(t), n))
            .collect();
        assert_eq!(counted, tokens, "token references");
        // The count of descriptors waiting calls carry matches the queues.
        let queued: usize = sys
            .procs
            .values()
            .map(|p| &p.pool)
            .chain(sys.doors.iter().map(|(_, d)| &d.pool))
            .flat_map(|pool| pool.queue.iter())
            .map(|p| p.descs())
            .sum();
        assert_eq!(sys.queued_descs, queued, "descriptors of waiting calls");
        let mut live = BTreeSet::new();
        for (id, d) in sys.doors.iter() {
            live.insert(d.uniq);
            assert_eq!(
                d.refs,
                refs.get(&d.uniq).copied().unwrap_or(0),
                "refs of door {}",
                d.uniq
            );
            let calls = sys
                .threads
                .values()
                .filter_map(|t| t.serving.as_ref())
                .filter(|i| i.door == id && !i.unref)
                .count()
                + sys
                    .procs
                    .values()
                    .map(|p| &p.pool)
                    .chain(sys.doors.iter().map(|(_, d)| &d.pool))
                    .flat_map(|p| p.queue.iter())
                    .filter(|p| matches!(p, Pending::Call { door, .. } if *door == id))
                    .count();
            assert_eq!(d.active as usize, calls, "active calls of door {}", d.uniq);
            assert!(
                d.refs > 0 || d.active > 0 || d.unref.queued || d.unref.running,
                "garbage door {}",
                d.uniq
            );
        }
        assert!(
            refs.keys().all(|u| is_token(*u) || live.contains(u)),
            "a referenced door was freed"
        );
        // Threads, pools, invocations.
        let pool = |key: PoolKey| match key {
            PoolKey::Shared(p) => &sys.procs.at(p).pool,
            PoolKey::Private(d) => &sys.doors.get(d).expect("pool of a freed door").pool,
        };
        for (key, t) in sys.threads.iter() {
            let tid = t.tid;
            if let Some(pool_key) = t.idle {
                assert!(
                    t.serving.is_none() && t.call.is_none(),
                    "thread {tid} idle and busy"
                );
                assert_eq!(pool(pool_key).idle.iter().filter(|&&x| x == key).count(), 1);
            }
            if let Some(CallState::Waiting(pool_key)) = t.call {
                let q = &pool(pool_key).queue;
                assert_eq!(
                    q.iter()
                        .filter(|p| matches!(p, Pending::Call { caller, .. } if *caller == key))
                        .count(),
                    1
                );
            }
            if let Some(CallState::Active(server)) = t.call {
                let i = sys.threads.at(server).serving.as_ref();
                assert_eq!(i.expect("an active call's invocation").caller, Some(key));
            }
            if let Some(i) = &t.serving
                && let Some(c) = i.caller
            {
                assert_eq!(sys.threads.at(c).call, Some(CallState::Active(key)));
            }
        }
        let pools = sys
            .procs
            .values()
            .map(|p| &p.pool)
            .chain(sys.doors.iter().map(|(_, d)| &d.pool));
        for p in pools {
            assert!(
                p.idle.is_empty() || p.queue.is_empty(),
                "idle threads next to waiting work"
            );
            for &key in &p.idle {
                assert!(sys.threads.at(key).idle.is_some());
            }
        }
        let blocked: BTreeSet<Tid> = sys
            .threads
            .values()
            .filter(|t| t.call.is_some())
            .map(|t| t.tid)
            .collect();
        assert_eq!(blocked, self.m.blocked);
        assert_eq!(
            self.w.caps.count(),
            self.m.tables.values().map(|t| t.len()).sum::<usize>()
        );
        assert_eq!(self.w.names.len(), self.m.names.len());
        self.check_sched();
    }

    /// Lets every thread return and park until nothing moves, then ends all
    /// processes: every blocked caller must have been answered or failed,
    /// and nothing may be left.
    fn finish(&mut self) {
        let invbound: Vec<Tid> = self.m.s.invbound.iter().copied().collect();
        for tid in invbound {
            self.unbind(tid);
        }
        for _ in 0..20 {
            let runnable: Vec<Tid> = self
                .m
                .threads
                .iter()
                .copied()
                .filter(|&t| self.w.sys.running_thread(t).is_ok())
                .collect();
            if runnable.is_empty() {
                break;
            }
            for tid in runnable {
                if self.w.sys.running_thread(tid).is_ok() {
                    self.ret(tid, None);
                    self.drain();
                    self.track();
                    self.check();
                }
            }
        }
        for t in self.w.sys.threads.values() {
            let tid = t.tid;
            if let Some(CallState::Waiting(key)) = t.call {
                let idle = match key {
                    PoolKey::Shared(p) => self.w.sys.procs.at(p).pool.idle.len(),
                    PoolKey::Private(d) => self.w.sys.doors.get(d).unwrap().pool.idle.len(),
                };
                assert_eq!(
                    idle, 0,
                    "thread {tid} waits although a server thread is idle"
                );
            }
        }
        self.check_liveness();
        for pid in PIDS {
            self.exit_process(pid);
            self.drain();
            self.track();
            self.check();
        }
        assert!(
            self.m.blocked.is_empty(),
            "callers never answered: {:?}",
            self.m.blocked
        );
        let s = self.w.sys.stats();
        assert_eq!((self.w.caps.count(), s.invocations, s.waiting), (0, 0, 0));
        assert!(self.w.caps.tokens.is_empty(), "tokens leaked");
        assert!(self.w.sys.threads.values().next().is_none());
        // Only attached doors may remain; detaching them frees everything.
        assert!(s.doors <= self.m.names.len());
        for &n in self.m.names.keys() {
            self.w.fdetach(NAMES[n]).unwrap();
        }
        assert_eq!(self.w.sys.stats(), crate::Stats::default());
        assert!(self.w.sys.pop_event().is_none());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_door_operations_keep_the_model_and_invariants(ops in proptest::collection::vec(op(), 1..120)) {
        let mut run = Run::new();
        for op in &ops {
            run.step(op);
        }
        run.finish();
    }
}

/// The `d_id`s of delivered descriptor entries for the objects `sent`: a
/// door's uniquifier, 0 for any other kind.
fn d_ids(sent: &[u64]) -> Vec<u64> {
    sent.iter()
        .map(|&u| if is_token(u) { 0 } else { u })
        .collect()
}
