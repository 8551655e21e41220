//! Tests of door_call and door_return: handoff, waiting, argument layout,
//! every error code and its precedence, descriptor passing both ways,
//! result placement (rbuf, new mapping, EOVERFLOW), nested and local calls.

use super::*;
use crate::{ArgCopy, Delivery, Depleted, ReturnArgs};
use abi::*;

/// Server process 1 (threads 10, 11 parked) with door fd 0 (cookie 7),
/// client process 2 (thread 20) holding it as fd 0.
fn setup() -> World {
    let mut w = World::new();
    w.process(1, &[10, 11]);
    w.process(2, &[20, 21]);
    let d = w.create(1, 7, 0);
    w.fattach(1, d, b"/d").unwrap();
    assert_eq!(w.open(2, b"/d").unwrap(), 0);
    w.fdetach(b"/d").unwrap();
    w.park(10);
    w.park(11);
    w
}

fn delivered(out: &ReturnOutcome) -> &Delivery {
    out.reply
        .as_ref()
        .expect("a reply")
        .result
        .as_ref()
        .expect("results delivered")
}

#[test]
fn null_call_hands_off_to_an_idle_server_and_return_switches_straight_back() {
    let mut w = setup();
    let up = w.call_handoff(20, 0);
    assert_eq!(
        (up.server, up.server_pid),
        (11, 1),
        "most recently parked thread first"
    );
    assert_eq!(
        (up.cookie, up.pc, up.entry_status()),
        (7, PC, invocation::RUN)
    );
    assert_eq!(up.depleted, None, "thread 10 is still idle");
    assert_eq!(up.copy, None);
    let out = w.ret(11, 0, &[]).unwrap();
    let reply = out.reply.as_ref().unwrap();
    assert_eq!((reply.caller, reply.caller_pid), (20, 2));
    assert_eq!(out.next, Next::Park);
    assert_eq!(w.sys.stats().invocations, 0);
    assert_eq!(w.call_handoff(20, 0).server, 11, "the thread is idle again");
}

#[test]
fn params_null_call_carries_nothing_and_gets_nothing() {
    let mut w = setup();
    assert!(matches!(w.call(20, 0, None), Ok(CallOutcome::Handoff(_))));
    assert_eq!(
        w.ret(11, 8, &[]).unwrap_err(),
        Errno::E2BIG,
        "results for a NULL params call"
    );
    let out = w.ret(11, 0, &[]).unwrap();
    let d = delivered(&out);
    assert_eq!((d.arg, d.mapped, d.len), (None, None, 0));
}

#[test]
fn taking_the_last_idle_thread_reports_depletion() {
    let mut w = setup();
    assert_eq!(w.call_handoff(20, 0).depleted, None);
    let up = w.call_handoff(21, 0);
    assert_eq!(up.depleted, Some(Depleted::Shared));
    assert_eq!(up.entry_status(), invocation::DEPLETED_SHARED);
}

#[test]
fn without_an_idle_thread_the_caller_waits_until_one_parks() {
    let mut w = setup();
    w.call_handoff(20, 0);
    w.call_handoff(21, 0);
    w.sys.create_thread(2, 22, handle_of(22)).unwrap();
    w.call_wait(22, 0);
    assert_eq!(w.sys.stats().waiting, 1);
    let out = w.ret(11, 0, &[]).unwrap();
    assert_eq!(out.reply.as_ref().unwrap().caller, 20);
    match out.next {
        Next::Serve(up) => {
            assert_eq!(up.server, 11);
            assert_eq!(up.depleted, Some(Depleted::Shared));
            assert_eq!(w.door_ucred(11).unwrap().uc_pid, 2);
        }
        other => panic!("expected to serve the waiting caller, got {other:?}"),
    }
    assert_eq!(w.sys.stats().waiting, 0);
    assert_eq!(w.ret(11, 0, &[]).unwrap().reply.unwrap().caller, 22);
}

#[test]
fn arguments_are_laid_out_at_the_top_of_the_server_stack_area() {
    let mut w = setup();
    let p = w.arg(20, 100, &[pass(0)], 0);
    let CallOutcome::Handoff(up) = w.call(20, 0, Some(p)).unwrap() else {
        panic!()
    };
    let area = stack(11);
    let top = area.base + area.size;
    let l = up.layout;
    assert_eq!(l.info_addr, top - 48);
    assert_eq!(l.desc_addr, l.info_addr - 24);
    assert!(l.data_addr + 100 <= l.desc_addr && l.data_addr % 16 == 0);
    assert!(l.sp == l.data_addr && l.sp % 16 == 0);
    assert_eq!(
        up.copy,
        Some(ArgCopy {
            from_pid: 2,
            from: 0x4000_0000,
            len: 100
        })
    );
    assert_eq!((up.entry_regs()[1], up.entry_regs()[2]), (l.data_addr, 100));
    assert_eq!((up.entry_regs()[3], up.entry_regs()[4]), (l.desc_addr, 1));
    assert_eq!(up.descs.len(), 1);
}

#[test]
fn arguments_that_do_not_fit_the_server_area_are_e2big_and_release_descriptors() {
    let mut w = setup();
    let extra = w.dup(2, 0).unwrap();
    let p = w.arg(20, stack(11).size, &[pass_release(extra)], 0);
    assert_eq!(w.call(20, 0, Some(p)), Err(Errno::E2BIG));
    assert_eq!(
        w.sys.lookup(&w.caps, 2, extra),
        Err(Errno::EBADF),
        "DOOR_RELEASE closes even on failure"
    );
    assert_eq!(w.sys.stats().invocations, 0);
}

#[test]
fn too_many_descriptors_is_e2big_before_they_are_read() {
    let mut w = World::with(
        Config {
            max_desc_per_msg: 2,
            ..Config::default()
        },
        CAPACITY,
    );
    w.process(1, &[10]);
    let d = w.create(1, 0, 0);
    w.sys.create_thread(1, 11, handle_of(11)).unwrap();
    w.park(10);
    let p = w.arg(11, 0, &[pass_release(d), pass(d), pass(d)], 0);
    assert_eq!(w.call(11, d, Some(p)), Err(Errno::E2BIG));
    assert!(w.sys.lookup(&w.caps, 1, d).is_ok());
}

#[test]
fn more_data_than_a_message_carries_is_e2big_both_ways() {
    let mut w = World::with(
        Config {
            max_data: 64,
            ..Config::default()
        },
        CAPACITY,
    );
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(1, 0, 0);
    let c = w.give(1, 2, d);
    w.park(10);
    let p = w.arg(20, 65, &[], 256);
    assert_eq!(w.call(20, c, Some(p)), Err(Errno::E2BIG), "arguments");
    let p = w.arg(20, 64, &[], 256);
    assert!(w.call(20, c, Some(p)).is_ok(), "the limit itself passes");
    assert_eq!(w.ret(10, 65, &[]).unwrap_err(), Errno::E2BIG, "results");
    assert!(w.ret(10, 64, &[]).is_ok());
}

#[test]
fn call_on_a_bad_or_revoked_door_is_ebadf_and_keeps_released_descriptors() {
    let mut w = setup();
    let extra = w.dup(2, 0).unwrap();
    let p = w.arg(20, 0, &[pass_release(extra)], 0);
    assert_eq!(w.call(20, 999, Some(p)), Err(Errno::EBADF));
    w.door_revoke(1, 0).unwrap();
    assert_eq!(w.call(20, 0, Some(p)), Err(Errno::EBADF));
    assert!(
        w.sys.lookup(&w.caps, 2, extra).is_ok(),
        "EBADF must not release"
    );
}

#[test]
fn bad_addresses_are_efault_and_keep_released_descriptors() {
    let mut w = setup();
    let extra = w.dup(2, 0).unwrap();
    let good = w.arg(20, 8, &[pass_release(extra)], 64);
    let mut cases = Vec::new();
    let mut p = good;
    p.addr = BAD;
    cases.push(p);
    let mut p = good;
    p.arg.data_ptr = BAD;
    cases.push(p);
    let mut p = good;
    p.arg.desc_ptr = 0x1234;
    cases.push(p);
    let mut p = good;
    p.arg.rbuf = BAD - 8;
    cases.push(p);
    for p in cases {
        assert_eq!(w.call(20, 0, Some(p)), Err(Errno::EFAULT), "{p:?}");
    }
    assert!(
        w.sys.lookup(&w.caps, 2, extra).is_ok(),
        "EFAULT must not release"
    );
    assert!(matches!(
        w.call(20, 0, Some(good)),
        Ok(CallOutcome::Handoff(_))
    ));
}

#[test]
fn bad_descriptor_entries_are_einval_and_release_the_good_ones() {
    let mut w = setup();
    for bad in [
        DoorDesc::new(0, 0),
        DoorDesc::new(0, DOOR_DESCRIPTOR | 0x1),
        DoorDesc::new(4000, DOOR_DESCRIPTOR),
    ] {
        let extra = w.dup(2, 0).unwrap();
        let p = w.arg(20, 0, &[pass_release(extra), bad], 0);
        assert_eq!(w.call(20, 0, Some(p)), Err(Errno::EINVAL), "{bad:?}");
        assert_eq!(w.sys.lookup(&w.caps, 2, extra), Err(Errno::EBADF));
    }
    let extra = w.dup(2, 0).unwrap();
    let p = w.arg(20, 0, &[pass_release(extra), pass(extra)], 0);
    assert_eq!(
        w.call(20, 0, Some(p)),
        Err(Errno::EINVAL),
        "released and passed again"
    );
    assert_eq!(w.sys.stats().invocations, 0);
}

#[test]
fn descriptors_to_a_refuse_desc_door_are_enotsup() {
    let mut w = setup();
    let r = w.create(1, 0, DOOR_REFUSE_DESC);
    w.fattach(1, r, b"/r").unwrap();
    let r2 = w.open(2, b"/r").unwrap();
    let extra = w.dup(2, 0).unwrap();
    let p = w.arg(20, 0, &[pass_release(extra)], 0);
    assert_eq!(w.call(20, r2, Some(p)), Err(Errno::ENOTSUP));
    assert_eq!(w.sys.lookup(&w.caps, 2, extra), Err(Errno::EBADF));
    let p = w.arg(20, 0, &[], 0);
    let CallOutcome::Handoff(up) = w.call(20, r2, Some(p)).unwrap() else {
        panic!()
    };
    assert_eq!(up.entry_regs()[4], 0);
}

#[test]
fn descriptors_above_desc_max_are_enfile() {
    let mut w = setup();
    w.door_setparam(1, 0, DOOR_PARAM_DESC_MAX, 1).unwrap();
    let p = w.arg(20, 0, &[pass(0), pass(0)], 0);
    assert_eq!(w.call(20, 0, Some(p)), Err(Errno::ENFILE));
    let p = w.arg(20, 0, &[pass(0)], 0);
    assert!(w.call(20, 0, Some(p)).is_ok());
}

#[test]
fn data_outside_min_max_is_enobufs_before_a_server_is_chosen() {
    let mut w = setup();
    w.door_setparam(1, 0, DOOR_PARAM_DATA_MAX, 16).unwrap();
    w.door_setparam(1, 0, DOOR_PARAM_DATA_MIN, 4).unwrap();
    for size in [0, 3, 17] {
        let p = w.arg(20, size, &[], 0);
        assert_eq!(w.call(20, 0, Some(p)), Err(Errno::ENOBUFS), "size {size}");
    }
    assert_eq!(
        w.call(20, 0, None),
        Err(Errno::ENOBUFS),
        "NULL params carry 0 bytes"
    );
    let p = w.arg(20, 16, &[], 0);
    assert!(w.call(20, 0, Some(p)).is_ok());
}

#[test]
fn full_server_table_is_emfile_and_nothing_moves() {
    let mut w = World::with(Config::default(), 2);
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(1, 0, 0);
    w.fattach(1, d, b"/d").unwrap();
    w.dup(1, d).unwrap();
    let c = w.open(2, b"/d").unwrap();
    let c2 = w.dup(2, c).unwrap();
    w.park(10);
    let p = w.arg(20, 0, &[pass_release(c2)], 0);
    assert_eq!(w.call(20, c, Some(p)), Err(Errno::EMFILE));
    assert_eq!(w.caps.tables[&1].iter().flatten().count(), 2);
    assert_eq!(
        w.sys.lookup(&w.caps, 2, c2),
        Err(Errno::EBADF),
        "released even though the call failed"
    );
}

#[test]
fn descriptors_move_from_caller_to_server_with_and_without_release() {
    let mut w = setup();
    let other = w.create(2, 0, 0);
    let id = w.door_of(2, other);
    let keep = w.dup(2, other).unwrap();
    let p = w.arg(20, 0, &[pass(keep), pass_release(other)], 0);
    let CallOutcome::Handoff(up) = w.call(20, 0, Some(p)).unwrap() else {
        panic!()
    };
    assert_eq!(up.descs.len(), 2);
    for d in &up.descs {
        assert_eq!(w.door_of(1, d.d_descriptor), id);
        assert_eq!({ d.d_id }, id);
        assert_eq!(
            { d.d_attributes } & (DOOR_DESCRIPTOR | DOOR_LOCAL),
            DOOR_DESCRIPTOR
        );
    }
    assert_eq!(w.sys.lookup(&w.caps, 2, other), Err(Errno::EBADF));
    assert!(w.sys.lookup(&w.caps, 2, keep).is_ok());
    assert_eq!(w.refs(2, keep), 3);
}

#[test]
fn results_that_fit_go_to_rbuf_with_descriptors_after_the_rounded_data() {
    let mut w = setup();
    let p = w.arg(20, 0, &[], 4096);
    w.call(20, 0, Some(p)).unwrap();
    let mine = w.create(1, 0, 0);
    let out = w.ret(11, 30, &[pass(mine)]).unwrap();
    let d = delivered(&out);
    assert_eq!((d.server_pid, d.from, d.len), (1, 0x6000_0000, 30));
    assert_eq!(
        (d.data_addr, d.desc_addr, d.mapped),
        (p.arg.rbuf, p.arg.rbuf + 48, None)
    );
    let (addr, arg) = d.arg.unwrap();
    assert_eq!(addr, p.addr);
    assert_eq!(
        arg,
        DoorArg {
            data_ptr: p.arg.rbuf,
            data_size: 30,
            desc_ptr: p.arg.rbuf + 48,
            desc_num: 1,
            rbuf: p.arg.rbuf,
            rsize: 4096
        }
    );
    assert_eq!(w.door_of(2, d.descs[0].d_descriptor), w.door_of(1, mine));
    assert!(
        w.sys.lookup(&w.caps, 1, mine).is_ok(),
        "no DOOR_RELEASE: server keeps its copy"
    );
}

#[test]
fn results_without_descriptors_that_exactly_fill_rbuf_stay_in_it() {
    let mut w = setup();
    let p = w.arg(20, 0, &[], 16);
    w.call(20, 0, Some(p)).unwrap();
    let d = delivered(&w.ret(11, 16, &[]).unwrap()).clone();
    assert_eq!(
        (d.data_addr, d.mapped),
        (p.arg.rbuf, None),
        "16 bytes fit a 16-byte rbuf"
    );
    assert!(w.mem.maps.is_empty());
}

#[test]
fn results_larger_than_rsize_land_in_a_new_page_rounded_mapping() {
    let mut w = setup();
    let p = w.arg(20, 0, &[], 16);
    w.call(20, 0, Some(p)).unwrap();
    let out = w.ret(11, 5000, &[]).unwrap();
    let d = delivered(&out);
    let (addr, len) = d.mapped.unwrap();
    assert_eq!(len, 8192);
    assert_eq!(w.mem.maps, [(2, addr, 8192)]);
    assert_eq!(d.data_addr, addr);
    let arg = d.arg.unwrap().1;
    assert_eq!(
        (arg.rbuf, arg.rsize, arg.data_size, arg.desc_num),
        (addr, 8192, 5000, 0)
    );
}

#[test]
fn failed_result_mapping_is_eoverflow_for_the_caller_and_the_server_parks() {
    let mut w = setup();
    let mine = w.create(1, 0, 0);
    let p = w.arg(20, 0, &[], 16);
    w.call(20, 0, Some(p)).unwrap();
    w.mem.map_fails = true;
    let out = w.ret(11, 5000, &[pass_release(mine)]).unwrap();
    assert_eq!(out.reply.unwrap().result, Err(Errno::EOVERFLOW));
    assert_eq!(out.next, Next::Park);
    assert_eq!(
        w.sys.lookup(&w.caps, 1, mine),
        Err(Errno::EBADF),
        "released descriptors are gone with the results"
    );
    assert_eq!(
        w.caps.tables[&2].iter().flatten().count(),
        1,
        "nothing delivered"
    );
}

#[test]
fn return_errors_leave_the_invocation_in_place() {
    let mut w = World::with(
        Config {
            max_desc_per_msg: 2,
            ..Config::default()
        },
        CAPACITY,
    );
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(1, 0, 0);
    w.fattach(1, d, b"/d").unwrap();
    let c = w.open(2, b"/d").unwrap();
    w.park(10);
    let p = w.arg(20, 0, &[], 64);
    w.call(20, c, Some(p)).unwrap();
    assert_eq!(
        w.ret(10, 0, &[pass(d), pass(d), pass(d)]).unwrap_err(),
        Errno::E2BIG
    );
    assert_eq!(
        w.ret(10, 0, &[DoorDesc::new(d, 0)]).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(w.ret(10, 0, &[pass(77)]).unwrap_err(), Errno::EINVAL);
    let bad = ReturnArgs {
        data_ptr: BAD,
        data_size: 4,
        stack: stack(10),
        ..ReturnArgs::default()
    };
    assert_eq!(
        w.sys.door_return(&mut w.mem, &mut w.caps, 10, bad),
        Err(Errno::EFAULT)
    );
    let bad = ReturnArgs {
        desc_ptr: 0x99,
        desc_num: 1,
        stack: stack(10),
        ..ReturnArgs::default()
    };
    assert_eq!(
        w.sys.door_return(&mut w.mem, &mut w.caps, 10, bad),
        Err(Errno::EFAULT)
    );
    assert_eq!(w.sys.stats().invocations, 1);
    assert_eq!(w.door_ucred(10).unwrap().uc_pid, 2, "still serving");
    assert_eq!(w.ret(10, 0, &[]).unwrap().reply.unwrap().caller, 20);
}

#[test]
fn return_with_an_unusable_stack_area_is_einval_or_efault() {
    let mut w = World::new();
    w.process(1, &[10]);
    // Too small for even the door_info slot at the top of the layout.
    let small = ReturnArgs {
        stack: StackArea {
            base: 0x1000,
            size: 32,
        },
        ..ReturnArgs::default()
    };
    assert_eq!(
        w.sys.door_return(&mut w.mem, &mut w.caps, 10, small),
        Err(Errno::EINVAL)
    );
    let wrap = ReturnArgs {
        stack: StackArea {
            base: u64::MAX - 8,
            size: 4096,
        },
        ..ReturnArgs::default()
    };
    assert_eq!(
        w.sys.door_return(&mut w.mem, &mut w.caps, 10, wrap),
        Err(Errno::EINVAL)
    );
    let unmapped = ReturnArgs {
        stack: StackArea {
            base: BAD,
            size: 4096,
        },
        ..ReturnArgs::default()
    };
    assert_eq!(
        w.sys.door_return(&mut w.mem, &mut w.caps, 10, unmapped),
        Err(Errno::EFAULT)
    );
    assert_eq!(w.sys.threads[&10].idle, None);
}

#[test]
fn descriptors_returned_into_a_full_caller_table_are_emfile_not_dropped() {
    let mut w = World::with(Config::default(), 1);
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(1, 0, 0);
    w.fattach(1, d, b"/d").unwrap();
    let c = w.open(2, b"/d").unwrap();
    w.park(10);
    let p = w.arg(20, 0, &[], 64);
    w.call(20, c, Some(p)).unwrap();
    assert_eq!(w.ret(10, 0, &[pass_release(d)]).unwrap_err(), Errno::EMFILE);
    assert!(
        w.sys.lookup(&w.caps, 1, d).is_ok(),
        "nothing moved, nothing released"
    );
    w.close(2, c).unwrap();
    let out = w.ret(10, 0, &[pass_release(d)]).unwrap();
    assert_eq!(delivered(&out).descs.len(), 1);
    assert_eq!(w.sys.lookup(&w.caps, 1, d), Err(Errno::EBADF));
}

#[test]
fn passing_a_door_back_with_release_does_not_fire_unref() {
    let mut w = setup();
    let u = w.create(1, 0, DOOR_UNREF_MULTI);
    let extra = w.dup(1, u).unwrap();
    let p = w.arg(20, 0, &[], 64);
    w.call(20, 0, Some(p)).unwrap();
    let out = w.ret(11, 0, &[pass_release(extra)]).unwrap();
    assert_eq!(delivered(&out).descs.len(), 1);
    assert_eq!(w.refs(1, u), 2);
    assert!(w.events().is_empty(), "the count never dropped to one");
}

#[test]
fn first_park_ignores_return_arguments() {
    let mut w = World::new();
    w.process(1, &[10]);
    let d = w.create(1, 0, 0);
    let out = w.ret(10, 1 << 20, &[pass_release(d)]).unwrap();
    assert_eq!((out.reply, out.next), (None, Next::Park));
    assert_eq!(
        w.sys.lookup(&w.caps, 1, d),
        Err(Errno::EBADF),
        "discarded results release their descriptors"
    );
}

#[test]
fn a_blocked_thread_cannot_make_door_calls() {
    let mut w = setup();
    w.call_handoff(20, 0);
    assert_eq!(w.call(20, 0, None), Err(Errno::EINVAL), "blocked in a call");
    assert_eq!(w.call(10, 0, None), Err(Errno::EINVAL), "parked");
    assert_eq!(w.ret(20, 0, &[]).unwrap_err(), Errno::EINVAL);
    assert_eq!(w.call(99, 0, None), Err(Errno::ESRCH));
}

#[test]
fn ucred_cred_and_query_name_the_immediate_caller_and_served_door() {
    let mut w = setup();
    w.call_handoff(20, 0);
    let u = w.door_ucred(11).unwrap();
    assert_eq!((u.uc_pid, u.uc_euid, u.uc_egid), (2, 2, 102));
    let c = w.door_cred(11).unwrap();
    assert_eq!((c.dc_pid, c.dc_ruid, c.dc_rgid), (2, 2, 102));
    let q = w.door_info(11, DOOR_QUERY).unwrap();
    assert_eq!({ q.di_uniquifier }, w.door_of(1, 0));
    assert_eq!({ q.di_attributes } & DOOR_LOCAL, DOOR_LOCAL);
}

#[test]
fn nested_calls_report_the_immediate_caller_and_unwind_in_order() {
    let mut w = setup();
    w.process(3, &[30]);
    let d3 = w.create(3, 3, 0);
    w.fattach(3, d3, b"/d3").unwrap();
    let d3_in_1 = w.open(1, b"/d3").unwrap();
    w.park(30);
    w.call_handoff(20, 0);
    let up = w.call_handoff(11, d3_in_1);
    assert_eq!(up.server, 30);
    assert_eq!(
        w.door_ucred(30).unwrap().uc_pid,
        1,
        "immediate caller, not the chain's origin"
    );
    assert_eq!(
        w.door_ucred(11).unwrap().uc_pid,
        2,
        "the middle thread still serves process 2"
    );
    assert_eq!(w.ret(30, 0, &[]).unwrap().reply.unwrap().caller, 11);
    assert_eq!(w.ret(11, 0, &[]).unwrap().reply.unwrap().caller, 20);
    assert_eq!(w.sys.stats().invocations, 0);
}

#[test]
fn calling_a_door_of_the_same_process_works() {
    let mut w = World::new();
    w.process(1, &[10, 11]);
    let d = w.create(1, 0, 0);
    w.park(10);
    let up = w.call_handoff(11, d);
    assert_eq!(up.server, 10);
    assert_eq!(up.depleted, Some(Depleted::Shared));
    let out = w.ret(10, 0, &[pass(d)]).unwrap();
    assert_eq!(out.reply.unwrap().caller, 11);
    assert_eq!(w.refs(1, d), 2);
}

#[test]
fn a_waiting_call_that_does_not_fit_the_parking_thread_fails_with_e2big() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(1, 0, 0);
    w.fattach(1, d, b"/d").unwrap();
    let c = w.open(2, b"/d").unwrap();
    let p = w.arg(20, 1 << 20, &[], 0);
    assert_eq!(w.call(20, c, Some(p)), Ok(CallOutcome::Wait));
    w.park(10);
    assert_eq!(
        w.events(),
        [Event::CallFailed {
            caller: 20,
            errno: Errno::E2BIG
        }]
    );
    assert_eq!(w.sys.stats().waiting, 0);
    assert_eq!(w.sys.threads[&20].call, None);
}

#[test]
fn a_waiting_call_whose_descriptors_no_longer_fit_fails_with_emfile() {
    let mut w = World::with(Config::default(), 2);
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(1, 0, 0);
    w.fattach(1, d, b"/d").unwrap();
    let c = w.open(2, b"/d").unwrap();
    let p = w.arg(20, 0, &[pass(c)], 0);
    assert_eq!(w.call(20, c, Some(p)), Ok(CallOutcome::Wait));
    w.dup(1, d).unwrap();
    w.park(10);
    assert_eq!(
        w.events(),
        [Event::CallFailed {
            caller: 20,
            errno: Errno::EMFILE
        }]
    );
    assert_eq!(
        w.refs(2, c),
        4,
        "door + attachment + two descriptors; in-flight one dropped"
    );
}

#[test]
fn a_result_buffer_unmapped_during_the_call_fails_the_caller_with_efault() {
    let mut w = setup();
    let mine = w.create(1, 0, 0);
    let p = w.arg(20, 0, &[], 64);
    w.call(20, 0, Some(p)).unwrap();
    w.mem.holes.push((p.arg.rbuf, p.arg.rbuf + 64));
    let out = w.ret(11, 8, &[pass_release(mine)]).unwrap();
    assert_eq!(out.reply.unwrap().result, Err(Errno::EFAULT));
    assert_eq!(out.next, Next::Park);
    assert_eq!(w.sys.lookup(&w.caps, 1, mine), Err(Errno::EBADF));
    assert_eq!(
        w.caps.tables[&2].iter().flatten().count(),
        1,
        "nothing delivered"
    );
}

#[test]
fn a_malformed_entry_releases_nothing_it_names() {
    let mut w = setup();
    let named = w.dup(2, 0).unwrap();
    for bad in [
        DoorDesc::new(named, DOOR_RELEASE),
        DoorDesc::new(named, DOOR_DESCRIPTOR | DOOR_RELEASE | 0x1),
    ] {
        let good = w.dup(2, 0).unwrap();
        let p = w.arg(20, 0, &[pass_release(good), bad], 0);
        assert_eq!(w.call(20, 0, Some(p)), Err(Errno::EINVAL), "{bad:?}");
        assert_eq!(
            w.sys.lookup(&w.caps, 2, good),
            Err(Errno::EBADF),
            "a well-formed released entry is closed"
        );
        assert!(
            w.sys.lookup(&w.caps, 2, named).is_ok(),
            "{bad:?} passes nothing, so it closes nothing"
        );
    }
}

#[test]
fn descriptors_of_any_kind_pass_both_ways_naming_the_same_object() {
    let mut w = setup();
    let file = w.token(2);
    let p = w.arg(20, 0, &[pass(file)], 4096);
    let CallOutcome::Handoff(up) = w.call(20, 0, Some(p)).unwrap() else {
        panic!("expected a handoff")
    };
    let got = up.descs[0];
    assert_eq!(({ got.d_attributes }, { got.d_id }), (DOOR_DESCRIPTOR, 0));
    let at_server = got.d_descriptor;
    assert_eq!(w.caps.get(1, at_server), w.caps.get(2, file));
    assert_eq!(w.token_refs(2, file), 2);
    let out = w.ret(up.server, 0, &[pass_release(at_server)]).unwrap();
    let back = delivered(&out).descs[0];
    assert_eq!(({ back.d_attributes }, { back.d_id }), (DOOR_DESCRIPTOR, 0));
    assert_eq!(w.caps.get(2, back.d_descriptor), w.caps.get(2, file));
    assert_eq!(w.caps.get(1, at_server), None, "released by the server");
    assert_eq!(w.token_refs(2, file), 2, "the caller's two descriptors");
    w.close(2, back.d_descriptor).unwrap();
    w.close(2, file).unwrap();
    assert!(
        w.caps.tokens.is_empty(),
        "the object is gone with its last descriptor"
    );
}

#[test]
fn a_waiting_call_whose_arguments_were_unmapped_fails_with_efault_delivering_nothing() {
    let mut w = World::new();
    w.process(1, &[10]);
    w.process(2, &[20]);
    let d = w.create(1, 0, 0);
    let fd = w.give(1, 2, d);
    let file = w.token(2);
    let p = w.arg(20, 100, &[pass_release(file)], 64);
    assert_eq!(w.call(20, fd, Some(p)), Ok(CallOutcome::Wait));
    // Another thread of the caller unmaps the argument bytes meanwhile.
    w.mem.holes.push((0x4000_0000, 0x4000_1000));
    let out = w.ret(10, 0, &[]).unwrap();
    assert_eq!(out.next, Next::Park, "the server thread parks instead");
    assert_eq!(
        w.events(),
        [Event::CallFailed {
            caller: 20,
            errno: Errno::EFAULT
        }]
    );
    assert_eq!(w.caps.count(), 2, "nothing installed in the server");
    assert!(
        w.caps.tokens.is_empty(),
        "the passed object went with the call"
    );
    assert_eq!(w.sys.stats().invocations, 0);
}

#[test]
fn unmapping_an_idle_threads_area_takes_it_out_of_its_pool() {
    let mut w = setup();
    let area = stack(11);
    w.sys.unmapped(1, area.base + 0x100, 0x10);
    assert_eq!(
        w.events(),
        [Event::ParkFailed {
            tid: 11,
            errno: Errno::EFAULT
        }]
    );
    assert!(w.sys.running_thread(11).is_ok(), "its door_return fails");
    w.sys.unmapped(1, 0, 0x1000);
    w.sys.unmapped(2, area.base, area.size);
    assert!(w.events().is_empty(), "no other area was touched");
    assert_eq!(w.call_handoff(20, 0).server, 10);
}
