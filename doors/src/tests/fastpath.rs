//! The fast path against the general path: two systems run the same
//! operations, one trying `try_fast_call`/`try_fast_return` first, the
//! other only ever taking the general path; every result, every event,
//! every copy the kernel is told to make (argument layout, result place,
//! the `door_arg_t` written back) and the whole door state must agree
//! after every step. Calls and returns come in every shape the fast path
//! must decline too: descriptors, unreadable or unwritable buffers
//! (EFAULT), arguments that do not fit the server's area (E2BIG) or the
//! door's DATA_MIN..DATA_MAX (ENOBUFS), results larger than rbuf (a new
//! mapping), results to a call without `door_arg_t` (E2BIG), areas
//! unmapped between a call and its return, and idle threads interrupted
//! (out of their pools until they return again).

use super::*;
use crate::{ArgCopy, FastUpcall, UNPLACED};
use abi::*;
use proptest::prelude::*;
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
/// Argument and result sizes: none, small, a page, the most a server
/// thread's area (`stack`) holds, and one byte more.
const SIZES: [u64; 7] = [0, 1, 16, 256, 4096, 0xffd0, 0xffd1];
/// rbuf sizes.
const RSIZES: [u64; 4] = [0, 16, 256, 0x1_0000];
/// DATA_MIN and DATA_MAX values.
const LIMITS: [u64; 3] = [0, 16, 4096];

/// A buffer of a call or return: where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// In the thread's own mapped memory.
    Good,
    /// Not mapped (EFAULT).
    Bad,
    /// Mapped for reading only (EFAULT where it is written).
    ReadOnly,
    /// At address 0 (NULL).
    Null,
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        24 => Just(Place::Good),
        1 => Just(Place::Bad),
        1 => Just(Place::ReadOnly),
        1 => Just(Place::Null),
    ]
}

/// The shape of a door_call with a `door_arg_t`.
#[derive(Clone, Copy, Debug)]
pub(super) struct CallShape {
    pub(super) size: usize,
    pub(super) rsize: usize,
    pub(super) params: Place,
    pub(super) data: Place,
    pub(super) rbuf: Place,
    /// Passes a descriptor (the general path's case).
    pub(super) desc: bool,
}

/// The shape of a door_return.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReturnShape {
    pub(super) size: usize,
    pub(super) data: Place,
    /// The results lie where arguments land, at the top of the thread's
    /// argument area (an echo server's), unless `data` is `Null`.
    pub(super) echo: bool,
    /// Its argument area is not mapped.
    pub(super) bad_area: bool,
    /// Returns a descriptor (the general path's case).
    pub(super) desc: bool,
}

/// What an unmap takes away from a thread: part of one of its buffers.
#[derive(Clone, Copy, Debug)]
pub(super) enum Buffer {
    Params,
    CallData,
    Rbuf,
    ReturnData,
    Area,
}

#[derive(Clone, Debug)]
pub(super) enum Op {
    Create {
        p: usize,
        attrs: usize,
    },
    /// door_call(fd, NULL).
    NullCall {
        t: usize,
        k: usize,
    },
    /// door_call with a door_arg_t.
    DataCall {
        t: usize,
        k: usize,
        shape: CallShape,
    },
    /// door_return(NULL, 0, NULL, 0), with a bad argument area if `bad`.
    NullReturn {
        t: usize,
        bad: bool,
    },
    /// door_return with results.
    DataReturn {
        t: usize,
        shape: ReturnShape,
    },
    Bind {
        t: usize,
        k: usize,
    },
    Revoke {
        p: usize,
        k: usize,
    },
    SetParam {
        p: usize,
        k: usize,
        max: bool,
        value: usize,
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
    /// Part of a thread's buffer is unmapped (for good).
    Unmap {
        t: usize,
        buffer: Buffer,
    },
    /// A signal interrupts the thread (if idle in its pool).
    Interrupt {
        t: usize,
    },
}

fn call_shape() -> impl Strategy<Value = CallShape> {
    let size = prop_oneof![3 => 0..4usize, 1 => 0..SIZES.len()];
    let rsize = 0..RSIZES.len();
    let desc = proptest::bool::weighted(0.05);
    (size, rsize, place(), place(), place(), desc).prop_map(
        |(size, rsize, params, data, rbuf, desc)| CallShape {
            size,
            rsize,
            params,
            data,
            rbuf,
            desc,
        },
    )
}

fn return_shape() -> impl Strategy<Value = ReturnShape> {
    let size = prop_oneof![3 => 0..4usize, 1 => 0..SIZES.len()];
    let bad_area = proptest::bool::weighted(0.03);
    let desc = proptest::bool::weighted(0.05);
    let echo = proptest::bool::weighted(0.3);
    (size, place(), echo, bad_area, desc).prop_map(|(size, data, echo, bad_area, desc)| {
        ReturnShape {
            size,
            data,
            echo,
            bad_area,
            desc,
        }
    })
}

fn buffer() -> impl Strategy<Value = Buffer> {
    prop_oneof![
        Just(Buffer::Params),
        Just(Buffer::CallData),
        Just(Buffer::Rbuf),
        Just(Buffer::ReturnData),
        Just(Buffer::Area),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PIDS.len();
    let t = 0..TIDS.len();
    let k = 0..3usize;
    let door = prop_oneof![3 => Just(0usize), 1 => k.clone()];
    prop_oneof![
        2 => (p.clone(), 0..ATTRS.len()).prop_map(|(p, attrs)| Op::Create { p, attrs }),
        20 => (0..20usize, door.clone()).prop_map(|(t, k)| Op::NullCall { t, k }),
        20 => (0..20usize, door, call_shape())
            .prop_map(|(t, k, shape)| Op::DataCall { t, k, shape }),
        20 => (0..20usize, proptest::bool::weighted(0.05))
            .prop_map(|(t, bad)| Op::NullReturn { t, bad }),
        20 => (0..20usize, return_shape()).prop_map(|(t, shape)| Op::DataReturn { t, shape }),
        1 => (t.clone(), k.clone()).prop_map(|(t, k)| Op::Bind { t, k }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Revoke { p, k }),
        1 => (p.clone(), k.clone(), any::<bool>(), 0..LIMITS.len())
            .prop_map(|(p, k, max, value)| Op::SetParam { p, k, max, value }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Close { p, k }),
        1 => (p, k).prop_map(|(p, k)| Op::Dup { p, k }),
        1 => t.clone().prop_map(|t| Op::Abort { t }),
        1 => t.clone().prop_map(|t| Op::ExitThread { t }),
        1 => (t.clone(), buffer()).prop_map(|(t, buffer)| Op::Unmap { t, buffer }),
        1 => t.prop_map(|t| Op::Interrupt { t }),
    ]
}

/// Where thread `tid`'s buffer of kind `buffer` is (`stack(tid)` for its
/// argument area).
pub(super) fn buffer_addr(tid: Tid, buffer: Buffer) -> u64 {
    let at = tid as u64 * 0x10_0000;
    match buffer {
        Buffer::Params => 0x2000_0000 + tid as u64 * 0x100,
        Buffer::CallData => 0x4000_0000 + at,
        Buffer::Rbuf => 0x8000_0000 + at,
        Buffer::ReturnData => 0xc000_0000 + at,
        Buffer::Area => stack(tid).base,
    }
}

/// The address of a buffer of kind `buffer` in `place`.
fn placed(tid: Tid, buffer: Buffer, place: Place) -> u64 {
    match place {
        Place::Good => buffer_addr(tid, buffer),
        Place::Bad => BAD + buffer_addr(tid, buffer),
        Place::ReadOnly => READ_ONLY + buffer_addr(tid, buffer),
        Place::Null => 0,
    }
}

/// The `door_arg_t` of a call of `shape` by `tid` in `w`; the descriptor
/// it passes (if any) is its process's descriptor 0.
pub(super) fn call_params(w: &mut World, tid: Tid, shape: &CallShape) -> CallParams {
    let desc_ptr = 0x3000_0000 + tid as u64 * 0x1000;
    if let Some(t) = w.sys.threads.get(&tid) {
        w.mem.descs.insert((t.pid, desc_ptr), vec![pass(0)]);
    }
    CallParams {
        addr: placed(tid, Buffer::Params, shape.params),
        arg: DoorArg {
            data_ptr: placed(tid, Buffer::CallData, shape.data),
            data_size: SIZES[shape.size],
            desc_ptr,
            desc_num: u32::from(shape.desc),
            rbuf: placed(tid, Buffer::Rbuf, shape.rbuf),
            rsize: RSIZES[shape.rsize],
        },
        located: None,
    }
}

/// Thread `tid`'s argument area, or one that is not mapped.
fn area(tid: Tid, bad: bool) -> StackArea {
    match bad {
        true => StackArea {
            base: BAD,
            size: 0x1_0000,
        },
        false => stack(tid),
    }
}

/// What an invocation looks like when it comes from the general path,
/// with the tokens `from` and `to` of its argument bytes and their
/// destination (which the general path does not hand over).
fn as_fast_upcall(up: &Upcall, from: u64, to: (u64, u64)) -> FastUpcall {
    FastUpcall {
        server: up.server,
        server_handle: handle_of(up.server),
        server_pid: up.server_pid,
        sp: up.layout.sp,
        status: up.entry_status(),
        regs: up.entry_regs(),
        from,
        to,
    }
}

/// The two systems and how often the fast path applied.
pub(super) struct Pair {
    pub(super) fast: World,
    pub(super) general: World,
    pub(super) hits: usize,
    /// Of them, calls with a `door_arg_t` and returns to one.
    pub(super) data_hits: usize,
}

impl Pair {
    pub(super) fn new() -> Self {
        let mut pair = Pair {
            fast: World::new(),
            general: World::new(),
            hits: 0,
            data_hits: 0,
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
    pub(super) fn both<T: PartialEq + core::fmt::Debug>(&mut self, f: impl Fn(&mut World) -> T) {
        assert_eq!(f(&mut self.fast), f(&mut self.general));
    }

    /// door_call on both; the fast path's upcall when it applied (the
    /// general path must start the same invocation, copying the same
    /// bytes to the same place).
    pub(super) fn call(
        &mut self,
        tid: Tid,
        fd: Fd,
        params: Option<CallParams>,
    ) -> Option<FastUpcall> {
        let general = self.general.call(tid, fd, params);
        // The kernel reads the door_arg_t, finds where its ranges are (if
        // they are all accessible), and hands the door logic their tokens.
        let pid = self.fast.sys.threads.get(&tid).map_or(0, |t| t.pid);
        let fast_params = params.map(|p| CallParams {
            located: p.locate(&self.fast.mem, pid),
            ..p
        });
        match self.fast.try_fast_call(tid, fd, fast_params) {
            Some(up) => {
                self.hits += 1;
                self.data_hits += usize::from(params.is_some());
                let Ok(CallOutcome::Handoff(g)) = general else {
                    panic!("fast path started a call the general path gave {general:?}");
                };
                // The model's token for the argument bytes; where they go,
                // the top page of the server thread's area (its token
                // the start inverted), when they land there and nothing
                // was unmapped since the area was registered.
                let from = params.map_or(UNPLACED, |p| !p.arg.data_ptr);
                let server = &self.general.sys.threads[&up.server];
                let (area, fresh) = (server.stack, server.stack_epoch == self.general.mem.epoch());
                let top = ((area.base + area.size - 1) & !4095).max(area.base);
                let to = match up.regs[2] > 0 && up.regs[1] >= top && fresh {
                    true => (!top, top),
                    false => (UNPLACED, 0),
                };
                assert_eq!(up, as_fast_upcall(&g, from, to));
                let pid = self.general.sys.threads[&tid].pid;
                let copy = params.filter(|p| p.arg.data_size > 0).map(|p| ArgCopy {
                    from_pid: pid,
                    from: p.arg.data_ptr,
                    len: p.arg.data_size,
                });
                assert_eq!(g.copy, copy, "the bytes the kernel copies");
                assert_eq!((g.layout.data_addr, g.descs.len()), (up.regs[1], 0));
                assert_eq!(g.depleted.is_some(), up.status != invocation::RUN);
                Some(up)
            }
            None => {
                assert_eq!(self.fast.call(tid, fd, fast_params), general);
                None
            }
        }
    }

    /// door_return of `size` bytes at `data` (and descriptor 0 of the
    /// thread's process, with `desc`) on both; when the fast path applied,
    /// the general path must deliver the same bytes to the same place, write
    /// the same `door_arg_t` back, and park the thread. Returns the fast
    /// path's reply, if it applied, and the general path's outcome.
    pub(super) fn ret(
        &mut self,
        tid: Tid,
        data: u64,
        size: u64,
        desc: bool,
        stack: StackArea,
    ) -> (Option<FastReply>, Result<ReturnOutcome, Errno>) {
        let desc_ptr = 0x5000_0000 + tid as u64 * 0x1000;
        let args = ReturnArgs {
            data_ptr: data,
            data_size: size,
            desc_ptr,
            desc_num: u32::from(desc),
            stack,
        };
        for w in [&mut self.fast, &mut self.general] {
            if let Some(t) = w.sys.threads.get(&tid) {
                w.mem.descs.insert((t.pid, desc_ptr), vec![pass(0)]);
            }
        }
        let general =
            self.general
                .sys
                .door_return(&mut self.general.mem, &mut self.general.caps, tid, args);
        let fast = match desc {
            false => self.fast.try_fast_return(tid, data, size, stack),
            true => None,
        };
        match fast {
            Some(reply) => {
                self.hits += 1;
                self.data_hits += usize::from(reply.place.is_some());
                let g = general
                    .clone()
                    .expect("the general path failed a fast return");
                let r = g.reply.expect("the general path found no caller");
                assert_eq!(
                    (r.caller, handle_of(r.caller), r.caller_pid),
                    (reply.caller, reply.caller_handle, reply.caller_pid)
                );
                let d = r.result.expect("the general path failed the reply");
                let server_pid = self.general.sys.threads[&tid].pid;
                let to = reply.place.map_or(0, |p| p.rbuf);
                let arg = reply.place.map(|p| (p.params, p.arg(size)));
                assert_eq!(
                    (d.server_pid, d.from, d.len, d.data_addr, d.arg),
                    (server_pid, data, size, to, arg),
                    "the results the kernel copies and the door_arg_t it writes"
                );
                // The model's tokens: of the results (of the top page of
                // the thread's area when they lie there), and of the
                // door_arg_t and rbuf from the call unless something was
                // unmapped since.
                let end = stack.base + stack.size;
                let top = ((end - 1) & !4095).max(stack.base);
                let within = data >= top && data < end && data + size <= end;
                let from = match (data | size, within) {
                    (0, _) => (UNPLACED, 0),
                    (_, true) => (!top, top),
                    (_, false) => (!data, data),
                };
                assert_eq!(reply.from, from);
                if let Some(p) = reply.place {
                    let fresh = (!p.params, !p.rbuf);
                    assert!([fresh, (UNPLACED, UNPLACED)].contains(&(p.params_at, p.rbuf_at)));
                }
                assert!(d.descs.is_empty() && d.desc_addr == 0 && d.mapped.is_none());
                assert_eq!(g.next, Next::Park, "the fast path parks");
            }
            None => assert_eq!(
                self.fast
                    .sys
                    .door_return(&mut self.fast.mem, &mut self.fast.caps, tid, args),
                general
            ),
        }
        (fast, general)
    }

    /// door_return(NULL, 0, NULL, 0) on both, with a bad area if `bad`.
    pub(super) fn null_return(&mut self, tid: Tid, bad: bool) {
        // Both outcomes were compared.
        let _ = self.ret(tid, 0, 0, false, area(tid, bad));
    }

    /// A call of `shape` by thread `tid` on descriptor 0, on both.
    pub(super) fn data_call(&mut self, tid: Tid, shape: &CallShape) -> Option<FastUpcall> {
        let params = call_params(&mut self.general, tid, shape);
        call_params(&mut self.fast, tid, shape);
        self.call(tid, 0, Some(params))
    }

    /// Thread `TIDS[t]`, or for most operations the `t`-th thread that can
    /// make the call usefully, so random runs reach the fast path often:
    /// a running client thread (process 1) to call, a running server
    /// thread (process 2) to return, one serving a call if there is one.
    pub(super) fn pick(&self, t: usize, ret: bool) -> Tid {
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

    pub(super) fn step(&mut self, op: &Op) {
        match *op {
            Op::Create { p, attrs } => {
                self.both(|w| w.door_create(PIDS[p], PC, 7, ATTRS[attrs]));
            }
            Op::NullCall { t, k } => {
                self.call(self.pick(t, false), k as Fd, None);
            }
            Op::DataCall { t, k, shape } => {
                let tid = self.pick(t, false);
                let params = call_params(&mut self.general, tid, &shape);
                call_params(&mut self.fast, tid, &shape);
                self.call(tid, k as Fd, Some(params));
            }
            Op::NullReturn { t, bad } => self.null_return(self.pick(t, true), bad),
            Op::DataReturn { t, shape } => {
                let tid = self.pick(t, true);
                let size = SIZES[shape.size];
                let data = match (shape.echo, shape.data) {
                    (true, Place::Good) => {
                        let area = stack(tid);
                        (area.base + area.size - 48).saturating_sub(size) & !15
                    }
                    _ => placed(tid, Buffer::ReturnData, shape.data),
                };
                let _ = self.ret(tid, data, size, shape.desc, area(tid, shape.bad_area));
            }
            Op::Bind { t, k } => {
                self.both(|w| w.door_bind(TIDS[t], k as Fd));
            }
            Op::Revoke { p, k } => {
                self.both(|w| w.door_revoke(PIDS[p], k as Fd));
            }
            Op::SetParam { p, k, max, value } => {
                let param = if max {
                    DOOR_PARAM_DATA_MAX
                } else {
                    DOOR_PARAM_DATA_MIN
                };
                self.both(|w| w.door_setparam(PIDS[p], k as Fd, param, LIMITS[value]));
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
            Op::Unmap { t, buffer } => {
                let (tid, pid) = (TIDS[t], if t < 2 { 1 } else { 2 });
                let at = buffer_addr(tid, buffer);
                self.both(|w| {
                    w.mem.holes.push((at, at + 16));
                    w.sys.unmapped(pid, at, 16);
                });
            }
            Op::Interrupt { t } => {
                self.both(|w| w.sys.interrupt_idle(TIDS[t]));
            }
        }
        self.both(|w| w.events());
        assert_eq!(fingerprint(&self.fast), fingerprint(&self.general));
    }
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
    let (mut hits, mut data_hits) = (0, 0);
    for _ in 0..64 {
        let ops = proptest::collection::vec(op(), 60)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut pair = Pair::new();
        for op in &ops {
            pair.step(op);
        }
        hits += pair.hits;
        data_hits += pair.data_hits;
    }
    assert!(hits > 200, "the fast path applied only {hits} times");
    assert!(
        data_hits > 100,
        "the fast path applied to calls and returns with data only {data_hits} times"
    );
}
