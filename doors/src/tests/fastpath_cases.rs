//! Cases of the fast path against the general path, one shape at a time
//! (the random sequences are in `fastpath.rs`, with the two systems they
//! run and the shapes of calls and returns): the null round trip, a round
//! trip with data, areas registered anew, what the fast path declines,
//! and the tokens by which the kernel reaches user memory.

use super::fastpath::{Buffer, CallShape, Op, Pair, Place, buffer_addr, call_params};
use super::*;
use crate::{Located, UNPLACED};
use abi::*;

#[test]
fn fast_path_takes_the_null_round_trip_and_agrees() {
    let mut pair = Pair::new();
    // Threads 20 and 21 parked in process 2's shared pool.
    pair.null_return(20, false);
    pair.null_return(21, false);
    assert_eq!(pair.hits, 0);
    let up = pair.call(22, 0, None).expect("a fast call");
    assert_eq!(
        (up.server, up.server_pid, up.status),
        (21, 2, invocation::RUN)
    );
    assert_eq!((up.regs[0], up.regs[2], up.regs[5]), (7, 0, PC));
    assert_eq!(up.sp, up.regs[1]);
    pair.null_return(21, false);
    assert_eq!(pair.hits, 2);
    // With thread 20 gone, the call takes the last idle thread.
    pair.both(|w| w.exit_thread(20));
    let up = pair.call(22, 0, None).expect("a fast call");
    assert_eq!((up.server, up.status), (21, invocation::DEPLETED_SHARED));
    pair.null_return(21, false);
    assert_eq!((pair.hits, pair.data_hits), (4, 0));
    assert_eq!(fingerprint(&pair.fast), fingerprint(&pair.general));
    assert_eq!(pair.fast.sys.stats().invocations, 0);
}

/// A call of `size` bytes by thread 10 with an rbuf of `rsize`.
fn data_call(size: usize, rsize: usize) -> CallShape {
    CallShape {
        size,
        rsize,
        params: Place::Good,
        data: Place::Good,
        rbuf: Place::Good,
        desc: false,
    }
}

#[test]
fn fast_path_takes_a_round_trip_with_data_and_agrees() {
    let mut pair = Pair::new();
    pair.null_return(20, false);
    // 16 bytes of arguments: laid out below the door_info slot at the top
    // of thread 20's area, 16-byte aligned.
    let shape = data_call(2, 2);
    let up = pair.data_call(10, &shape).expect("a fast call");
    let top = stack(20).base + stack(20).size;
    let data_addr = (top - 48 - 16) & !15;
    assert_eq!(
        (up.server, up.sp, up.regs[1], up.regs[2]),
        (20, data_addr, data_addr, 16)
    );
    assert_eq!(up.status, invocation::DEPLETED_SHARED);
    // 16 bytes of results land in the 256-byte rbuf, and the door_arg_t
    // written back says so; then as many as rbuf holds, and none.
    let data = buffer_addr(20, Buffer::ReturnData);
    let rbuf = buffer_addr(10, Buffer::Rbuf);
    let params = buffer_addr(10, Buffer::Params);
    for results in [16, 256, 0] {
        if results != 16 {
            pair.data_call(10, &shape).expect("a fast call");
        }
        let (fast, _) = pair.ret(20, data, results, false, stack(20));
        let want = DoorArg {
            data_ptr: rbuf,
            data_size: results,
            desc_ptr: 0,
            desc_num: 0,
            rbuf,
            rsize: 256,
        };
        let reply = fast.expect("a fast return");
        let place = reply.place.expect("a place for the results");
        assert_eq!((reply.caller, place.params), (10, params));
        assert_eq!(place.arg(results), want);
        // The kernel reaches the results, the door_arg_t and rbuf by the
        // tokens found for them (the model's: their addresses inverted).
        assert_eq!(
            (reply.from, place.params_at, place.rbuf_at),
            ((!data, data), !params, !rbuf)
        );
    }
    assert_eq!((pair.hits, pair.data_hits), (6, 6));
    // After an unmap elsewhere, the tokens from the call are stale: the
    // kernel gets none and looks the door_arg_t and rbuf up again.
    pair.data_call(10, &shape).expect("a fast call");
    pair.step(&Op::Unmap {
        t: 1,
        buffer: Buffer::Params,
    });
    let (fast, _) = pair.ret(20, data, 16, false, stack(20));
    let place = fast.expect("a fast return").place.expect("a place");
    assert_eq!((place.params_at, place.rbuf_at), (UNPLACED, UNPLACED));
    assert_eq!(pair.fast.sys.threads[&10].call, None, "the caller is done");
    assert_eq!((pair.hits, pair.data_hits), (8, 8));
}

#[test]
fn null_calls_start_in_the_area_registered_last() {
    let mut pair = Pair::new();
    let own = stack(20);
    let lower = StackArea {
        size: own.size / 2,
        ..own
    };
    pair.null_return(20, false);
    // The server thread moves between two areas; each null call starts
    // below the door_info slot at the top of the one it registered last.
    for next in [lower, lower, own, lower] {
        let up = pair.call(10, 0, None).expect("a fast call");
        let top = pair.fast.sys.threads[&20].stack;
        let sp = (top.base + top.size - 48) & !15;
        assert_eq!((up.sp, up.regs[1]), (sp, sp));
        assert!(pair.ret(20, 0, 0, false, next).0.is_some(), "a fast return");
        assert_eq!(fingerprint(&pair.fast), fingerprint(&pair.general));
    }
    assert_eq!(pair.hits, 8);
}

#[test]
fn fast_path_declines_what_it_does_not_cover() {
    let mut pair = Pair::new();
    pair.null_return(20, false);
    let good = data_call(2, 2);
    // Each fails in both paths with the same error, before anything changes.
    let failing = [
        (
            CallShape {
                data: Place::Bad,
                ..good
            },
            Errno::EFAULT,
        ),
        (
            CallShape {
                rbuf: Place::ReadOnly,
                ..good
            },
            Errno::EFAULT,
        ),
        (
            CallShape {
                params: Place::ReadOnly,
                ..good
            },
            Errno::EFAULT,
        ),
        (CallShape { size: 6, ..good }, Errno::E2BIG),
    ];
    for (shape, errno) in failing {
        assert_eq!(pair.data_call(10, &shape), None, "{shape:?}");
        let params = call_params(&mut pair.general, 10, &shape);
        assert_eq!(
            pair.general.call(10, 0, Some(params)),
            Err(errno),
            "{shape:?}"
        );
    }
    pair.both(|w| w.door_setparam(2, 0, DOOR_PARAM_DATA_MAX, 8));
    assert_eq!(pair.data_call(10, &good), None);
    let params = call_params(&mut pair.general, 10, &good);
    assert_eq!(pair.general.call(10, 0, Some(params)), Err(Errno::ENOBUFS));
    pair.both(|w| w.door_setparam(2, 0, DOOR_PARAM_DATA_MAX, u64::MAX));
    assert_eq!(pair.hits, 0);
    // Passing a descriptor: the general path serves it.
    assert_eq!(pair.data_call(10, &CallShape { desc: true, ..good }), None);
    assert!(pair.general.sys.threads[&20].serving.is_some());
    // Results larger than rbuf go in a new mapping: the general path.
    let data = buffer_addr(20, Buffer::ReturnData);
    let (fast, general) = pair.ret(20, data, 257, false, stack(20));
    assert_eq!((fast, pair.general.mem.maps.len()), (None, 1));
    assert!(
        general
            .unwrap()
            .reply
            .unwrap()
            .result
            .unwrap()
            .mapped
            .is_some()
    );
    // Results to a call without door_arg_t: E2BIG, the thread serves on.
    pair.call(10, 0, None).expect("a fast call");
    let (_, general) = pair.ret(20, data, 1, false, stack(20));
    assert_eq!(general, Err(Errno::E2BIG));
    pair.null_return(20, false);
    // The caller's rbuf unmapped while its call is served: the results
    // cannot be delivered, and the caller gets EFAULT.
    pair.data_call(10, &good).expect("a fast call");
    pair.step(&Op::Unmap {
        t: 0,
        buffer: Buffer::Rbuf,
    });
    let (fast, general) = pair.ret(20, data, 16, false, stack(20));
    let reply = general.unwrap().reply.expect("a caller");
    assert_eq!((fast, reply.result), (None, Err(Errno::EFAULT)));
    assert_eq!((pair.hits, pair.data_hits), (3, 1));
    assert_eq!(fingerprint(&pair.fast), fingerprint(&pair.general));
}

#[test]
fn return_rechecks_its_area_after_an_unmap() {
    let mut pair = Pair::new();
    pair.null_return(20, false);
    pair.call(10, 0, None).expect("a fast call");
    pair.null_return(20, false);
    pair.call(10, 0, None).expect("a fast call");
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
fn fast_path_declines_without_an_idle_thread_or_a_door() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20, 21, 22]);
    let shared = w.create(2, 1, 0);
    let private = w.create(2, 2, DOOR_PRIVATE);
    // No idle thread: the call must wait.
    assert_eq!(w.try_fast_call(21, shared, None), None);
    w.door_bind(20, private).unwrap();
    w.park(20);
    // Taking the only thread of a private pool depletes it.
    assert_eq!(w.try_fast_call(21, private, None), None);
    // A descriptor that names nothing.
    assert_eq!(w.try_fast_call(21, 9, None), None);
    // A caller the kernel places in another process than its record does.
    w.park(22);
    let me = FastCaller {
        key: w.sys.threads.find(21).unwrap(),
        pid: 1,
        cred: Cred::default(),
    };
    let id = Caps::door(w.caps.get(2, shared).unwrap()).unwrap();
    assert_eq!(w.sys.try_fast_call(&w.mem, me, id, None), None);
    assert!(w.try_fast_call(21, shared, None).is_some());
    w.park(22);
    // A call that passed a descriptor is served, and its return can be
    // a fast one.
    let p = w.arg(21, 0, &[pass(0)], 64);
    w.call(21, shared, Some(p)).unwrap();
    let reply = w
        .try_fast_return(22, 0, 0, stack(22))
        .expect("a fast return");
    assert_eq!((reply.caller, reply.caller_pid), (21, 2));
    assert_eq!(w.sys.stats().invocations, 0);
}

#[test]
fn tokens_reach_the_kernel_as_they_were_found() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(2, 1, 0);
    let fd = w.give(2, 1, d);
    w.park(20);
    // The kernel found where the door_arg_t's ranges are as it read it:
    // their tokens are taken as they are.
    let p = CallParams {
        located: Some(Located {
            params: 0x1234,
            data: 0x5678,
            rbuf: 0x9abc,
        }),
        ..w.arg(10, 16, &[], 64)
    };
    let up = w.try_fast_call(10, fd, Some(p)).expect("a fast call");
    assert_eq!(up.from, 0x5678);
    // They go to the top page of thread 20's area, whose token was found
    // when the area was registered.
    let top = stack(20).base + stack(20).size - 4096;
    assert_eq!(up.to, (!top, top));
    assert!(up.regs[1] >= top);
    // Results echoed from there are found by the same token; others by
    // their own.
    let reply = w
        .try_fast_return(20, up.regs[1], 16, stack(20))
        .expect("a fast return");
    let place = reply.place.expect("a place for the results");
    assert_eq!(
        (reply.from, place.params_at, place.rbuf_at),
        ((!top, top), 0x1234, 0x9abc)
    );
    w.try_fast_call(10, fd, Some(p)).expect("a fast call");
    let data = buffer_addr(20, Buffer::ReturnData);
    let reply = w
        .try_fast_return(20, data, 16, stack(20))
        .expect("a fast return");
    assert_eq!(reply.from, (!data, data));
    // The ranges of a door_arg_t the kernel did not look at are looked
    // for (thread 20 parked again at its return).
    let p = w.arg(10, 0, &[], 64);
    w.try_fast_call(10, fd, Some(p)).expect("a fast call");
    let reply = w
        .try_fast_return(20, 0, 0, stack(20))
        .expect("a fast return");
    let place = reply.place.expect("a place");
    assert_eq!((reply.from, place.params_at), ((UNPLACED, 0), !p.addr));
}

#[test]
fn fast_paths_hand_back_the_kernels_handles_across_fork_and_exec() {
    let mut pair = Pair::new();
    pair.null_return(20, false);
    // A fork child's thread has the handle the kernel gave it, and an
    // exec keeps the thread's (`Pair` compares every handle the fast
    // paths hand back with the one the thread was given).
    pair.both(|w| w.fork(1, 10, 3, 30));
    pair.both(|w| w.exec(1, 10));
    for caller in [30, 10] {
        let up = pair.call(caller, 0, None).expect("a fast call");
        assert_eq!((up.server, up.server_handle), (20, handle_of(20)));
        pair.null_return(20, false);
    }
    assert_eq!(pair.hits, 4);
}
