//! A [`Timeline`] as Chrome trace-event JSON, which chrome://tracing and
//! Perfetto (ui.perfetto.dev, "Open trace file") read: a process per
//! kernel process and a thread per thread (named by metadata events), a
//! complete event (`X`) per slice, a flow (`s` and `f`, bound to the
//! slices they leave and reach) per door call and return, and instant
//! events (`i`) for the marks.
//!
//! Times: one time-stamp tick shows as one nanosecond (`ts` counts
//! microseconds, `displayTimeUnit` is `ns`). Under `--icount` a tick is a
//! guest instruction, which is also how QEMU's virtual clock advances.

use serde_json::{Value, json};

use super::{Activity, Timeline};

/// A time on the axis: microseconds (ticks / 1000) since the start.
fn us(timeline: &Timeline, ticks: u64) -> f64 {
    (ticks - timeline.start) as f64 / 1000.0
}

/// The category of a slice (Perfetto colours slices by name).
fn category(what: &Activity) -> &'static str {
    match what {
        Activity::Run => "cpu",
        Activity::Serve { .. } => "cpu,door",
        Activity::Call { .. } | Activity::Wait | Activity::Idle => "door",
    }
}

/// The timeline as a trace-event document; `title` names the run.
pub fn chrome(timeline: &Timeline, title: &str) -> Value {
    let mut events = Vec::new();
    for p in &timeline.processes {
        events.push(json!({
            "ph": "M", "name": "process_name", "pid": p.pid, "tid": 0,
            "args": { "name": format!("{} (pid {})", p.name, p.pid) },
        }));
        events.push(json!({
            "ph": "M", "name": "process_sort_index", "pid": p.pid, "tid": 0,
            "args": { "sort_index": p.pid },
        }));
        for &tid in &p.threads {
            let name = match p.pid {
                0 => format!("idle thread {tid}"),
                _ => format!("thread {tid}"),
            };
            events.push(json!({
                "ph": "M", "name": "thread_name", "pid": p.pid, "tid": tid,
                "args": { "name": name },
            }));
        }
    }
    for s in &timeline.slices {
        let mut args = json!({ "instructions": s.end - s.start, "on_cpu": s.running });
        match s.what {
            Activity::Serve {
                caller: Some(caller),
                ..
            } => args["caller"] = json!(caller),
            Activity::Call { server } => args["server"] = json!(server),
            _ => {}
        }
        let name = match (timeline.pid_of(s.tid), s.what) {
            (0, Activity::Run) => "idle".to_owned(),
            (_, what) => what.label(),
        };
        events.push(json!({
            "ph": "X", "name": name, "cat": category(&s.what),
            "pid": timeline.pid_of(s.tid), "tid": s.tid,
            "ts": us(timeline, s.start), "dur": (s.end - s.start) as f64 / 1000.0,
            "args": args,
        }));
    }
    for (id, f) in timeline.flows.iter().enumerate() {
        let name = if f.call { "door_call" } else { "door_return" };
        let args = json!({ "handoff": f.handoff });
        for (ph, (tid, ts)) in [("s", f.from), ("f", f.to)] {
            let mut event = json!({
                "ph": ph, "id": id, "name": name, "cat": "door",
                "pid": timeline.pid_of(tid), "tid": tid, "ts": us(timeline, ts),
                "args": args,
            });
            if ph == "f" {
                event["bp"] = json!("e");
            }
            events.push(event);
        }
    }
    for m in &timeline.marks {
        events.push(json!({
            "ph": "i", "s": "t", "name": m.what, "cat": "event",
            "pid": timeline.pid_of(m.tid), "tid": m.tid, "ts": us(timeline, m.ts),
        }));
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "title": title,
            "time": "1 ns on the axis = 1 time-stamp tick (a guest instruction under --icount)",
            "start_tsc": timeline.start,
            "end_tsc": timeline.end,
            "lost_records": timeline.lost,
        },
    })
}
