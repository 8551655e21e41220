//! The null-call fast path against the general path: two systems run the
//! same operations, one trying `try_null_call`/`try_null_return` first,
//! the other only ever taking the general path; every result, every event
//! and the whole door state must agree after every step.

use super::*;
use crate::NullUpcall;
use abi::*;
use proptest::prelude::*;
use std::format;
use std::string::String;
use std::vec;

const PIDS: [Pid; 2] = [1, 2];
const TIDS: [Tid; 5] = [10, 11, 20, 21, 22];
const ATTRS: [u32; 5] = [
    0,
    DOOR_PRIVATE,
    DOOR_UNREF,
    DOOR_PRIVATE | DOOR_UNREF_MULTI,
    DOOR_REFUSE_DESC,
];

#[derive(Clone, Debug)]
enum Op {
    Create {
        p: usize,
        attrs: usize,
    },
    /// door_call(fd, NULL).
    NullCall {
        t: usize,
        k: usize,
    },
    /// door_call with a door_arg_t (the general path on both sides).
    ParamCall {
        t: usize,
        k: usize,
    },
    /// door_return(NULL, 0, NULL, 0), with a bad argument area if `bad`.
    NullReturn {
        t: usize,
        bad: bool,
    },
    /// door_return with 8 bytes of results.
    DataReturn {
        t: usize,
    },
    Bind {
        t: usize,
        k: usize,
    },
    Revoke {
        p: usize,
        k: usize,
    },
    DataMin {
        p: usize,
        k: usize,
    },
    Close {
        p: usize,
        k: usize,
    },
    Dup {
        p: usize,
        k: usize,
    },
    Abort {
        t: usize,
    },
    ExitThread {
        t: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PIDS.len();
    let t = 0..TIDS.len();
    let k = 0..3usize;
    prop_oneof![
        2 => (p.clone(), 0..ATTRS.len()).prop_map(|(p, attrs)| Op::Create { p, attrs }),
        40 => (0..20usize, prop_oneof![3 => Just(0usize), 1 => k.clone()]).prop_map(|(t, k)| Op::NullCall { t, k }),
        2 => (t.clone(), k.clone()).prop_map(|(t, k)| Op::ParamCall { t, k }),
        40 => (0..20usize, proptest::bool::weighted(0.05))
            .prop_map(|(t, bad)| Op::NullReturn { t, bad }),
        1 => t.clone().prop_map(|t| Op::DataReturn { t }),
        1 => (t.clone(), k.clone()).prop_map(|(t, k)| Op::Bind { t, k }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Revoke { p, k }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::DataMin { p, k }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Close { p, k }),
        1 => (p, k).prop_map(|(p, k)| Op::Dup { p, k }),
        1 => t.clone().prop_map(|t| Op::Abort { t }),
        1 => t.prop_map(|t| Op::ExitThread { t }),
    ]
}

/// What a null invocation looks like when it comes from the general path.
fn as_null_upcall(up: &Upcall) -> NullUpcall {
    NullUpcall {
        server: up.server,
        server_pid: up.server_pid,
        sp: up.layout.sp,
        status: up.entry_status(),
        regs: up.entry_regs(),
    }
}

/// Everything of the door state a program could observe, as text.
fn fingerprint(w: &World) -> String {
    let sys = &w.sys;
    let mut out = format!("{:?}\n", sys.stats());
    let mut threads: Vec<_> = sys.threads.values().collect();
    threads.sort_by_key(|t| t.tid);
    for t in threads {
        out += &format!(
            "thread {}: pid {} idle {:?} call {:?} serving {:?} bind {:?} stack {:?}\n",
            t.tid, t.pid, t.idle, t.call, t.serving, t.bind, t.stack
        );
    }
    let mut procs: Vec<_> = sys
        .procs
        .iter()
        .map(|(k, p)| (sys.procs.id_of(k), p))
        .collect();
    procs.sort_by_key(|(pid, _)| *pid);
    for (pid, p) in procs {
        let fds: Vec<_> = (0..8).filter_map(|fd| w.caps.get(pid, fd)).collect();
        out += &format!(
            "process {pid}: fds {fds:?} idle {:?} queued {}\n",
            p.pool.idle,
            p.pool.queue.len()
        );
    }
    for (id, d) in sys.doors.iter() {
        out += &format!(
            "door {id:?}: refs {} active {} revoked {} unref {:?} idle {:?} queued {}\n",
            d.refs,
            d.active,
            d.revoked,
            d.unref,
            d.pool.idle,
            d.pool.queue.len()
        );
    }
    out
}

/// The two systems and how often the fast path applied.
struct Pair {
    fast: World,
    general: World,
    hits: usize,
}

impl Pair {
    fn new() -> Self {
        let mut pair = Pair {
            fast: World::new(),
            general: World::new(),
            hits: 0,
        };
        // Process 2 serves a shared and a private door (thread 22 bound to
        // it); process 1, its child, holds both as descriptors 0 and 1.
        for w in [&mut pair.fast, &mut pair.general] {
            w.process(2, &[20, 21, 22]);
            w.create(2, 7, 0);
            w.create(2, 8, DOOR_PRIVATE);
            w.door_bind(22, 1).unwrap();
            w.process(1, &[10, 11]);
            assert_eq!((w.give(2, 1, 0), w.give(2, 1, 1)), (0, 1));
        }
        pair
    }

    /// Runs `f` on both systems; the results must agree.
    fn both<T: PartialEq + core::fmt::Debug>(&mut self, f: impl Fn(&mut World) -> T) {
        assert_eq!(f(&mut self.fast), f(&mut self.general));
    }

    /// door_call(fd, NULL) on both; the fast path's upcall when it applied.
    fn null_call(&mut self, tid: Tid, fd: Fd) -> Option<NullUpcall> {
        let general = self.general.call(tid, fd, None);
        match self.fast.try_null_call(tid, fd) {
            Some(up) => {
                self.hits += 1;
                match general {
                    Ok(CallOutcome::Handoff(g)) => assert_eq!(up, as_null_upcall(&g)),
                    other => panic!("fast path started a call the general path gave {other:?}"),
                }
                Some(up)
            }
            None => {
                assert_eq!(self.fast.call(tid, fd, None), general);
                None
            }
        }
    }

    fn null_return(&mut self, tid: Tid, bad: bool) {
        let stack = match bad {
            true => StackArea {
                base: BAD,
                size: 0x1_0000,
            },
            false => stack(tid),
        };
        let args = ReturnArgs {
            stack,
            ..ReturnArgs::default()
        };
        let general =
            self.general
                .sys
                .door_return(&mut self.general.mem, &mut self.general.caps, tid, args);
        match self.fast.try_null_return(tid, stack) {
            Some(caller) => {
                self.hits += 1;
                let g = general.expect("the general path failed a fast return");
                let reply = g.reply.expect("the general path found no caller");
                assert_eq!(reply.caller, caller);
                let d = reply.result.expect("the general path failed the reply");
                assert!(d.len == 0 && d.descs.is_empty() && d.arg.is_none() && d.mapped.is_none());
                assert_eq!(g.next, Next::Park, "the fast path parks");
            }
            None => assert_eq!(
                self.fast
                    .sys
                    .door_return(&mut self.fast.mem, &mut self.fast.caps, tid, args),
                general
            ),
        }
    }

    /// Thread `TIDS[t]`, or for most operations the `t`-th thread that can
    /// make the call usefully, so random runs reach the fast path often:
    /// a running client thread (process 1) to call, a running server
    /// thread (process 2) to return, one serving a call if there is one.
    fn pick(&self, t: usize, ret: bool) -> Tid {
        let threads = &self.general.sys.threads;
        let running = |tid: &&Tid| {
            threads
                .get(tid)
                .is_some_and(|th| th.idle.is_none() && th.call.is_none() && (th.pid == 2) == ret)
        };
        let serving = |tid: &&Tid| running(tid) && threads[tid].serving.is_some();
        let mut able: Vec<Tid> = TIDS.iter().filter(serving).copied().collect();
        if !ret || able.is_empty() {
            able = TIDS.iter().filter(running).copied().collect();
        }
        match (t % 4, able.is_empty()) {
            (0, _) | (_, true) => TIDS[t % TIDS.len()],
            _ => able[t % able.len()],
        }
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Create { p, attrs } => {
                self.both(|w| w.door_create(PIDS[p], PC, 7, ATTRS[attrs]));
            }
            Op::NullCall { t, k } => {
                self.null_call(self.pick(t, false), k as Fd);
            }
            // The harness's helpers need a live thread.
            Op::ParamCall { t, .. } | Op::DataReturn { t }
                if !self.general.sys.threads.contains_key(&TIDS[t]) => {}
            Op::ParamCall { t, k } => {
                self.both(|w| {
                    let p = w.arg(TIDS[t], 16, &[], 64);
                    w.call(TIDS[t], k as Fd, Some(p))
                });
            }
            Op::NullReturn { t, bad } => self.null_return(self.pick(t, true), bad),
            Op::DataReturn { t } => {
                self.both(|w| w.ret(TIDS[t], 8, &[]));
            }
            Op::Bind { t, k } => {
                self.both(|w| w.door_bind(TIDS[t], k as Fd));
            }
            Op::Revoke { p, k } => {
                self.both(|w| w.door_revoke(PIDS[p], k as Fd));
            }
            Op::DataMin { p, k } => {
                self.both(|w| w.door_setparam(PIDS[p], k as Fd, DOOR_PARAM_DATA_MIN, 1));
            }
            Op::Close { p, k } => {
                self.both(|w| w.close(PIDS[p], k as Fd));
            }
            Op::Dup { p, k } => {
                self.both(|w| w.dup(PIDS[p], k as Fd));
            }
            Op::Abort { t } => {
                let tid = TIDS[t];
                let pid = if tid < 20 { 1 } else { 2 };
                self.both(|w| w.abort_call(pid, tid));
            }
            Op::ExitThread { t } => {
                self.both(|w| w.exit_thread(TIDS[t]));
            }
        }
        self.both(|w| w.events());
        assert_eq!(fingerprint(&self.fast), fingerprint(&self.general));
    }
}

#[test]
fn fast_path_takes_the_null_round_trip_and_agrees() {
    let mut pair = Pair::new();
    // Threads 20 and 21 parked in process 2's shared pool.
    pair.null_return(20, false);
    pair.null_return(21, false);
    assert_eq!(pair.hits, 0);
    let up = pair.null_call(22, 0).expect("a fast call");
    assert_eq!(
        (up.server, up.server_pid, up.status),
        (21, 2, invocation::RUN)
    );
    assert_eq!((up.regs[0], up.regs[5]), (7, PC));
    assert_eq!(up.sp, up.regs[1]);
    pair.null_return(21, false);
    assert_eq!(pair.hits, 2);
    // With thread 20 gone, the call takes the last idle thread.
    pair.both(|w| w.exit_thread(20));
    let up = pair.null_call(22, 0).expect("a fast call");
    assert_eq!((up.server, up.status), (21, invocation::DEPLETED_SHARED));
    pair.null_return(21, false);
    assert_eq!(pair.hits, 4);
    assert_eq!(fingerprint(&pair.fast), fingerprint(&pair.general));
    assert_eq!(pair.fast.sys.stats().invocations, 0);
}

#[test]
fn null_return_rechecks_its_area_after_an_unmap() {
    let mut pair = Pair::new();
    pair.null_return(20, false);
    pair.null_call(10, 0).expect("a fast call");
    pair.null_return(20, false);
    pair.null_call(10, 0).expect("a fast call");
    assert_eq!(pair.hits, 3);
    // Part of thread 20's area goes away while it serves: the same area
    // registered again is no longer writable.
    let area = stack(20);
    for w in [&mut pair.fast, &mut pair.general] {
        w.mem.holes.push((area.base, area.base + 16));
    }
    pair.null_return(20, false);
    assert_eq!(pair.hits, 3);
    let args = ReturnArgs {
        stack: area,
        ..ReturnArgs::default()
    };
    assert_eq!(
        pair.fast
            .sys
            .door_return(&mut pair.fast.mem, &mut pair.fast.caps, 20, args),
        Err(Errno::EFAULT)
    );
}

#[test]
fn fast_path_declines_what_it_does_not_cover() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20, 21, 22]);
    let shared = w.create(2, 1, 0);
    let private = w.create(2, 2, DOOR_PRIVATE);
    // No idle thread: the call must wait.
    assert_eq!(w.try_null_call(21, shared), None);
    w.door_bind(20, private).unwrap();
    w.park(20);
    // Taking the only thread of a private pool depletes it.
    assert_eq!(w.try_null_call(21, private), None);
    // A descriptor that names nothing.
    assert_eq!(w.try_null_call(21, 9), None);
    // A call with parameters is served, but its return is not a null one.
    w.park(22);
    let p = w.arg(21, 0, &[], 64);
    w.call(21, shared, Some(p)).unwrap();
    assert_eq!(w.try_null_return(22, stack(22)), None);
    assert_eq!(w.sys.stats().invocations, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fast_and_general_paths_agree(ops in proptest::collection::vec(op(), 1..80)) {
        let mut pair = Pair::new();
        for op in &ops {
            pair.step(op);
        }
    }
}

#[test]
fn random_runs_take_the_fast_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut hits = 0;
    for _ in 0..32 {
        let ops = proptest::collection::vec(op(), 60)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut pair = Pair::new();
        for op in &ops {
            pair.step(op);
        }
        hits += pair.hits;
    }
    assert!(hits > 200, "the fast path applied only {hits} times");
}
