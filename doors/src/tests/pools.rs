//! Tests of server pools and what happens around calls: private pools and
//! door_bind, depletion, unreferenced notices, cancellation, revocation,
//! thread and process death, idle threads interrupted by signals, the bound
//! on descriptors that waiting calls carry.

use super::*;
use crate::Depleted;
use abi::*;

/// Process 1 (threads 10, 11, 12) serves; process 2 (threads 20, 21, 22)
/// calls. Returns the server's fd for a door with `attrs` and the client's.
fn pair(w: &mut World, attrs: u32) -> (Fd, Fd) {
    if !w.sys.procs.contains_key(&1) {
        w.process(1, &[10, 11, 12]);
        w.process(2, &[20, 21, 22]);
    }
    let d = w.create(1, 0xc0, attrs);
    w.fattach(1, d, b"/tmp").unwrap();
    let c = w.open(2, b"/tmp").unwrap();
    w.fdetach(b"/tmp").unwrap();
    (d, c)
}

fn expect_dispatch(w: &mut World) -> Upcall {
    match w.events().as_slice() {
        [Event::Dispatch(up)] => up.clone(),
        other => panic!("expected one dispatch, got {other:?}"),
    }
}

#[test]
fn a_private_door_is_served_only_by_threads_bound_to_it() {
    let mut w = World::new();
    let (p, pc) = pair(&mut w, DOOR_PRIVATE);
    let (_, sc) = pair(&mut w, 0);
    w.park(10);
    w.call_wait(20, pc);
    w.door_bind(11, p).unwrap();
    let out = w.ret(11, 0, &[]).unwrap();
    let Next::Serve(up) = out.next else {
        panic!("bound thread must take the private call")
    };
    assert_eq!(up.server, 11);
    assert_eq!(
        w.call_handoff(21, sc).server,
        10,
        "shared door uses the shared pool"
    );
}

#[test]
fn a_private_door_whose_threads_never_bind_makes_callers_wait() {
    let mut w = World::new();
    let (_, pc) = pair(&mut w, DOOR_PRIVATE);
    w.park(10);
    w.park(11);
    w.call_wait(20, pc);
    w.call_wait(21, pc);
    assert_eq!(w.sys.stats().waiting, 2);
    assert_eq!(w.sys.stats().invocations, 0);
}

#[test]
fn binding_takes_effect_at_the_next_park_and_rebinding_moves_the_thread() {
    let mut w = World::new();
    let (p1, c1) = pair(&mut w, DOOR_PRIVATE);
    let (p2, c2) = pair(&mut w, DOOR_PRIVATE);
    w.door_bind(10, p1).unwrap();
    w.door_bind(10, p2).unwrap();
    w.park(10);
    w.call_wait(20, c1);
    let up = w.call_handoff(21, c2);
    assert_eq!(up.server, 10);
    match up.depleted {
        Some(Depleted::Private(info)) => assert_eq!({ info.di_uniquifier }, w.door_of(1, p2)),
        other => panic!("expected private depletion, got {other:?}"),
    }
    assert_eq!(up.entry_status(), up.layout.info_addr);
    w.sys.door_unbind(10).unwrap();
    let out = w.ret(10, 0, &[]).unwrap();
    assert_eq!(
        out.next,
        Next::Park,
        "unbound: parks in the shared pool, not p1's"
    );
    assert_eq!(w.sys.stats().waiting, 1);
}

#[test]
fn revoking_a_private_door_releases_its_idle_threads() {
    let mut w = World::new();
    let (p, _) = pair(&mut w, DOOR_PRIVATE);
    w.door_bind(10, p).unwrap();
    w.park(10);
    w.door_revoke(1, p).unwrap();
    assert_eq!(
        w.events(),
        [Event::ParkFailed {
            tid: 10,
            errno: Errno::EBADF
        }]
    );
    assert_eq!(w.sys.threads[&10].bind, None);
    w.park(10);
}

#[test]
fn parking_while_bound_to_a_gone_door_fails_with_ebadf_after_delivering_results() {
    let mut w = World::new();
    let (p, pc) = pair(&mut w, DOOR_PRIVATE);
    let (_, sc) = pair(&mut w, 0);
    w.park(11);
    w.call_handoff(20, sc);
    w.door_bind(11, p).unwrap();
    w.close(2, pc).unwrap();
    w.close(1, p).unwrap();
    assert_eq!(w.sys.stats().doors, 1, "the private door is freed");
    let out = w.ret(11, 0, &[]).unwrap();
    assert_eq!(out.reply.unwrap().caller, 20);
    assert_eq!(out.next, Next::Fail(Errno::EBADF));
    assert_eq!(w.sys.threads[&11].bind, None);
}

#[test]
fn a_waiting_call_that_fails_with_the_bound_doors_last_reference_fails_the_parking_thread() {
    let mut w = World::new();
    let (p, pc) = pair(&mut w, DOOR_PRIVATE);
    w.door_bind(10, p).unwrap();
    w.park(10);
    w.call_handoff(20, pc);
    // Thread 21's call waits, passing the door: its message holds the
    // reference that outlives both descriptors; its arguments do not fit
    // thread 10's area.
    let big = w.arg(21, 1 << 20, &[pass(pc)], 0);
    assert_eq!(w.call(21, pc, Some(big)), Ok(CallOutcome::Wait));
    w.close(2, pc).unwrap();
    w.close(1, p).unwrap();
    // Parking, thread 10 fails that call, which frees the door with its
    // private pool: the thread is unbound and its door_return fails.
    let out = w.ret(10, 0, &[]).unwrap();
    assert_eq!(out.reply.unwrap().caller, 20);
    assert_eq!(out.next, Next::Fail(Errno::EBADF));
    assert_eq!(w.sys.threads[&10].bind, None);
    assert_eq!(w.sys.stats().doors, 0, "the private door is freed");
    assert!(w.events().contains(&Event::CallFailed {
        caller: 21,
        errno: Errno::E2BIG
    }));
}

#[test]
fn unref_fires_once_when_the_count_drops_to_one() {
    let mut w = World::new();
    let (d, c) = pair(&mut w, DOOR_UNREF);
    w.park(10);
    w.close(2, c).unwrap();
    let up = expect_dispatch(&mut w);
    assert_eq!(up.server, 10);
    assert_eq!(
        (up.entry_regs()[1], up.entry_regs()[2], up.entry_regs()[4]),
        (DOOR_UNREF_DATA, 0, 0)
    );
    assert_eq!((up.cookie, up.copy), (0xc0, None));
    assert_eq!(
        w.door_ucred(10).unwrap().uc_pid,
        0,
        "unref invocations come from the kernel"
    );
    assert_eq!(
        { w.door_info(10, d).unwrap().di_attributes } & DOOR_IS_UNREF,
        DOOR_IS_UNREF
    );
    let out = w.ret(10, 0, &[]).unwrap();
    assert_eq!((out.reply, out.next), (None, Next::Park));
    let again = w.dup(1, d).unwrap();
    w.close(1, again).unwrap();
    assert!(w.events().is_empty(), "DOOR_UNREF fires only once");
}

#[test]
fn unref_multi_fires_every_time() {
    let mut w = World::new();
    let (d, c) = pair(&mut w, DOOR_UNREF_MULTI);
    w.park(10);
    w.close(2, c).unwrap();
    for _ in 0..4 {
        expect_dispatch(&mut w);
        w.park(10);
        let x = w.dup(1, d).unwrap();
        w.close(1, x).unwrap();
    }
    expect_dispatch(&mut w);
}

#[test]
fn unref_needs_more_than_one_reference_first() {
    let mut w = World::new();
    w.process(1, &[10]);
    let d = w.create(1, 0, DOOR_UNREF);
    w.park(10);
    w.close(1, d).unwrap();
    assert!(w.events().is_empty());
    assert_eq!(w.sys.stats().doors, 0);
}

#[test]
fn unref_waits_in_the_pool_until_a_thread_parks() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, DOOR_UNREF);
    w.close(2, c).unwrap();
    assert!(w.events().is_empty());
    let out = w.ret(10, 0, &[]).unwrap();
    let Next::Serve(up) = out.next else {
        panic!("parking thread must take the notice")
    };
    assert_eq!(up.entry_regs()[1], DOOR_UNREF_DATA);
    assert_eq!(up.depleted, Some(Depleted::Shared));
}

#[test]
fn unref_is_deferred_while_a_call_is_active() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, DOOR_UNREF);
    w.park(10);
    w.park(11);
    let up = w.call_handoff(20, c);
    w.close(2, c).unwrap();
    assert!(w.events().is_empty(), "deferred while the call runs");
    let out = w.ret(up.server, 0, &[]).unwrap();
    assert!(out.reply.is_some());
    let up2 = expect_dispatch(&mut w);
    assert_eq!(up2.entry_regs()[1], DOOR_UNREF_DATA);
}

#[test]
fn unref_of_a_private_door_runs_on_its_private_pool() {
    let mut w = World::new();
    let (p, c) = pair(&mut w, DOOR_PRIVATE | DOOR_UNREF);
    w.park(10);
    w.door_bind(11, p).unwrap();
    w.park(11);
    w.close(2, c).unwrap();
    assert_eq!(expect_dispatch(&mut w).server, 11);
}

#[test]
fn a_dying_client_process_counts_as_closing_its_descriptors() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, DOOR_UNREF);
    w.dup(2, c).unwrap();
    w.park(10);
    w.exit_process(2);
    expect_dispatch(&mut w);
    assert!(!w.sys.procs.contains_key(&2));
}

#[test]
fn a_pending_notice_keeps_the_door_alive_until_it_is_served() {
    let mut w = World::new();
    let (d, c) = pair(&mut w, DOOR_UNREF);
    w.close(2, c).unwrap();
    w.close(1, d).unwrap();
    assert_eq!(w.sys.stats().doors, 1);
    let Next::Serve(_) = w.ret(10, 0, &[]).unwrap().next else {
        panic!()
    };
    w.park(10);
    assert_eq!(w.sys.stats().doors, 0);
}

#[test]
fn revoke_wakes_waiting_callers_with_ebadf_and_lets_running_calls_complete() {
    let mut w = World::new();
    let (d, c) = pair(&mut w, 0);
    w.park(10);
    w.call_handoff(20, c);
    w.call_wait(21, c);
    w.call_wait(22, c);
    w.door_revoke(1, d).unwrap();
    assert_eq!(
        w.events(),
        [
            Event::CallFailed {
                caller: 21,
                errno: Errno::EBADF
            },
            Event::CallFailed {
                caller: 22,
                errno: Errno::EBADF
            }
        ]
    );
    let out = w.ret(10, 0, &[]).unwrap();
    assert!(out.reply.unwrap().result.is_ok());
    assert_eq!(w.call(21, c, None), Err(Errno::EBADF));
}

#[test]
fn revoke_drops_a_pending_unref_notice() {
    let mut w = World::new();
    let (d, c) = pair(&mut w, DOOR_UNREF);
    w.close(2, c).unwrap();
    assert_eq!(w.sys.stats().doors, 1, "held by its queued notice");
    w.door_revoke(1, d).unwrap();
    assert_eq!(
        w.sys.stats().doors,
        0,
        "the notice was dropped, freeing the door"
    );
    w.park(10);
    assert!(w.events().is_empty());
}

#[test]
fn client_thread_death_cancels_the_server_and_its_return_is_discarded() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, 0);
    w.park(10);
    let mine = w.create(1, 0, 0);
    w.call_handoff(20, c);
    assert!(!w.sys.is_cancelled(10));
    w.exit_thread(20);
    assert_eq!(w.events(), [Event::Cancel { server: 10 }]);
    assert!(w.sys.is_cancelled(10));
    let out = w.ret(10, 64, &[pass_release(mine)]).unwrap();
    assert_eq!((out.reply, out.next), (None, Next::Park));
    assert_eq!(
        w.sys.lookup(&w.caps, 1, mine),
        Err(Errno::EBADF),
        "released descriptors are closed"
    );
    assert!(!w.sys.is_cancelled(10));
}

#[test]
fn no_cancel_doors_get_no_notice_but_still_discard_results() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, DOOR_NO_CANCEL);
    w.park(10);
    w.call_handoff(20, c);
    w.exit_process(2);
    assert!(w.events().is_empty());
    assert!(!w.sys.is_cancelled(10));
    assert_eq!(w.ret(10, 8, &[]).unwrap().reply, None);
}

#[test]
fn abort_of_a_served_call_is_eintr_and_of_a_waiting_one_eagain() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, 0);
    w.park(10);
    w.call_handoff(20, c);
    w.call_wait(21, c);
    w.abort_call(2, 21).unwrap();
    w.abort_call(2, 20).unwrap();
    assert_eq!(
        w.events(),
        [
            Event::CallFailed {
                caller: 21,
                errno: Errno::EAGAIN
            },
            Event::Cancel { server: 10 },
            Event::CallFailed {
                caller: 20,
                errno: Errno::EINTR
            },
        ]
    );
    assert_eq!(
        w.abort_call(2, 20),
        Err(Errno::EINVAL),
        "no longer in a call"
    );
    assert_eq!(
        w.abort_call(1, 20),
        Err(Errno::ESRCH),
        "not a thread of process 1"
    );
    assert_eq!(w.sys.stats().waiting, 0);
    assert!(w.call(20, c, None).is_ok(), "the aborted thread runs again");
}

#[test]
fn a_server_thread_that_exits_mid_call_fails_its_caller_with_eintr() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, 0);
    w.park(10);
    w.call_handoff(20, c);
    w.exit_thread(10);
    assert_eq!(
        w.events(),
        [Event::CallFailed {
            caller: 20,
            errno: Errno::EINTR
        }]
    );
    assert_eq!(w.sys.stats().invocations, 0);
    w.call_wait(20, c);
}

#[test]
fn server_process_death_revokes_its_doors() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, 0);
    w.park(10);
    w.call_handoff(20, c);
    w.call_wait(21, c);
    w.exit_process(1);
    let ev = w.events();
    assert!(
        ev.contains(&Event::CallFailed {
            caller: 21,
            errno: Errno::EBADF
        }),
        "{ev:?}"
    );
    assert!(
        ev.contains(&Event::CallFailed {
            caller: 20,
            errno: Errno::EINTR
        }),
        "{ev:?}"
    );
    assert_eq!(ev.len(), 2);
    assert_eq!(w.call(22, c, None), Err(Errno::EBADF));
    let info = w.door_info(22, c).unwrap();
    assert_eq!({ info.di_target }, -1);
    assert_eq!({ info.di_attributes } & DOOR_REVOKED, DOOR_REVOKED);
    w.close(2, c).unwrap();
    assert_eq!(w.sys.stats(), crate::Stats::default());
}

#[test]
fn process_exit_frees_everything_it_held() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, DOOR_PRIVATE | DOOR_UNREF);
    w.park(10);
    w.call_wait(20, c);
    w.exit_process(2);
    w.exit_process(1);
    assert!(
        w.events().is_empty(),
        "no notices for dying doors, no events for dead threads"
    );
    assert_eq!(w.sys.stats(), crate::Stats::default());
    assert!(w.sys.threads.values().next().is_none());
}

#[test]
fn waiting_calls_carry_at_most_max_queued_descs_descriptors_then_eagain() {
    let cfg = Config {
        max_queued_descs: 3,
        ..Config::default()
    };
    let mut w = World::with(cfg, 16);
    w.process(1, &[10, 11]);
    w.process(2, &[20, 21, 22, 23]);
    let d = w.create(1, 0, 0);
    w.fattach(1, d, b"/d").unwrap();
    let c = w.open(2, b"/d").unwrap();
    let two = w.arg(20, 0, &[pass(c), pass(c)], 0);
    assert_eq!(w.call(20, c, Some(two)), Ok(CallOutcome::Wait));
    let extra = w.dup(2, c).unwrap();
    let over = w.arg(21, 0, &[pass(c), pass_release(extra)], 0);
    assert_eq!(w.call(21, c, Some(over)), Err(Errno::EAGAIN));
    assert_eq!(
        w.sys.lookup(&w.caps, 2, extra),
        Err(Errno::EBADF),
        "released even though the call failed"
    );
    assert_eq!(w.sys.threads[&21].call, None);
    let one = w.arg(22, 0, &[pass(c)], 0);
    assert_eq!(w.call(22, c, Some(one)), Ok(CallOutcome::Wait));
    assert_eq!(w.sys.stats().queued_descs, 3);
    let bare = w.arg(23, 0, &[], 0);
    assert_eq!(
        w.call(23, c, Some(bare)),
        Ok(CallOutcome::Wait),
        "a call without descriptors still waits"
    );
    assert_eq!(w.sys.stats().queued_descs, 3);
    let taken = w.ret(10, 0, &[]).unwrap();
    assert!(matches!(taken.next, Next::Serve(_)), "{:?}", taken.next);
    assert_eq!(
        w.sys.stats().queued_descs,
        1,
        "a server took the first call"
    );
    let again = w.arg(21, 0, &[pass(c), pass(c)], 0);
    assert_eq!(w.call(21, c, Some(again)), Ok(CallOutcome::Wait));
    assert_eq!(w.sys.stats().queued_descs, 3);
    w.sys.exit_thread(&mut w.caps, 22);
    assert_eq!(
        w.sys.stats().queued_descs,
        2,
        "an abandoned call's are gone"
    );
    w.door_revoke(1, d).unwrap();
    assert_eq!(w.sys.stats().queued_descs, 0, "revocation failed them");
    assert_eq!(w.sys.stats().waiting, 0);
}

#[test]
fn an_interrupted_idle_thread_leaves_its_pool_until_it_parks_again() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, 0);
    w.park(10);
    w.park(11);
    assert!(w.sys.interrupt_idle(10));
    assert_eq!(
        w.events(),
        [Event::ParkFailed {
            tid: 10,
            errno: Errno::EINTR
        }]
    );
    assert!(w.sys.running_thread(10).is_ok(), "its door_return fails");
    assert_eq!(w.call_handoff(20, c).server, 11, "the pool's other thread");
    w.call_wait(21, c);
    assert_eq!(w.sys.stats().waiting, 1, "no idle thread left: it waits");
    let out = w.ret(10, 0, &[]).unwrap();
    let Next::Serve(up) = out.next else {
        panic!("parking again, it takes the waiting call: {:?}", out.next)
    };
    assert_eq!((up.server, up.caller), (10, Some(21)));
    assert!(w.events().is_empty());
}

#[test]
fn an_interrupted_bound_thread_stays_bound() {
    let mut w = World::new();
    let (p, pc) = pair(&mut w, DOOR_PRIVATE);
    w.door_bind(10, p).unwrap();
    w.park(10);
    assert!(w.sys.interrupt_idle(10));
    assert_eq!(
        w.events(),
        [Event::ParkFailed {
            tid: 10,
            errno: Errno::EINTR
        }]
    );
    assert_eq!(w.sys.threads[&10].bind, Some(w.door_id(1, p)));
    w.park(10);
    assert_eq!(
        w.call_handoff(20, pc).server,
        10,
        "back in the private pool"
    );
}

#[test]
fn only_idle_threads_are_interrupted() {
    let mut w = World::new();
    let (_, c) = pair(&mut w, 0);
    w.park(10);
    assert!(!w.sys.interrupt_idle(11), "running, not parked");
    assert!(!w.sys.interrupt_idle(99), "no such thread");
    assert_eq!(w.call_handoff(20, c).server, 10);
    assert!(!w.sys.interrupt_idle(10), "serving an invocation");
    assert!(!w.sys.interrupt_idle(20), "calling");
    w.park(11);
    assert!(w.sys.interrupt_idle(11));
    assert!(!w.sys.interrupt_idle(11), "out of its pool already");
    assert_eq!(
        w.events(),
        [Event::ParkFailed {
            tid: 11,
            errno: Errno::EINTR
        }]
    );
    assert!(w.sys.threads[&10].serving.is_some(), "10 still serves");
}
