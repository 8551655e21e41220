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
/// Width a squeezed idle stretch takes.
const GAP: f64 = 16.0;
/// The shortest idle stretch squeezed, as a part of the whole trace.
const GAP_SHARE: u64 = 20;

/// A stretch of the time axis: ticks `t0..=t1` drawn from `x0` to `x1`;
/// `gap` when it is an idle stretch squeezed to [`GAP`].
#[derive(Debug, Clone, Copy)]
struct Piece {
    t0: u64,
    t1: u64,
    x0: f64,
    x1: f64,
    gap: bool,
}

/// The time axis: linear, except that long stretches in which only the
/// idle thread runs and nothing happens are squeezed (a broken axis), so
/// that what happens around timer sleeps stays readable.
struct Axis {
    pieces: Vec<Piece>,
}

impl Axis {
    fn new(timeline: &Timeline) -> Axis {
        let (start, end) = (timeline.start, timeline.end.max(timeline.start + 1));
        // Moments something happens: threads other than the idle one on
        // the CPU, arrows, marks.
        let mut busy: Vec<(u64, u64)> = timeline
            .slices
            .iter()
            .filter(|s| s.running && timeline.pid_of(s.tid) != 0)
            .map(|s| (s.start, s.end))
            .chain(
                timeline
                    .flows
                    .iter()
                    .flat_map(|f| [(f.from.1, f.from.1), (f.to.1, f.to.1)]),
            )
            .chain(timeline.marks.iter().map(|m| (m.ts, m.ts)))
            .chain([(start, start), (end, end)])
            .collect();
        busy.sort_unstable();
        let shortest = ((end - start) / GAP_SHARE).max(1);
        let mut gaps = Vec::new();
        let mut reached = start;
        for (t0, t1) in busy {
            if t0 > reached + shortest {
                gaps.push((reached, t0));
            }
            reached = reached.max(t1);
        }
        let squeezed: u64 = gaps.iter().map(|(a, b)| b - a).sum();
        let live = ((end - start) - squeezed).max(1);
        let scale = (PLOT - GAP * gaps.len() as f64) / live as f64;
        let mut pieces = Vec::new();
        let (mut t, mut x) = (start, LABELS);
        for (g0, g1) in gaps.into_iter().chain([(end, end)]) {
            let x1 = x + (g0 - t) as f64 * scale;
            pieces.push(Piece {
                t0: t,
                t1: g0,
                x0: x,
                x1,
                gap: false,
            });
            if g1 > g0 {
                pieces.push(Piece {
                    t0: g0,
                    t1: g1,
                    x0: x1,
                    x1: x1 + GAP,
                    gap: true,
                });
            }
            (t, x) = (g1, x1 + if g1 > g0 { GAP } else { 0.0 });
        }
        Axis { pieces }
    }

    /// Where tick `ts` is drawn.
    fn x(&self, ts: u64) -> f64 {
        let i = self.pieces.partition_point(|p| p.t1 < ts);
        let Some(p) = self.pieces.get(i).or(self.pieces.last()) else {
            return LABELS;
        };
        let part = (ts.clamp(p.t0, p.t1) - p.t0) as f64 / (p.t1 - p.t0).max(1) as f64;
        p.x0 + part * (p.x1 - p.x0)
    }
}

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

/// `n` instructions, shortly (950, 12.5k, 3.25M), with the decimals that
/// tell apart numbers `step` apart.
pub(super) fn short_label(n: u64, step: u64) -> String {
    let (unit, suffix) = match n {
        0..1_000 => return n.to_string(),
        1_000..1_000_000 => (1_000, "k"),
        _ => (1_000_000, "M"),
    };
    let mut decimals = 0;
    while decimals < 3 && step * 10u64.pow(decimals) < unit {
        decimals += 1;
    }
    let text = format!("{:.*}", decimals as usize, n as f64 / unit as f64);
    let text = match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.'),
        false => &text,
    };
    format!("{text}{suffix}")
}

/// The picture; `title` names the run.
pub fn picture(timeline: &Timeline, title: &str) -> String {
    let span = (timeline.end - timeline.start).max(1);
    let axis = Axis::new(timeline);
    let x = |ts: u64| axis.x(ts);
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
        short_label(span, span / 100),
        timeline.start
    );
    let shown: u64 = axis
        .pieces
        .iter()
        .filter(|p| !p.gap)
        .map(|p| p.t1 - p.t0)
        .sum();
    let step = tick_step(shown.max(1));
    for p in &axis.pieces {
        if p.gap {
            let _ = writeln!(
                svg,
                r##"<rect x="{:.1}" y="{}" width="{GAP}" height="{}" fill="#f7f7f7" stroke="#ccc" stroke-dasharray="2,2"><title>{} ticks in which only the idle thread runs, squeezed</title></rect><text x="{:.1}" y="{}" text-anchor="middle" fill="#999">//</text>"##,
                p.x0,
                TOP - 6.0,
                y - TOP + 6.0,
                p.t1 - p.t0,
                p.x0 + GAP / 2.0,
                TOP - 9.0
            );
            continue;
        }
        let mut tick = (p.t0 - timeline.start).div_ceil(step) * step;
        while timeline.start + tick <= p.t1 {
            let tx = x(timeline.start + tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{}" stroke="#eee"/><text x="{tx:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
                TOP - 6.0,
                y,
                TOP - 9.0,
                short_label(tick, step)
            );
            tick += step;
        }
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
