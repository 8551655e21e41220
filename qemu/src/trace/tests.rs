//! Host tests of trace reading, the replay into a timeline, and both
//! writers (JSON that parses with the fields Chrome's format needs, SVG
//! that is well-formed XML with a lane per thread and an arrow per flow).

use super::*;
use abi::trace::{INVOKE_DEPLETED, INVOKE_UNREF};
use serde_json::Value;

fn rec(ts: u64, kind: Kind, tid: u32, a: u64, b: u64) -> Record {
    Record {
        ts,
        kind: kind as u32,
        tid,
        a,
        b,
    }
}

/// The dump init would print for `records`.
fn dump(records: &[Record], lost: u64) -> String {
    let mut text = format!(
        "boot\n{LINE}{BEGIN} records={} lost={lost}\n",
        records.len()
    );
    for r in records {
        let kind = Kind::try_from(r.kind).unwrap().name();
        text += &format!("{LINE}{:x} {kind} {} {:x} {:x}\n", r.ts, r.tid, r.a, r.b);
    }
    text + &format!("{LINE}{END}\nafter\n")
}

/// A null round trip by caller 10 (process 2) to server 20 (process 3),
/// which parks first; both legs handed straight over.
fn round_trip() -> Vec<Record> {
    vec![
        rec(10, Kind::DoorReturn, 20, 0, 0),
        rec(20, Kind::Switch, 20, 10, 2),
        rec(30, Kind::DoorCall, 10, 20, 0x40_1000),
        rec(31, Kind::Invoke, 10, 20, 10),
        rec(32, Kind::Handoff, 10, 20, 0),
        rec(33, Kind::Switch, 10, 20, 3),
        rec(50, Kind::DoorReturn, 20, 10, 0),
        rec(51, Kind::Handoff, 20, 10, 0),
        rec(52, Kind::Switch, 20, 10, 2),
        rec(70, Kind::ThreadExit, 10, 10, 2),
    ]
}

fn slice(tid: u32, start: u64, end: u64, what: Activity, running: bool) -> Slice {
    Slice {
        tid,
        start,
        end,
        what,
        running,
    }
}

#[test]
fn reads_the_dump_init_prints() {
    let records = round_trip();
    let trace = Trace::from_log(&dump(&records, 3)).unwrap().unwrap();
    assert_eq!(trace, Trace { records, lost: 3 });
    assert_eq!(Trace::from_log("no trace here\n"), None);
}

#[test]
fn refuses_damaged_dumps() {
    let text = dump(&round_trip(), 0);
    let cut = &text[..text.find("TRACE end").unwrap()];
    assert!(Trace::from_log(cut).unwrap().is_err(), "no end line");
    let short = text.replacen("records=10", "records=11", 1);
    assert!(Trace::from_log(&short).unwrap().is_err(), "count");
    let bad = text.replacen(" call ", " shout ", 1);
    assert!(Trace::from_log(&bad).unwrap().is_err(), "kind");
    let bad = text.replacen("TRACE 1e ", "TRACE zz ", 1);
    assert!(Trace::from_log(&bad).unwrap().is_err(), "time");
}

#[test]
fn a_round_trip_becomes_slices_and_two_arrows() {
    let t = Timeline::new(&Trace {
        records: round_trip(),
        lost: 0,
    });
    assert_eq!((t.start, t.end), (10, 70));
    let serve = Activity::Serve {
        caller: Some(10),
        create_proc: false,
    };
    assert_eq!(
        t.slices,
        [
            slice(20, 10, 20, Activity::Run, true),
            slice(20, 20, 31, Activity::Idle, false),
            slice(10, 20, 33, Activity::Run, true),
            slice(20, 31, 33, serve, false),
            slice(20, 33, 50, serve, true),
            slice(10, 33, 50, Activity::Call { server: 20 }, false),
            slice(20, 50, 52, Activity::Run, true),
            slice(10, 52, 70, Activity::Run, true),
            slice(20, 52, 70, Activity::Idle, false),
        ]
    );
    assert_eq!(
        t.flows,
        [
            Flow {
                call: true,
                from: (10, 30),
                to: (20, 33),
                handoff: true
            },
            Flow {
                call: false,
                from: (20, 50),
                to: (10, 52),
                handoff: true
            },
        ]
    );
    let pids: Vec<(u32, &[u32])> = t
        .processes
        .iter()
        .map(|p| (p.pid, p.threads.as_slice()))
        .collect();
    assert_eq!(pids, [(2, &[10][..]), (3, &[20][..])]);
    assert_eq!(t.marks.len(), 1, "the thread exit");
}

#[test]
fn a_call_that_waits_is_served_by_a_returning_thread() {
    // Caller 10 waits; server 20, serving caller 30, takes it at its
    // return (the Invoke comes first), then runs it after caller 30.
    let serve = |caller| caller | INVOKE_DEPLETED << 32;
    let records = vec![
        rec(0, Kind::Switch, 0, 30, 2),
        rec(5, Kind::DoorCall, 30, 20, 0),
        rec(6, Kind::Invoke, 30, 20, 30),
        rec(7, Kind::Switch, 30, 20, 3),
        rec(8, Kind::Switch, 20, 10, 2),
        rec(9, Kind::DoorWait, 10, 0, 0),
        rec(10, Kind::Switch, 10, 20, 3),
        rec(20, Kind::Invoke, 20, 20, serve(10)),
        rec(21, Kind::DoorReturn, 20, 30, 0),
        rec(22, Kind::Switch, 20, 30, 2),
        rec(40, Kind::Switch, 30, 20, 3),
        rec(50, Kind::DoorReturn, 20, 10, 0),
        rec(60, Kind::Switch, 20, 10, 2),
    ];
    let t = Timeline::new(&Trace { records, lost: 0 });
    let of = |tid: u32| -> Vec<(u64, u64, Activity, bool)> {
        t.slices
            .iter()
            .filter(|s| s.tid == tid)
            .map(|s| (s.start, s.end, s.what, s.running))
            .collect()
    };
    assert_eq!(
        of(10),
        [
            (8, 10, Activity::Run, true),
            (10, 20, Activity::Wait, false),
            (20, 50, Activity::Call { server: 20 }, false),
        ]
    );
    let first = Activity::Serve {
        caller: Some(30),
        create_proc: false,
    };
    let second = Activity::Serve {
        caller: Some(10),
        create_proc: true,
    };
    assert_eq!(
        of(20),
        [
            (6, 7, first, false),
            (7, 8, first, true),
            (8, 10, first, false),
            (10, 21, first, true),
            (21, 22, second, true),
            (22, 40, second, false),
            (40, 50, second, true),
            (50, 60, Activity::Run, true),
        ]
    );
    let flow = |call, from, to| Flow {
        call,
        from,
        to,
        handoff: false,
    };
    assert_eq!(
        t.flows,
        [
            flow(true, (30, 5), (20, 7)),
            flow(false, (20, 21), (30, 22)),
            flow(true, (10, 9), (20, 40)),
            flow(false, (20, 50), (10, 60)),
        ]
    );
}

#[test]
fn names_processes_and_marks_events() {
    let name = u64::from_le_bytes(*b"door_ser");
    let rest = u64::from_le_bytes(*b"ver\0\0\0\0\0");
    let records = vec![
        rec(1, Kind::Spawn, 2, 7, 1),
        rec(1, Kind::Name, 2, name, rest),
        rec(1, Kind::Name, 2, 0, 0),
        rec(2, Kind::ThreadCreate, 2, 8, 7),
        rec(3, Kind::Switch, 2, 8, 7),
        rec(4, Kind::DoorCreate, 8, 3, 1),
        rec(5, Kind::Invoke, 8, 9, INVOKE_UNREF << 32),
        rec(6, Kind::Revoke, 8, 3, 0),
        rec(7, Kind::Syscall, 8, abi::Sys::GetPid.number() as u64, 0),
        rec(
            8,
            Kind::CallFailed,
            8,
            8,
            u64::from(abi::Errno::EBADF.code()),
        ),
        rec(9, Kind::ProcessExit, 8, 7, 3),
    ];
    let t = Timeline::new(&Trace { records, lost: 0 });
    let names: Vec<(u32, &str)> = t
        .processes
        .iter()
        .map(|p| (p.pid, p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [(7, "door_server"), (UNKNOWN_PID, "process unknown")]
    );
    let marks: Vec<&str> = t.marks.iter().map(|m| m.what.as_str()).collect();
    for want in [
        "spawn: process 7",
        "thread created",
        "door_create: descriptor 3, door_server_create runs",
        "unreferenced invocation",
        "door_revoke: descriptor 3",
        "GetPid",
        "door_call failed: EBADF",
        "process exit, status 3",
    ] {
        assert!(marks.contains(&want), "{want} in {marks:?}");
    }
}

/// The processes, slices and flows of a JSON document, checked for what
/// Chrome's format requires of each event.
fn check_json(doc: &Value) -> (usize, usize, usize) {
    assert_eq!(doc["displayTimeUnit"], "ns");
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    let (mut processes, mut slices) = (0, 0);
    let mut flows = std::collections::BTreeMap::new();
    for e in events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(e["pid"].is_u64() && e["name"].is_string(), "{e}");
        if ph != "M" {
            assert!(
                e["tid"].is_u64() && e["ts"].as_f64().is_some_and(|t| t >= 0.0),
                "{e}"
            );
        }
        match ph {
            "M" if e["name"] == "process_name" => processes += 1,
            "M" => assert!(e["args"].is_object()),
            "X" => {
                assert!(e["dur"].as_f64().is_some_and(|d| d >= 0.0), "{e}");
                slices += 1;
            }
            "s" | "f" => *flows.entry(e["id"].as_u64().expect("id")).or_insert(0) += 1,
            "i" => assert_eq!(e["s"], "t"),
            other => panic!("event type {other}"),
        }
    }
    assert!(flows.values().all(|&n| n == 2), "each flow starts and ends");
    (processes, slices, flows.len())
}

#[test]
fn json_has_what_chrome_and_perfetto_read() {
    let t = Timeline::new(&Trace {
        records: round_trip(),
        lost: 0,
    });
    let text = serde_json::to_string(&json::chrome(&t, "a & b")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(check_json(&doc), (2, t.slices.len(), 2));
    assert_eq!(doc["otherData"]["title"], "a & b");
    let call = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ph"] == "s" && e["name"] == "door_call")
        .unwrap();
    assert_eq!(
        (call["tid"].as_u64(), call["ts"].as_f64()),
        (Some(10), Some(0.02))
    );
}

#[test]
fn svg_is_well_formed_with_a_lane_per_thread_and_an_arrow_per_flow() {
    let t = Timeline::new(&Trace {
        records: round_trip(),
        lost: 2,
    });
    let text = svg::picture(&t, "calls <& returns>");
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let texts: Vec<String> = root
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect();
    assert!(texts.contains(&"thread 10".to_owned()) && texts.contains(&"thread 20".to_owned()));
    assert!(texts.contains(&"calls <& returns>".to_owned()));
    assert!(texts.iter().any(|t| t.contains("2 oldest records lost")));
    let arrows = root
        .descendants()
        .filter(|n| n.has_tag_name("line") && n.attribute("marker-end").is_some())
        .count();
    assert_eq!(arrows, t.flows.len() + 2, "the flows and the legend's two");
    let bars = root
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.children().any(|c| c.has_tag_name("title")))
        .count();
    assert_eq!(bars, t.slices.len() + t.marks.len());
}

#[test]
fn long_idle_stretches_are_squeezed() {
    // Thread 10 runs briefly, the idle thread (process 0) for a long
    // time, then thread 10 again: the idle stretch takes a fixed width.
    let records = vec![
        rec(0, Kind::Switch, 10, 10, 2),
        rec(100, Kind::Switch, 10, 3, 0),
        rec(1_000_000, Kind::Switch, 3, 10, 2),
        rec(1_000_100, Kind::ThreadExit, 10, 10, 2),
    ];
    let t = Timeline::new(&Trace { records, lost: 0 });
    let text = svg::picture(&t, "idle");
    let doc = roxmltree::Document::parse(&text).unwrap();
    let gaps: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("stroke-dasharray").is_some())
        .collect();
    assert_eq!(gaps.len(), 1, "one squeezed stretch");
    let runs: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#4e79a7"))
        .filter(|n| n.children().any(|c| c.has_tag_name("title")))
        .filter_map(|n| n.attribute("width")?.parse().ok())
        .collect();
    assert_eq!(runs.len(), 2, "thread 10 runs twice");
    assert!(
        runs.iter().all(|w| *w > 400.0),
        "each takes about half the axis: {runs:?}"
    );
}

#[test]
fn axis_labels_tell_ticks_apart() {
    assert_eq!(svg::short_label(950, 100), "950");
    assert_eq!(svg::short_label(12_500, 500), "12.5k");
    assert_eq!(svg::short_label(19_650_000, 50_000), "19.65M");
    assert_eq!(svg::short_label(20_000_000, 5_000_000), "20M");
}

#[test]
fn output_files_sit_beside_the_name_given() {
    let (j, s) = output_paths(Path::new("out/trace"));
    assert_eq!(
        (j.as_path(), s.as_path()),
        (Path::new("out/trace.json"), Path::new("out/trace.svg"))
    );
    let (j, s) = output_paths(Path::new("t.svg"));
    assert_eq!(
        (j.as_path(), s.as_path()),
        (Path::new("t.json"), Path::new("t.svg"))
    );
    let (j, _) = output_paths(Path::new("t.v1"));
    assert_eq!(j, Path::new("t.v1.json"));
}
