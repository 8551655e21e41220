//! A [`Timeline`] as an SVG picture: time runs left to right over the
//! whole trace; a lane per thread, grouped under a header per process;
//! what each thread does in colour (plain running, serving an invocation,
//! running the door_server_create procedure first, in a door call, waiting
//! for a server thread, idle in its pool), tall while it is on the CPU and
//! thin while it is not; door calls and
//! returns as arrows between lanes (solid for a direct handoff, dashed
//! through the run queue); marks as ticks. Every element has a `<title>`,
//! which viewers show on hover.

use std::fmt::Write;

use super::{Activity, Timeline};
use crate::output::xml_escape;

/// Width of the lane labels, of the time axis, and the margin after it.
const LABELS: f64 = 230.0;
const PLOT: f64 = 1180.0;
const RIGHT: f64 = 20.0;
/// Height of the title and axis, of a process header, of a lane.
const TOP: f64 = 52.0;
const HEADER: f64 = 18.0;
const LANE: f64 = 16.0;
/// Height of the legend.
const LEGEND: f64 = 64.0;

/// A slice's colour.
fn colour(what: &Activity, idle_thread: bool) -> &'static str {
    match what {
        Activity::Run if idle_thread => "#c8c8c8",
        Activity::Run => "#4e79a7",
        Activity::Serve { caller: None, .. } => "#b07aa1",
        Activity::Serve {
            create_proc: true, ..
        } => "#e15759",
        Activity::Serve { .. } => "#f28e2b",
        Activity::Call { .. } => "#8c8c8c",
        Activity::Wait => "#edc948",
        Activity::Idle => "#9fcf9f",
    }
}

/// A round step for axis ticks about `span / 8` apart.
fn tick_step(span: u64) -> u64 {
    let rough = (span / 8).max(1);
    let mut step = 1;
    while step * 10 <= rough {
        step *= 10;
    }
    [1, 2, 5, 10]
        .iter()
        .map(|m| m * step)
        .find(|s| *s >= rough)
        .unwrap_or(step * 10)
}

/// `n` instructions, shortly: 950, 12.5k, 3.2M.
fn short(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{}k", trim(n as f64 / 1e3)),
        _ => format!("{}M", trim(n as f64 / 1e6)),
    }
}

fn trim(x: f64) -> String {
    let text = format!("{x:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

/// The picture; `title` names the run.
pub fn picture(timeline: &Timeline, title: &str) -> String {
    let span = (timeline.end - timeline.start).max(1);
    let x = |ts: u64| LABELS + (ts - timeline.start) as f64 * PLOT / span as f64;
    // The y of each lane's middle, and of each process header.
    let mut lanes = Vec::new();
    let mut headers = Vec::new();
    let mut y = TOP;
    for p in &timeline.processes {
        headers.push((y, p));
        y += HEADER;
        for &tid in &p.threads {
            lanes.push((tid, y + LANE / 2.0, p.pid == 0));
            y += LANE;
        }
        y += 4.0;
    }
    let lane = |tid: u32| lanes.iter().find(|(t, ..)| *t == tid);
    let height = y + LEGEND;
    let width = LABELS + PLOT + RIGHT;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"##
    );
    let _ = writeln!(
        svg,
        r##"<defs><marker id="call" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#1f4e9c"/></marker><marker id="return" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#2e7d32"/></marker></defs>"##
    );
    let _ = writeln!(
        svg,
        r##"<rect width="{width}" height="{height}" fill="white"/><text x="8" y="16" font-size="13" font-weight="bold">{}</text>"##,
        xml_escape(title)
    );
    let lost = match timeline.lost {
        0 => String::new(),
        n => format!(", the {n} oldest records lost"),
    };
    let _ = writeln!(
        svg,
        r##"<text x="8" y="30" fill="#555">{} time-stamp ticks (guest instructions under --icount) from tick {}{lost}</text>"##,
        short(span),
        timeline.start
    );
    let step = tick_step(span);
    let mut tick = 0;
    while tick <= span {
        let tx = x(timeline.start + tick);
        let _ = writeln!(
            svg,
            r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{}" stroke="#eee"/><text x="{tx:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
            TOP - 6.0,
            y,
            TOP - 9.0,
            short(tick)
        );
        tick += step;
    }
    for (hy, p) in &headers {
        let _ = writeln!(
            svg,
            r##"<rect x="0" y="{hy}" width="{width}" height="{HEADER}" fill="#f3f3f3"/><text x="8" y="{}" font-weight="bold">{} (pid {})</text>"##,
            hy + 13.0,
            xml_escape(&p.name),
            p.pid
        );
    }
    for (tid, ly, idle) in &lanes {
        let what = if *idle { "idle thread" } else { "thread" };
        let _ = writeln!(
            svg,
            r##"<text x="20" y="{}">{what} {tid}</text>"##,
            ly + 4.0
        );
    }
    for s in &timeline.slices {
        let Some(&(_, ly, idle)) = lane(s.tid) else {
            continue;
        };
        let fill = colour(&s.what, idle);
        let h = if s.running { LANE - 4.0 } else { 5.0 };
        let (x0, x1) = (x(s.start), x(s.end));
        let label = match (idle, s.what) {
            (true, Activity::Run) => "idle".to_owned(),
            (_, what) => what.label(),
        };
        let _ = writeln!(
            svg,
            r##"<rect x="{x0:.2}" y="{:.1}" width="{:.2}" height="{h}" fill="{fill}"><title>thread {}: {} ({} instructions from {})</title></rect>"##,
            ly - h / 2.0,
            (x1 - x0).max(0.4),
            s.tid,
            xml_escape(&label),
            s.end - s.start,
            s.start - timeline.start
        );
    }
    for f in &timeline.flows {
        let (Some(&(_, y0, _)), Some(&(_, y1, _))) = (lane(f.from.0), lane(f.to.0)) else {
            continue;
        };
        let (kind, colour) = match f.call {
            true => ("call", "#1f4e9c"),
            false => ("return", "#2e7d32"),
        };
        let dash = if f.handoff {
            ""
        } else {
            r#" stroke-dasharray="3,2""#
        };
        let how = if f.handoff {
            "handed straight over"
        } else {
            "through the run queue"
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{:.2}" y1="{y0:.1}" x2="{:.2}" y2="{y1:.1}" stroke="{colour}" stroke-width="1"{dash} marker-end="url(#{kind})"><title>door {kind}: thread {} to thread {}, {how}</title></line>"##,
            x(f.from.1),
            x(f.to.1),
            f.from.0,
            f.to.0
        );
    }
    for m in &timeline.marks {
        let Some(&(_, ly, _)) = lane(m.tid) else {
            continue;
        };
        let _ = writeln!(
            svg,
            r##"<rect x="{:.2}" y="{:.1}" width="1" height="{LANE}" fill="black"><title>thread {}: {}</title></rect>"##,
            x(m.ts),
            ly - LANE / 2.0,
            m.tid,
            xml_escape(&m.what)
        );
    }
    legend(&mut svg, y + 14.0);
    svg.push_str("</svg>");
    svg
}

/// The key to the colours and arrows, from `y` down.
fn legend(svg: &mut String, y: f64) {
    let entries = [
        ("#4e79a7", "running"),
        ("#f28e2b", "serving an invocation"),
        ("#e15759", "door_server_create, then invocation"),
        ("#b07aa1", "unreferenced invocation"),
        ("#c8c8c8", "idle thread"),
        ("#8c8c8c", "in a door call"),
        ("#edc948", "waiting for a server thread"),
        ("#9fcf9f", "idle in its pool"),
    ];
    for (i, (fill, text)) in entries.iter().enumerate() {
        let (ex, ey) = (8.0 + (i % 4) as f64 * 300.0, y + (i / 4) as f64 * 16.0);
        let _ = writeln!(
            svg,
            r##"<rect x="{ex}" y="{ey}" width="14" height="10" fill="{fill}"/><text x="{}" y="{}">{text}</text>"##,
            ex + 18.0,
            ey + 9.0
        );
    }
    let ay = y + 40.0;
    let _ = writeln!(
        svg,
        r##"<line x1="8" y1="{ay}" x2="40" y2="{ay}" stroke="#1f4e9c" marker-end="url(#call)"/><text x="46" y="{}">door call reaching its server thread</text><line x1="308" y1="{ay}" x2="340" y2="{ay}" stroke="#2e7d32" marker-end="url(#return)"/><text x="346" y="{}">return reaching the caller (dashed: through the run queue; black ticks: events)</text>"##,
        ay + 4.0,
        ay + 4.0
    );
}
