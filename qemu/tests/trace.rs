//! Kernel tracing under QEMU: `userland/src/bin/trace_calls.rs` (a parent
//! door server, a child making four calls) booted with tracing on; the
//! test reads the records init prints and checks the events, their order
//! and counts, the timeline's arrows, and the files `--trace` writes (JSON
//! that parses, well-formed SVG). A second boot with a tiny ring checks
//! that the oldest records give way, a third that a boot ending in a
//! deadlock still prints its trace (from the kernel).

use abi::Sys;
use abi::trace::{INVOKE_UNREF, Kind, Record};
use qemu::plan::TraceOptions;
use qemu::trace::{Timeline, Trace};
use qemu::{Run, test_run};

const CALLS: usize = 4;

fn kind(r: &Record) -> Kind {
    Kind::try_from(r.kind).expect("a known kind")
}

/// The records of a traced boot of `trace_calls`.
fn traced(options: TraceOptions) -> (Trace, String) {
    let report = test_run(Run::new(&["trace_calls"]).traced(options));
    report
        .expect_success()
        .assert_line("trace_calls: only init may trace")
        .assert_line(&format!(
            "trace_calls: child made {CALLS} calls, exited with 0"
        ));
    let trace = Trace::from_log(&report.serial)
        .expect("a trace dump")
        .expect("a whole trace dump");
    (trace, report.serial.clone())
}

/// Pid of the process called `trace_calls` whose parent is `parent`.
fn spawned(trace: &Trace, parent: u32) -> u32 {
    let spawns: Vec<&Record> = trace
        .records
        .iter()
        .filter(|r| kind(r) == Kind::Spawn && r.b == u64::from(parent))
        .collect();
    assert_eq!(spawns.len(), 1, "one child of process {parent}");
    spawns[0].a as u32
}

/// The threads created in process `pid`.
fn threads_of(trace: &Trace, pid: u32) -> Vec<u32> {
    trace
        .records
        .iter()
        .filter(|r| kind(r) == Kind::ThreadCreate && r.b == u64::from(pid))
        .map(|r| r.a as u32)
        .collect()
}

#[test]
fn trace_of_door_calls() {
    let (trace, _) = traced(TraceOptions {
        syscalls: true,
        records: None,
    });
    assert_eq!(trace.lost, 0);
    let server = spawned(&trace, 1);
    let client = spawned(&trace, server);
    let client_threads = threads_of(&trace, client);
    assert_eq!(
        client_threads.len(),
        1,
        "the child has its main thread only"
    );
    let caller = client_threads[0];
    let servers = threads_of(&trace, server);

    // The first door of the process: door_create says the
    // door_server_create procedure runs.
    let creates: Vec<&Record> = trace
        .records
        .iter()
        .filter(|r| kind(r) == Kind::DoorCreate)
        .collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].b, 1);

    // Each call: call (or wait) by the caller, the invocation on one of
    // the parent's threads, that thread's return to the caller; in order,
    // one call at a time.
    let door_events: Vec<&Record> = trace
        .records
        .iter()
        .filter(|r| match kind(r) {
            Kind::DoorCall | Kind::DoorWait => r.tid == caller,
            Kind::Invoke => (r.b as u32) == caller,
            Kind::DoorReturn => r.a == u64::from(caller),
            _ => false,
        })
        .collect();
    assert_eq!(door_events.len(), 3 * CALLS, "{door_events:#?}");
    for leg in door_events.chunks(3) {
        let [call, invoke, ret] = leg else {
            unreachable!()
        };
        assert!(matches!(kind(call), Kind::DoorCall | Kind::DoorWait));
        assert_eq!(kind(invoke), Kind::Invoke);
        assert_eq!(invoke.b >> 32 & INVOKE_UNREF, 0, "a call, not an unref");
        let served_by = invoke.a as u32;
        assert!(
            servers.contains(&served_by),
            "served by a thread of the server"
        );
        if kind(call) == Kind::DoorCall {
            assert_eq!(call.a, invoke.a, "the call names its server thread");
        }
        assert_eq!(kind(ret), Kind::DoorReturn);
        assert_eq!(ret.tid, served_by, "the server thread returns");
        assert!(call.ts <= invoke.ts && invoke.ts <= ret.ts);
    }
    // System calls: the caller's door_call system calls, one per call.
    let door_calls = trace
        .records
        .iter()
        .filter(|r| kind(r) == Kind::Syscall && r.tid == caller)
        .filter(|r| r.a == Sys::DoorCall.number() as u64)
        .count();
    assert_eq!(door_calls, CALLS);
    // Then the revoke, and both processes end with status 0.
    let revoke = trace.records.iter().position(|r| kind(r) == Kind::Revoke);
    let last_return = trace
        .records
        .iter()
        .rposition(|r| kind(r) == Kind::DoorReturn && r.a == u64::from(caller));
    assert!(revoke > last_return, "revoked after the last call");
    for pid in [client, server] {
        assert!(
            trace
                .records
                .iter()
                .any(|r| kind(r) == Kind::ProcessExit && r.a == u64::from(pid) && r.b == 0),
            "process {pid} exits with 0"
        );
    }

    // The timeline: both processes named, an arrow into the server per
    // call and one back per return.
    let timeline = Timeline::new(&trace);
    let named: Vec<&str> = timeline
        .processes
        .iter()
        .filter(|p| [server, client].contains(&p.pid))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(named, ["trace_calls", "trace_calls"]);
    let calls = timeline
        .flows
        .iter()
        .filter(|f| f.call && f.from.0 == caller)
        .count();
    let returns = timeline
        .flows
        .iter()
        .filter(|f| !f.call && f.to.0 == caller)
        .count();
    assert_eq!((calls, returns), (CALLS, CALLS));
}

#[test]
fn trace_files_and_a_full_ring() {
    let (trace, serial) = traced(TraceOptions {
        syscalls: false,
        records: Some(32),
    });
    assert_eq!(trace.records.len(), 32, "the ring holds 32");
    assert!(trace.lost > 0, "older records gave way");
    assert!(
        trace.records.windows(2).all(|w| w[0].ts <= w[1].ts),
        "oldest first"
    );
    assert!(trace.records.iter().all(|r| kind(r) != Kind::Syscall));

    let dir = std::env::temp_dir().join(format!("qemu-trace-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, svg, timeline) = qemu::trace::write(&serial, &dir.join("t"), "trace_calls").unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("JSON parses");
    let events = doc["traceEvents"].as_array().expect("trace events");
    assert!(events.iter().any(|e| e["ph"] == "X"));
    assert_eq!(doc["otherData"]["lost_records"], trace.lost);
    let text = std::fs::read_to_string(&svg).unwrap();
    let picture = roxmltree::Document::parse(&text).expect("well-formed SVG");
    assert_eq!(picture.root_element().tag_name().name(), "svg");
    assert!(!timeline.processes.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_deadlocked_boot_still_gives_its_trace() {
    // `outcome block`: its only threads wait for a door call nobody makes;
    // init never gets to print the trace, so the kernel does.
    let report = test_run(Run::new(&["outcome", "block"]).traced(TraceOptions::default()));
    report.expect_outcome(qemu::Outcome::Deadlock);
    let trace = Trace::from_log(&report.serial)
        .expect("a trace dump")
        .expect("a whole trace dump");
    let parked = trace
        .records
        .iter()
        .filter(|r| kind(r) == Kind::DoorReturn && r.a == 0)
        .count();
    assert!(
        parked >= 1,
        "a thread parked in its pool: {:#?}",
        trace.records
    );
    let timeline = Timeline::new(&trace);
    assert!(timeline.processes.iter().any(|p| p.name == "outcome"));
}
