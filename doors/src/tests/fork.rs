//! Tests of doors across fork and exec: inherited descriptors name the
//! parent's doors, the child has no server threads and owns only the doors
//! it creates, its descriptors count for unreferenced notices, the
//! door_bind(3C) fork rule, and exec revoking the process's doors.

use super::*;
use crate::Depleted;
use abi::*;

/// Process 1 (threads 10, 11; 11 parked as a server) with a shared door and
/// a private one; thread 10 forks child 2 (thread 20). Returns the two
/// descriptors, the same numbers in both processes.
fn forked(w: &mut World, attrs: u32) -> (Fd, Fd) {
    w.process(1, &[10, 11]);
    let d = w.create(1, 0xc0, attrs);
    let p = w.create(1, 0xc1, DOOR_PRIVATE);
    w.park(11);
    w.fork(1, 10, 2, 20).unwrap();
    (d, p)
}

#[test]
fn inherited_descriptors_name_the_parents_doors_and_reach_its_threads() {
    let mut w = World::new();
    let (d, p) = forked(&mut w, 0);
    assert_eq!(
        (w.door_id(2, d), w.door_id(2, p)),
        (w.door_id(1, d), w.door_id(1, p))
    );
    assert_eq!(w.refs(1, d), 2, "the child's descriptor is a reference");
    let child = w.door_info(20, d).unwrap();
    assert_eq!({ child.di_target }, 1, "the door stays the parent's");
    assert_eq!({ child.di_attributes } & (DOOR_LOCAL | DOOR_IS_UNREF), 0);
    let parent = w.door_info(10, d).unwrap();
    assert_eq!({ parent.di_attributes } & DOOR_LOCAL, DOOR_LOCAL);
    assert_eq!({ parent.di_uniquifier }, { child.di_uniquifier });
    let up = w.call_handoff(20, d);
    assert_eq!((up.server, up.server_pid, up.cookie), (11, 1, 0xc0));
    assert_eq!({ w.door_ucred(11).unwrap().uc_pid }, 2);
    let out = w.ret(11, 0, &[]).unwrap();
    assert_eq!(out.reply.map(|r| (r.caller, r.caller_pid)), Some((20, 2)));
}

#[test]
fn the_child_cannot_revoke_set_parameters_of_or_bind_to_the_parents_doors() {
    let mut w = World::new();
    let (d, p) = forked(&mut w, 0);
    assert_eq!(w.door_revoke(2, d), Err(Errno::EPERM));
    assert_eq!(
        w.door_setparam(2, d, DOOR_PARAM_DATA_MAX, 8),
        Err(Errno::EPERM)
    );
    assert_eq!(w.door_bind(20, p), Err(Errno::EINVAL));
    assert_eq!(w.door_getparam(2, d, DOOR_PARAM_DATA_MAX), Ok(u64::MAX));
    assert_eq!(w.refs(1, d), 2, "the failed revoke closed nothing");
    w.door_setparam(1, d, DOOR_PARAM_DATA_MAX, 8).unwrap();
    assert_eq!(w.door_getparam(2, d, DOOR_PARAM_DATA_MAX), Ok(8));
    w.door_revoke(1, d).unwrap();
    assert_eq!(
        w.call(20, d, None),
        Err(Errno::EBADF),
        "revoked for the child too"
    );
}

#[test]
fn the_child_has_no_server_threads_and_owns_the_doors_it_creates() {
    let mut w = World::new();
    forked(&mut w, 0);
    w.sys.create_thread(2, 21, handle_of(21)).unwrap();
    let created = w.door_create(2, PC, 0xd0, 0).unwrap();
    assert_eq!(
        created.create_server,
        Some(Depleted::Shared),
        "the child's first door asks for its first server thread"
    );
    let e = created.fd;
    assert_eq!(w.door_create(2, PC, 0, 0).unwrap().create_server, None);
    let info = w.door_info(20, e).unwrap();
    assert_eq!({ info.di_target }, 2);
    assert_eq!({ info.di_attributes } & DOOR_LOCAL, DOOR_LOCAL);
    assert_eq!(w.caps.tables[&1].len(), 2, "the parent got nothing");
    w.call_wait(21, e);
    let out = w.ret(20, 0, &[]).unwrap();
    let Next::Serve(up) = out.next else {
        panic!("the child's own thread serves its door: {out:?}");
    };
    assert_eq!((up.server, up.caller, up.cookie), (20, Some(21), 0xd0));
    assert_eq!(w.door_revoke(2, e), Ok(()));
}

#[test]
fn the_childs_descriptors_count_for_unreferenced_notices_until_it_exits() {
    let mut w = World::new();
    let (d, _) = forked(&mut w, DOOR_UNREF_MULTI);
    assert!(w.events().is_empty(), "fork only adds references");
    w.exit_process(2);
    match w.events().as_slice() {
        [Event::Dispatch(up)] => assert_eq!((up.server, up.caller), (11, None)),
        other => panic!("the child's exit must notify: {other:?}"),
    }
    w.ret(11, 0, &[]).unwrap();
    // A second child closes its copy: the same notice again.
    w.fork(1, 10, 3, 30).unwrap();
    assert_eq!(w.refs(1, d), 2);
    w.close(3, d).unwrap();
    assert!(matches!(w.events().as_slice(), [Event::Dispatch(up)] if up.server == 11));
}

#[test]
fn the_parents_unref_door_fires_once_its_last_other_reference_is_the_childs() {
    let mut w = World::new();
    let (d, _) = forked(&mut w, DOOR_UNREF);
    w.close(1, d).unwrap();
    assert!(
        matches!(w.events().as_slice(), [Event::Dispatch(up)] if up.server == 11),
        "the child's descriptor is the one left"
    );
    w.ret(11, 0, &[]).unwrap();
    let info = w.door_info(20, d).unwrap();
    assert_eq!({ info.di_attributes } & DOOR_IS_UNREF, DOOR_IS_UNREF);
    w.exit_process(2);
    assert!(w.events().is_empty(), "DOOR_UNREF fires once");
    assert_eq!(w.sys.stats().doors, 1, "only the private door is left");
}

#[test]
fn a_bound_thread_forks_a_thread_bound_to_an_invalid_door() {
    let mut w = World::new();
    w.process(1, &[10]);
    let p = w.create(1, 0, DOOR_PRIVATE);
    w.door_bind(10, p).unwrap();
    w.fork(1, 10, 2, 20).unwrap();
    assert_eq!(w.ret(20, 0, &[]), Err(Errno::EINVAL));
    assert_eq!(
        w.door_info(20, DOOR_QUERY),
        Err(Errno::EBADF),
        "bound to no door"
    );
    // A grandchild of an invalidly bound thread is invalidly bound too.
    w.fork(2, 20, 3, 30).unwrap();
    assert_eq!(w.ret(30, 0, &[]), Err(Errno::EINVAL));
    assert_eq!(w.sys.door_unbind(20), Ok(()), "unbinding clears the mark");
    assert_eq!(w.sys.door_unbind(20), Err(Errno::EBADF), "once");
    w.park(20);
    assert!(
        w.sys.procs[&2].pool.idle.len() == 1,
        "in the child's shared pool"
    );
    // door_bind replaces the mark.
    let own = w.create(3, 0, DOOR_PRIVATE);
    w.door_bind(30, own).unwrap();
    w.park(30);
    let own_id = w.door_id(3, own);
    assert_eq!(w.sys.door(own_id).pool.idle.len(), 1);
    // The parent's thread is still bound to its door.
    w.park(10);
    assert_eq!(w.sys.door(w.door_id(1, p)).pool.idle.len(), 1);
}

#[test]
fn an_unbound_thread_forks_an_unbound_thread() {
    let mut w = World::new();
    w.process(1, &[10]);
    let p = w.create(1, 0, DOOR_PRIVATE);
    w.door_bind(10, p).unwrap();
    w.sys.door_unbind(10).unwrap();
    w.fork(1, 10, 2, 20).unwrap();
    assert_eq!(w.sys.door_unbind(20), Err(Errno::EBADF));
    w.park(20);
}

#[test]
fn fork_copies_no_invocation_and_leaves_other_threads_calls_alone() {
    let mut w = World::new();
    w.process(1, &[10, 11]);
    w.process(3, &[30, 31]);
    let d = w.create(1, 0, 0);
    let elsewhere = w.create(3, 0, 0);
    let to_3 = w.give(3, 1, elsewhere);
    let from_3 = w.give(1, 3, d);
    w.park(10);
    w.park(30);
    assert_eq!(w.call_handoff(11, to_3).server, 30);
    assert_eq!(w.call_handoff(31, from_3).server, 10);
    // Thread 10 serves 31's call and forks; 11 waits in a call to 3.
    w.fork(1, 10, 2, 20).unwrap();
    assert!(w.events().is_empty(), "no call is interrupted");
    assert_eq!(
        w.door_ucred(20),
        Err(Errno::EINVAL),
        "the copy serves nothing"
    );
    let out = w.ret(20, 8, &[]).unwrap();
    assert!(out.reply.is_none(), "the copy's return reaches no caller");
    assert_eq!(out.next, Next::Park);
    let out = w.ret(10, 8, &[]).unwrap();
    assert_eq!(
        out.reply.map(|r| r.caller),
        Some(31),
        "the parent still serves"
    );
    let out = w.ret(30, 0, &[]).unwrap();
    assert_eq!(out.reply.map(|r| r.caller), Some(11), "11's call completes");
    assert_eq!(w.sys.stats().invocations, 0);
}

#[test]
fn fork_errors_change_nothing() {
    let mut w = World::new();
    w.process(1, &[10, 11, 12]);
    w.process(3, &[30]);
    let d = w.create(1, 0, 0);
    w.park(11);
    let c = w.give(1, 3, d);
    w.call_handoff(30, c);
    w.park(12);
    let before = (w.refs(1, d), w.sys.stats(), w.caps.count());
    let err = |w: &mut World, forker, child, tid| w.fork(1, forker, child, tid);
    assert_eq!(err(&mut w, 99, 2, 20), Err(Errno::ESRCH), "unknown thread");
    assert_eq!(
        err(&mut w, 30, 2, 20),
        Err(Errno::ESRCH),
        "another's thread"
    );
    assert_eq!(err(&mut w, 12, 2, 20), Err(Errno::EINVAL), "parked");
    assert_eq!(
        w.fork(3, 30, 2, 20),
        Err(Errno::EINVAL),
        "blocked in a call"
    );
    assert_eq!(err(&mut w, 10, 3, 20), Err(Errno::EINVAL), "pid taken");
    assert_eq!(err(&mut w, 10, 2, 30), Err(Errno::EINVAL), "tid taken");
    assert_eq!((w.refs(1, d), w.sys.stats(), w.caps.count()), before);
    assert!(!w.sys.procs.contains_key(&2) && !w.caps.tables.contains_key(&2));
}

#[test]
fn exec_revokes_the_processs_doors_and_keeps_the_calling_thread() {
    let mut w = World::new();
    w.process(1, &[10, 11, 12]);
    w.process(2, &[20, 21, 22]);
    let d = w.create(1, 0, 0);
    let p = w.create(1, 0, DOOR_PRIVATE);
    let c = w.give(1, 2, d);
    w.door_bind(10, p).unwrap();
    w.park(11);
    w.park(12);
    w.call_handoff(20, c); // served by 12
    w.call_handoff(21, c); // served by 11
    w.call_wait(22, c);
    // Thread 12 serves 20's call and execs.
    w.exec(1, 12).unwrap();
    let mut ev = w.events();
    ev.sort_by_key(|e| match e {
        Event::CallFailed { caller, .. } => *caller,
        _ => 0,
    });
    let failed = |caller, errno| Event::CallFailed { caller, errno };
    assert_eq!(
        ev,
        [
            failed(20, Errno::EINTR),
            failed(21, Errno::EINTR),
            failed(22, Errno::EBADF)
        ]
    );
    for tid in [10, 11] {
        assert_eq!(w.door_ucred(tid), Err(Errno::ESRCH), "thread {tid} is gone");
    }
    let info = w.door_info(20, c).unwrap();
    assert_eq!(
        ({ info.di_target }, { info.di_attributes } & DOOR_REVOKED),
        (-1, DOOR_REVOKED)
    );
    let info = w.door_info(12, d).unwrap();
    assert_eq!({ info.di_attributes } & DOOR_LOCAL, 0, "no longer its door");
    assert_eq!(w.door_revoke(1, d), Err(Errno::EBADF));
    assert_eq!(w.door_ucred(12), Err(Errno::EINVAL), "serving nothing");
    assert_eq!(w.sys.door_unbind(12), Err(Errno::EBADF));
    // The new image's doors are its own, with server threads as usual.
    let created = w.door_create(1, PC, 0xe0, 0).unwrap();
    assert_eq!(created.create_server, Some(Depleted::Shared));
    let e = w.give(1, 2, created.fd);
    w.park(12);
    assert_eq!(w.call_handoff(20, e).server, 12);
}

#[test]
fn exec_by_a_bound_or_invalidly_bound_thread_drops_the_binding() {
    let mut w = World::new();
    w.process(1, &[10]);
    let p = w.create(1, 0, DOOR_PRIVATE);
    w.door_bind(10, p).unwrap();
    w.fork(1, 10, 2, 20).unwrap();
    w.exec(2, 20).unwrap();
    w.park(20);
    w.exec(1, 10).unwrap();
    assert_eq!(w.sys.door_unbind(10), Err(Errno::EBADF));
    w.park(10);
}

#[test]
fn exec_errors_change_nothing() {
    let mut w = World::new();
    w.process(1, &[10, 11]);
    w.process(2, &[20]);
    w.park(11);
    assert_eq!(w.exec(1, 99), Err(Errno::ESRCH));
    assert_eq!(w.exec(1, 20), Err(Errno::ESRCH), "another process's thread");
    assert_eq!(w.exec(1, 11), Err(Errno::EINVAL), "parked");
    assert_eq!(w.sys.procs[&1].pool.idle.len(), 1);
    assert!(w.events().is_empty());
}

#[test]
fn the_idle_server_threads_areas_are_listed_for_fork() {
    let mut w = World::new();
    w.process(1, &[10, 11, 12]);
    let d = w.create(1, 0xc0, 0);
    assert_eq!(w.sys.idle_areas(1), []);
    w.park(11);
    w.park(12);
    let mut areas = w.sys.idle_areas(1);
    areas.sort_unstable();
    let area = |tid| (stack(tid).base, stack(tid).size);
    assert_eq!(areas, [area(11), area(12)]);
    let serving = w.call_handoff(10, d).server;
    let idle = if serving == 11 { 12 } else { 11 };
    assert_eq!(
        w.sys.idle_areas(1),
        [area(idle)],
        "a serving thread is not idle"
    );
    assert_eq!(w.sys.idle_areas(9), [], "no such process");
}
