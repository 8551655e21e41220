//! Tests of door descriptors, door_create, door_info, revoke, parameters,
//! credentials, door_bind argument rules, and door references held outside
//! tables (fattach names).

use super::*;
use crate::{Depleted, KERNEL_PID};
use abi::*;

#[test]
fn door_create_returns_small_descriptors_and_stores_attributes() {
    let mut w = World::new();
    w.process(1, &[10]);
    let a = w.create(1, 7, DOOR_UNREF | DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
    let b = w.create(1, 8, DOOR_PRIVATE | DOOR_UNREF_MULTI);
    assert_eq!((a, b), (0, 1));
    let ia = w.door_info(10, a).unwrap();
    assert_eq!(
        { ia.di_attributes },
        DOOR_UNREF | DOOR_REFUSE_DESC | DOOR_NO_CANCEL | DOOR_LOCAL | DOOR_IS_UNREF
    );
    assert_eq!(
        ({ ia.di_target }, { ia.di_proc }, { ia.di_data }),
        (1, PC, 7)
    );
    let ib = w.door_info(10, b).unwrap();
    assert_eq!(
        { ib.di_attributes } & DOOR_CREATE_MASK,
        DOOR_PRIVATE | DOOR_UNREF_MULTI
    );
}

#[test]
fn door_create_rejects_unknown_bits_and_unref_with_unref_multi() {
    let mut w = World::new();
    w.process(1, &[]);
    for bad in [
        DOOR_UNREF | DOOR_UNREF_MULTI,
        DOOR_LOCAL,
        DOOR_REVOKED,
        DOOR_IS_UNREF,
        0x100,
        DOOR_DESCRIPTOR,
    ] {
        assert_eq!(
            w.door_create(1, PC, 0, bad),
            Err(Errno::EINVAL),
            "attrs {bad:#x}"
        );
    }
    assert_eq!(w.sys.stats().doors, 0);
}

#[test]
fn door_create_with_full_table_is_emfile() {
    let mut w = World::with(Config::default(), 2);
    w.process(1, &[]);
    w.create(1, 0, 0);
    w.create(1, 0, 0);
    assert_eq!(w.door_create(1, PC, 0, 0), Err(Errno::EMFILE));
    assert_eq!(w.sys.stats().doors, 2);
}

#[test]
fn door_create_beyond_the_system_door_limit_is_enfile() {
    let mut w = World::with(
        Config {
            max_doors: 3,
            ..Config::default()
        },
        CAPACITY,
    );
    w.process(1, &[]);
    w.process(2, &[]);
    let first = w.create(1, 0, 0);
    w.create(1, 0, 0);
    w.create(2, 0, 0);
    // The limit is the system's: the other process's table has room too.
    for pid in [1, 2] {
        assert_eq!(w.door_create(pid, PC, 0, 0), Err(Errno::ENFILE));
    }
    assert_eq!(w.sys.stats().doors, 3);
    assert_eq!(w.caps.count(), 3);
    // A dup makes no door, and the door lives while a descriptor names it.
    let dup = w.dup(1, first).unwrap();
    w.close(1, first).unwrap();
    assert_eq!(w.door_create(2, PC, 0, 0), Err(Errno::ENFILE));
    // Once a door is gone another can be made.
    w.close(1, dup).unwrap();
    w.create(2, 0, 0);
    assert_eq!(w.sys.stats().doors, 3);
}

#[test]
fn door_create_asks_for_create_proc_at_first_shared_door_and_every_private_one() {
    let mut w = World::new();
    w.process(1, &[]);
    let first = w.door_create(1, PC, 0, 0).unwrap();
    assert_eq!(first.create_server, Some(Depleted::Shared));
    assert_eq!(
        w.door_create(1, PC, 0, DOOR_UNREF).unwrap().create_server,
        None
    );
    for cookie in [5, 6] {
        let p = w.door_create(1, PC, cookie, DOOR_PRIVATE).unwrap();
        match p.create_server {
            Some(Depleted::Private(info)) => assert_eq!({ info.di_data }, cookie),
            other => panic!("expected private create_proc, got {other:?}"),
        }
    }
}

#[test]
fn dup_shares_the_door_and_counts_a_reference() {
    let mut w = World::with(Config::default(), 3);
    w.process(1, &[10]);
    let a = w.create(1, 0, 0);
    let b = w.dup(1, a).unwrap();
    assert_eq!(w.door_of(1, a), w.door_of(1, b));
    assert_eq!(w.refs(1, a), 2);
    w.dup(1, a).unwrap();
    assert_eq!(w.dup(1, a), Err(Errno::EMFILE));
    w.close(1, a).unwrap();
    assert_eq!(w.refs(1, b), 2);
    assert_eq!(w.caps.count(), 2);
}

#[test]
fn closing_the_last_descriptor_frees_the_door() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let b = w.dup(1, a).unwrap();
    w.close(1, a).unwrap();
    assert_eq!(w.sys.stats().doors, 1);
    w.close(1, b).unwrap();
    assert_eq!(w.sys.stats(), crate::Stats::default());
}

#[test]
fn process_and_thread_registration_rejects_duplicates() {
    let mut w = World::new();
    w.process(1, &[10]);
    assert_eq!(w.sys.create_process(1), Err(Errno::EINVAL));
    assert_eq!(w.sys.create_thread(1, 10, 1), Err(Errno::EINVAL));
    assert_eq!(w.sys.create_thread(5, 11, 1), Err(Errno::ESRCH));
    assert_eq!(w.door_info(99, DOOR_QUERY), Err(Errno::ESRCH));
}

#[test]
fn uniquifiers_are_unique_and_never_reused() {
    let mut w = World::new();
    w.process(1, &[10]);
    let a = w.create(1, 0, 0);
    let ua = w.door_of(1, a);
    w.close(1, a).unwrap();
    let b = w.create(1, 0, 0);
    let c = w.create(1, 0, 0);
    let (ub, uc) = (w.door_of(1, b), w.door_of(1, c));
    assert!(ua != ub && ub != uc && ua != uc);
    assert_eq!({ w.door_info(10, c).unwrap().di_uniquifier }, uc);
}

#[test]
fn door_info_reports_local_only_to_the_server_and_is_unref_only_at_one_reference() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let a = w.create(1, 0, 0);
    w.fattach(1, a, b"/x").unwrap();
    let fd2 = w.open(2, b"/x").unwrap();
    let i2 = w.door_info(20, fd2).unwrap();
    assert_eq!({ i2.di_attributes } & (DOOR_LOCAL | DOOR_IS_UNREF), 0);
    assert_eq!({ i2.di_target }, 1);
    assert_eq!(
        { w.door_info(10, a).unwrap().di_attributes } & DOOR_LOCAL,
        DOOR_LOCAL
    );
    w.fdetach(b"/x").unwrap();
    w.close(1, a).unwrap();
    let i2 = w.door_info(20, fd2).unwrap();
    assert_eq!(
        { i2.di_attributes } & (DOOR_LOCAL | DOOR_IS_UNREF),
        DOOR_IS_UNREF
    );
}

#[test]
fn door_revoke_by_creator_marks_revoked_and_closes_the_descriptor() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let a = w.create(1, 0, 0);
    w.process(3, &[30]);
    assert_eq!(w.give(1, 3, a), 0);
    w.door_revoke(1, a).unwrap();
    assert_eq!(w.door_info(10, a), Err(Errno::EBADF));
    let i = w.door_info(30, 0).unwrap();
    assert_eq!({ i.di_attributes } & DOOR_REVOKED, DOOR_REVOKED);
    assert_eq!({ i.di_target }, 1, "revoked but server alive");
    assert_eq!(w.call(30, 0, None), Err(Errno::EBADF));
}

#[test]
fn door_revoke_by_another_process_is_eperm_and_of_a_revoked_door_ebadf() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let keep = w.dup(1, a).unwrap();
    w.process(2, &[]);
    assert_eq!(w.give(1, 2, a), 0);
    assert_eq!(
        w.door_revoke(2, 0),
        Err(Errno::EPERM),
        "a child must not revoke its parent's door"
    );
    assert_eq!(w.door_revoke(2, 5), Err(Errno::EBADF));
    w.door_revoke(1, a).unwrap();
    assert_eq!(w.door_revoke(1, keep), Err(Errno::EBADF));
}

#[test]
fn params_have_documented_defaults() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let r = w.create(1, 0, DOOR_REFUSE_DESC);
    assert_eq!(w.door_getparam(1, a, DOOR_PARAM_DATA_MIN), Ok(0));
    assert_eq!(w.door_getparam(1, a, DOOR_PARAM_DATA_MAX), Ok(u64::MAX));
    assert_eq!(
        w.door_getparam(1, a, DOOR_PARAM_DESC_MAX),
        Ok(i32::MAX as u64)
    );
    assert_eq!(w.door_getparam(1, r, DOOR_PARAM_DESC_MAX), Ok(0));
    assert_eq!(w.door_getparam(1, a, 4), Err(Errno::EINVAL));
    assert_eq!(
        w.door_getparam(1, 99, DOOR_PARAM_DATA_MIN),
        Err(Errno::EBADF)
    );
}

#[test]
fn setparam_errors_follow_the_semantics() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let r = w.create(1, 0, DOOR_REFUSE_DESC);
    w.process(2, &[]);
    assert_eq!(w.give(1, 2, a), 0);
    assert_eq!(
        w.door_setparam(1, 99, DOOR_PARAM_DATA_MAX, 1),
        Err(Errno::EBADF)
    );
    assert_eq!(
        w.door_setparam(2, 0, DOOR_PARAM_DATA_MAX, 1),
        Err(Errno::EPERM)
    );
    assert_eq!(w.door_setparam(1, a, 9, 1), Err(Errno::EINVAL));
    assert_eq!(
        w.door_setparam(1, a, DOOR_PARAM_DESC_MAX, 1 << 31),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        w.door_setparam(1, r, DOOR_PARAM_DESC_MAX, 1),
        Err(Errno::ENOTSUP)
    );
    assert_eq!(w.door_setparam(1, r, DOOR_PARAM_DESC_MAX, 0), Ok(()));
    w.door_setparam(1, a, DOOR_PARAM_DATA_MAX, 100).unwrap();
    assert_eq!(
        w.door_setparam(1, a, DOOR_PARAM_DATA_MIN, 101),
        Err(Errno::EINVAL)
    );
    w.door_setparam(1, a, DOOR_PARAM_DATA_MIN, 10).unwrap();
    assert_eq!(
        w.door_setparam(1, a, DOOR_PARAM_DATA_MAX, 9),
        Err(Errno::EINVAL)
    );
    w.door_setparam(1, a, DOOR_PARAM_DESC_MAX, 3).unwrap();
    assert_eq!(w.door_getparam(1, a, DOOR_PARAM_DATA_MIN), Ok(10));
    assert_eq!(w.door_getparam(1, a, DOOR_PARAM_DATA_MAX), Ok(100));
    assert_eq!(w.door_getparam(1, a, DOOR_PARAM_DESC_MAX), Ok(3));
    let keep = w.dup(1, a).unwrap();
    w.door_revoke(1, a).unwrap();
    assert_eq!(
        w.door_setparam(1, keep, DOOR_PARAM_DATA_MAX, 5),
        Err(Errno::EBADF)
    );
    assert_eq!(w.door_getparam(1, keep, DOOR_PARAM_DATA_MAX), Ok(100));
}

#[test]
fn door_ucred_outside_an_invocation_is_einval() {
    let mut w = World::new();
    w.process(1, &[10]);
    assert_eq!(w.door_ucred(10), Err(Errno::EINVAL));
    assert_eq!(w.door_cred(10), Err(Errno::EINVAL));
    assert_eq!(w.door_ucred(11), Err(Errno::ESRCH));
    assert_eq!(KERNEL_PID, 0);
}

#[test]
fn door_bind_rules() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let shared = w.create(1, 0, 0);
    let private = w.create(1, 0, DOOR_PRIVATE);
    w.fattach(1, private, b"/p").unwrap();
    let foreign = w.open(2, b"/p").unwrap();
    assert_eq!(w.door_bind(10, 77), Err(Errno::EBADF));
    assert_eq!(w.door_bind(10, shared), Err(Errno::EINVAL));
    assert_eq!(
        w.door_bind(20, foreign),
        Err(Errno::EINVAL),
        "another process's door"
    );
    assert_eq!(w.sys.door_unbind(10), Err(Errno::EBADF), "not bound");
    w.door_bind(10, private).unwrap();
    assert_eq!(
        { w.door_info(10, DOOR_QUERY).unwrap().di_uniquifier },
        w.door_of(1, private)
    );
    w.sys.door_unbind(10).unwrap();
    assert_eq!(w.door_info(10, DOOR_QUERY), Err(Errno::EBADF));
    let keep = w.dup(1, private).unwrap();
    w.door_revoke(1, private).unwrap();
    assert_eq!(w.door_bind(10, keep), Err(Errno::EBADF), "revoked door");
}

#[test]
fn fattach_open_and_fdetach() {
    let mut w = World::new();
    w.process(1, &[]);
    w.process(2, &[20]);
    let a = w.create(1, 0, 0);
    w.fattach(1, a, b"/svc").unwrap();
    w.fattach(1, a, b"/alias").unwrap();
    assert_eq!(w.refs(1, a), 3, "each attachment is a reference");
    let fd = w.open(2, b"/svc").unwrap();
    assert_eq!(w.door_of(2, fd), w.door_of(1, a));
    w.fdetach(b"/svc").unwrap();
    assert_eq!(w.open(2, b"/svc"), Err(Errno::ENOENT));
    assert_eq!(
        w.door_of(2, fd),
        w.door_of(1, a),
        "opened before fdetach keeps working"
    );
    assert_eq!(w.names.len(), 1);
}

#[test]
fn an_attached_door_outlives_its_descriptors_and_dies_at_fdetach() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    w.fattach(1, a, b"/a").unwrap();
    w.close(1, a).unwrap();
    assert_eq!(w.sys.stats().doors, 1);
    w.fdetach(b"/a").unwrap();
    assert_eq!(w.sys.stats().doors, 0);
}

#[test]
fn door_operations_on_another_kind_of_descriptor_are_ebadf() {
    let mut w = World::new();
    w.process(1, &[10]);
    let file = w.token(1);
    let door = w.create(1, 0, DOOR_PRIVATE);
    assert_eq!(w.door_info(10, file), Err(Errno::EBADF));
    assert_eq!(w.call(10, file, None), Err(Errno::EBADF));
    assert_eq!(w.door_revoke(1, file), Err(Errno::EBADF));
    assert_eq!(
        w.door_setparam(1, file, DOOR_PARAM_DATA_MAX, 1),
        Err(Errno::EBADF)
    );
    assert_eq!(
        w.door_getparam(1, file, DOOR_PARAM_DATA_MAX),
        Err(Errno::EBADF)
    );
    assert_eq!(w.door_bind(10, file), Err(Errno::EBADF));
    assert_eq!(w.door_info(10, 12345), Err(Errno::EBADF), "not open");
    assert_eq!(w.door_info(10, -1), Err(Errno::EBADF));
    assert_eq!(
        w.token_refs(1, file),
        1,
        "failed operations keep the object"
    );
    assert!(w.door_info(10, door).is_ok());
}

#[test]
fn a_reused_pid_does_not_own_the_doors_of_its_predecessor() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let fd = w.create(2, 7, 0);
    let held = w.give(2, 1, fd);
    w.exit_process(2);
    // Process 2's door outlives it (revoked), held by process 1; a new
    // process 2 ends without touching it.
    w.process(2, &[21]);
    w.create(2, 8, 0);
    w.exit_process(2);
    assert_eq!(w.door_info(10, held).map(|i| i.di_target), Ok(-1));
    assert_eq!(w.refs(1, held), 1);
}
