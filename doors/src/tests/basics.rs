//! Tests of descriptors, door_create, door_info, revoke, parameters,
//! credentials, door_bind argument rules, fattach/fdetach/open and spawn.

use super::*;
use crate::abi::*;
use crate::{Depleted, KERNEL_PID};

#[test]
fn door_create_returns_small_descriptors_and_stores_attributes() {
    let mut w = World::new();
    w.process(1, &[10]);
    let a = w.create(1, 7, DOOR_UNREF | DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
    let b = w.create(1, 8, DOOR_PRIVATE | DOOR_UNREF_MULTI);
    assert_eq!((a, b), (0, 1));
    let ia = w.sys.door_info(10, a).unwrap();
    assert_eq!(
        { ia.di_attributes },
        DOOR_UNREF | DOOR_REFUSE_DESC | DOOR_NO_CANCEL | DOOR_LOCAL | DOOR_IS_UNREF
    );
    assert_eq!(
        ({ ia.di_target }, { ia.di_proc }, { ia.di_data }),
        (1, PC, 7)
    );
    let ib = w.sys.door_info(10, b).unwrap();
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
            w.sys.door_create(1, PC, 0, bad),
            Err(Errno::EINVAL),
            "attrs {bad:#x}"
        );
    }
    assert_eq!(w.sys.stats().doors, 0);
}

#[test]
fn door_create_with_full_table_is_emfile() {
    let mut w = World::with(Config {
        table_capacity: 2,
        ..Config::default()
    });
    w.process(1, &[]);
    w.create(1, 0, 0);
    w.create(1, 0, 0);
    assert_eq!(w.sys.door_create(1, PC, 0, 0), Err(Errno::EMFILE));
    assert_eq!(w.sys.stats().doors, 2);
}

#[test]
fn door_create_asks_for_create_proc_at_first_shared_door_and_every_private_one() {
    let mut w = World::new();
    w.process(1, &[]);
    let first = w.sys.door_create(1, PC, 0, 0).unwrap();
    assert_eq!(first.create_server, Some(Depleted::Shared));
    assert_eq!(
        w.sys
            .door_create(1, PC, 0, DOOR_UNREF)
            .unwrap()
            .create_server,
        None
    );
    for cookie in [5, 6] {
        let p = w.sys.door_create(1, PC, cookie, DOOR_PRIVATE).unwrap();
        match p.create_server {
            Some(Depleted::Private(info)) => assert_eq!({ info.di_data }, cookie),
            other => panic!("expected private create_proc, got {other:?}"),
        }
    }
}

#[test]
fn stale_and_forged_descriptors_are_ebadf() {
    let mut w = World::new();
    w.process(1, &[10]);
    let a = w.create(1, 0, 0);
    w.sys.close(1, a).unwrap();
    let b = w.create(1, 0, 0);
    assert_ne!(a, b, "reused slot must carry a new generation");
    assert_eq!(w.sys.door_info(10, a), Err(Errno::EBADF));
    assert_eq!(w.sys.close(1, a), Err(Errno::EBADF));
    assert_eq!(w.sys.door_info(10, 12345), Err(Errno::EBADF));
    assert_eq!(w.sys.door_info(10, -1), Err(Errno::EBADF));
    assert_eq!(w.sys.dup(1, 999), Err(Errno::EBADF));
}

#[test]
fn dup_shares_the_door_and_counts_a_reference() {
    let mut w = World::with(Config {
        table_capacity: 3,
        ..Config::default()
    });
    w.process(1, &[10]);
    let a = w.create(1, 0, 0);
    let b = w.sys.dup(1, a).unwrap();
    assert_eq!(w.door_of(1, a), w.door_of(1, b));
    assert_eq!(w.refs(1, a), 2);
    w.sys.dup(1, a).unwrap();
    assert_eq!(w.sys.dup(1, a), Err(Errno::EMFILE));
    w.sys.close(1, a).unwrap();
    assert_eq!(w.refs(1, b), 2);
    assert_eq!(w.sys.stats().descriptors, 2);
}

#[test]
fn closing_the_last_descriptor_frees_the_door() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let b = w.sys.dup(1, a).unwrap();
    w.sys.close(1, a).unwrap();
    assert_eq!(w.sys.stats().doors, 1);
    w.sys.close(1, b).unwrap();
    assert_eq!(w.sys.stats(), crate::Stats::default());
}

#[test]
fn spawn_gives_the_child_exactly_the_listed_descriptors_from_zero() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let b = w.create(1, 0, 0);
    w.create(1, 0, 0);
    w.sys.spawn(1, 2, &[b, a]).unwrap();
    let child: Vec<_> = w.sys.procs[&2].table.iter().map(|(fd, _)| fd).collect();
    assert_eq!(child, [0, 1]);
    assert_eq!(w.door_of(2, 0), w.door_of(1, b));
    assert_eq!(w.door_of(2, 1), w.door_of(1, a));
    assert_eq!(w.sys.procs[&2].cred, w.sys.procs[&1].cred);
    assert_eq!(w.sys.spawn(1, 3, &[a, 77]), Err(Errno::EBADF));
    assert_eq!(w.sys.spawn(1, 2, &[]), Err(Errno::EINVAL));
    assert_eq!(w.sys.spawn(9, 4, &[]), Err(Errno::ESRCH));
    assert!(
        !w.sys.procs.contains_key(&3),
        "failed spawn must not create the child"
    );
}

#[test]
fn spawn_with_more_descriptors_than_a_table_holds_is_emfile() {
    let mut w = World::with(Config {
        table_capacity: 2,
        ..Config::default()
    });
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    assert_eq!(w.sys.spawn(1, 2, &[a, a, a]), Err(Errno::EMFILE));
}

#[test]
fn process_and_thread_registration_rejects_duplicates() {
    let mut w = World::new();
    w.process(1, &[10]);
    assert_eq!(w.sys.create_process(1, Cred::default()), Err(Errno::EINVAL));
    assert_eq!(w.sys.create_thread(1, 10), Err(Errno::EINVAL));
    assert_eq!(w.sys.create_thread(5, 11), Err(Errno::ESRCH));
    assert_eq!(w.sys.door_info(99, DOOR_QUERY), Err(Errno::ESRCH));
}

#[test]
fn uniquifiers_are_unique_and_never_reused() {
    let mut w = World::new();
    w.process(1, &[10]);
    let a = w.create(1, 0, 0);
    let ua = w.door_of(1, a);
    w.sys.close(1, a).unwrap();
    let b = w.create(1, 0, 0);
    let c = w.create(1, 0, 0);
    let (ub, uc) = (w.door_of(1, b), w.door_of(1, c));
    assert!(ua != ub && ub != uc && ua != uc);
    assert_eq!({ w.sys.door_info(10, c).unwrap().di_uniquifier }, uc);
}

#[test]
fn door_info_reports_local_only_to_the_server_and_is_unref_only_at_one_reference() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let a = w.create(1, 0, 0);
    w.sys.fattach(1, a, b"/x").unwrap();
    let fd2 = w.sys.open(2, b"/x").unwrap();
    let i2 = w.sys.door_info(20, fd2).unwrap();
    assert_eq!({ i2.di_attributes } & (DOOR_LOCAL | DOOR_IS_UNREF), 0);
    assert_eq!({ i2.di_target }, 1);
    assert_eq!(
        { w.sys.door_info(10, a).unwrap().di_attributes } & DOOR_LOCAL,
        DOOR_LOCAL
    );
    w.sys.fdetach(1, b"/x").unwrap();
    w.sys.close(1, a).unwrap();
    let i2 = w.sys.door_info(20, fd2).unwrap();
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
    w.sys.spawn(1, 3, &[a]).unwrap();
    w.sys.create_thread(3, 30).unwrap();
    w.sys.door_revoke(1, a).unwrap();
    assert_eq!(w.sys.door_info(10, a), Err(Errno::EBADF));
    let i = w.sys.door_info(30, 0).unwrap();
    assert_eq!({ i.di_attributes } & DOOR_REVOKED, DOOR_REVOKED);
    assert_eq!({ i.di_target }, 1, "revoked but server alive");
    assert_eq!(w.call(30, 0, None), Err(Errno::EBADF));
}

#[test]
fn door_revoke_by_another_process_is_eperm_and_of_a_revoked_door_ebadf() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let keep = w.sys.dup(1, a).unwrap();
    w.sys.spawn(1, 2, &[a]).unwrap();
    assert_eq!(
        w.sys.door_revoke(2, 0),
        Err(Errno::EPERM),
        "a child must not revoke its parent's door"
    );
    assert_eq!(w.sys.door_revoke(2, 5), Err(Errno::EBADF));
    w.sys.door_revoke(1, a).unwrap();
    assert_eq!(w.sys.door_revoke(1, keep), Err(Errno::EBADF));
}

#[test]
fn params_have_documented_defaults() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let r = w.create(1, 0, DOOR_REFUSE_DESC);
    assert_eq!(w.sys.door_getparam(1, a, DOOR_PARAM_DATA_MIN), Ok(0));
    assert_eq!(w.sys.door_getparam(1, a, DOOR_PARAM_DATA_MAX), Ok(u64::MAX));
    assert_eq!(
        w.sys.door_getparam(1, a, DOOR_PARAM_DESC_MAX),
        Ok(i32::MAX as u64)
    );
    assert_eq!(w.sys.door_getparam(1, r, DOOR_PARAM_DESC_MAX), Ok(0));
    assert_eq!(w.sys.door_getparam(1, a, 4), Err(Errno::EINVAL));
    assert_eq!(
        w.sys.door_getparam(1, 99, DOOR_PARAM_DATA_MIN),
        Err(Errno::EBADF)
    );
}

#[test]
fn setparam_errors_follow_the_semantics() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    let r = w.create(1, 0, DOOR_REFUSE_DESC);
    w.sys.spawn(1, 2, &[a]).unwrap();
    assert_eq!(
        w.sys.door_setparam(1, 99, DOOR_PARAM_DATA_MAX, 1),
        Err(Errno::EBADF)
    );
    assert_eq!(
        w.sys.door_setparam(2, 0, DOOR_PARAM_DATA_MAX, 1),
        Err(Errno::EPERM)
    );
    assert_eq!(w.sys.door_setparam(1, a, 9, 1), Err(Errno::EINVAL));
    assert_eq!(
        w.sys.door_setparam(1, a, DOOR_PARAM_DESC_MAX, 1 << 31),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        w.sys.door_setparam(1, r, DOOR_PARAM_DESC_MAX, 1),
        Err(Errno::ENOTSUP)
    );
    assert_eq!(w.sys.door_setparam(1, r, DOOR_PARAM_DESC_MAX, 0), Ok(()));
    w.sys.door_setparam(1, a, DOOR_PARAM_DATA_MAX, 100).unwrap();
    assert_eq!(
        w.sys.door_setparam(1, a, DOOR_PARAM_DATA_MIN, 101),
        Err(Errno::EINVAL)
    );
    w.sys.door_setparam(1, a, DOOR_PARAM_DATA_MIN, 10).unwrap();
    assert_eq!(
        w.sys.door_setparam(1, a, DOOR_PARAM_DATA_MAX, 9),
        Err(Errno::EINVAL)
    );
    w.sys.door_setparam(1, a, DOOR_PARAM_DESC_MAX, 3).unwrap();
    assert_eq!(w.sys.door_getparam(1, a, DOOR_PARAM_DATA_MIN), Ok(10));
    assert_eq!(w.sys.door_getparam(1, a, DOOR_PARAM_DATA_MAX), Ok(100));
    assert_eq!(w.sys.door_getparam(1, a, DOOR_PARAM_DESC_MAX), Ok(3));
    let keep = w.sys.dup(1, a).unwrap();
    w.sys.door_revoke(1, a).unwrap();
    assert_eq!(
        w.sys.door_setparam(1, keep, DOOR_PARAM_DATA_MAX, 5),
        Err(Errno::EBADF)
    );
    assert_eq!(w.sys.door_getparam(1, keep, DOOR_PARAM_DATA_MAX), Ok(100));
}

#[test]
fn door_ucred_outside_an_invocation_is_einval() {
    let mut w = World::new();
    w.process(1, &[10]);
    assert_eq!(w.sys.door_ucred(10), Err(Errno::EINVAL));
    assert_eq!(w.sys.door_cred(10), Err(Errno::EINVAL));
    assert_eq!(w.sys.door_ucred(11), Err(Errno::ESRCH));
    assert_eq!(KERNEL_PID, 0);
}

#[test]
fn door_bind_rules() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let shared = w.create(1, 0, 0);
    let private = w.create(1, 0, DOOR_PRIVATE);
    w.sys.fattach(1, private, b"/p").unwrap();
    let foreign = w.sys.open(2, b"/p").unwrap();
    assert_eq!(w.sys.door_bind(10, 77), Err(Errno::EBADF));
    assert_eq!(w.sys.door_bind(10, shared), Err(Errno::EINVAL));
    assert_eq!(
        w.sys.door_bind(20, foreign),
        Err(Errno::EINVAL),
        "another process's door"
    );
    assert_eq!(w.sys.door_unbind(10), Err(Errno::EBADF), "not bound");
    w.sys.door_bind(10, private).unwrap();
    assert_eq!(
        { w.sys.door_info(10, DOOR_QUERY).unwrap().di_uniquifier },
        w.door_of(1, private)
    );
    w.sys.door_unbind(10).unwrap();
    assert_eq!(w.sys.door_info(10, DOOR_QUERY), Err(Errno::EBADF));
    let keep = w.sys.dup(1, private).unwrap();
    w.sys.door_revoke(1, private).unwrap();
    assert_eq!(w.sys.door_bind(10, keep), Err(Errno::EBADF), "revoked door");
}

#[test]
fn fattach_open_and_fdetach() {
    let mut w = World::new();
    w.process(1, &[]);
    w.process(2, &[20]);
    let a = w.create(1, 0, 0);
    w.sys.fattach(1, a, b"/svc").unwrap();
    w.sys.fattach(1, a, b"/alias").unwrap();
    assert_eq!(w.refs(1, a), 3, "each attachment is a reference");
    let fd = w.sys.open(2, b"/svc").unwrap();
    assert_eq!(w.door_of(2, fd), w.door_of(1, a));
    w.sys.fdetach(1, b"/svc").unwrap();
    assert_eq!(w.sys.open(2, b"/svc"), Err(Errno::ENOENT));
    assert_eq!(
        w.door_of(2, fd),
        w.door_of(1, a),
        "opened before fdetach keeps working"
    );
    assert_eq!(w.sys.stats().attachments, 1);
}

#[test]
fn fattach_errors() {
    let mut w = World::with(Config {
        path_max: 8,
        ..Config::default()
    });
    w.process(1, &[]);
    w.process(2, &[]);
    let a = w.create(1, 0, 0);
    w.sys.fattach(1, a, b"/a").unwrap();
    let fd2 = w.sys.open(2, b"/a").unwrap();
    assert_eq!(w.sys.fattach(1, 42, b"/b"), Err(Errno::EBADF));
    assert_eq!(w.sys.fattach(1, a, b"/a"), Err(Errno::EBUSY));
    assert_eq!(w.sys.fattach(1, a, b"/123456789"), Err(Errno::ENAMETOOLONG));
    assert_eq!(w.sys.fattach(1, a, b""), Err(Errno::ENOENT));
    assert_eq!(w.sys.fattach(1, a, b"rel"), Err(Errno::EINVAL));
    assert_eq!(
        w.sys.fattach(2, fd2, b"/c"),
        Err(Errno::EPERM),
        "euid 2 is not the creator's"
    );
    assert_eq!(w.sys.fdetach(2, b"/a"), Err(Errno::EPERM));
    assert_eq!(
        w.sys.fdetach(1, b"/zz"),
        Err(Errno::EINVAL),
        "nothing attached"
    );
    assert_eq!(w.sys.fdetach(1, b""), Err(Errno::ENOENT));
    assert_eq!(w.sys.fdetach(1, b"/123456789"), Err(Errno::ENAMETOOLONG));
    assert_eq!(w.sys.open(2, b"x"), Err(Errno::EINVAL));
    assert_eq!(w.sys.open(2, b"/123456789"), Err(Errno::ENAMETOOLONG));
}

#[test]
fn root_may_attach_and_detach_any_door() {
    let mut w = World::new();
    w.process(1, &[]);
    w.sys.create_process(7, Cred::default()).unwrap();
    let a = w.create(1, 0, 0);
    w.sys.fattach(1, a, b"/a").unwrap();
    let fd = w.sys.open(7, b"/a").unwrap();
    w.sys.fattach(7, fd, b"/b").unwrap();
    w.sys.fdetach(7, b"/a").unwrap();
    w.sys.fdetach(1, b"/b").unwrap_err();
    w.sys.fdetach(7, b"/b").unwrap();
    assert_eq!(w.sys.stats().attachments, 0);
}

#[test]
fn open_into_full_table_is_emfile() {
    let mut w = World::with(Config {
        table_capacity: 1,
        ..Config::default()
    });
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    w.sys.fattach(1, a, b"/a").unwrap();
    assert_eq!(w.sys.open(1, b"/a"), Err(Errno::EMFILE));
}

#[test]
fn an_attached_door_outlives_its_descriptors_and_dies_at_fdetach() {
    let mut w = World::new();
    w.process(1, &[]);
    let a = w.create(1, 0, 0);
    w.sys.fattach(1, a, b"/a").unwrap();
    w.sys.close(1, a).unwrap();
    assert_eq!(w.sys.stats().doors, 1);
    w.sys.fdetach(1, b"/a").unwrap();
    assert_eq!(w.sys.stats().doors, 0);
}

#[test]
fn seteuid_drops_privilege_once() {
    let mut w = World::new();
    w.sys.create_process(7, Cred::default()).unwrap();
    assert_eq!(w.sys.set_euid(8, 5), Err(Errno::ESRCH));
    w.sys.set_euid(7, 5).unwrap();
    assert_eq!(w.sys.door_create(7, 0, 0, 0).map(|_| ()), Ok(()));
    assert_eq!(
        w.sys.set_euid(7, 6),
        Err(Errno::EPERM),
        "euid 5 may not pick another id"
    );
    w.sys.set_euid(7, 0).unwrap(); // back to its real id (0)
    w.sys.set_euid(7, 6).unwrap();
}
