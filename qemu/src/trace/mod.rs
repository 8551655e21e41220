//! Kernel traces (`cargo run -- --trace FILE`): the records init prints at
//! the end of a traced boot (`abi::trace`), read back from the serial log
//! ([`Trace::from_log`]) and turned into a [`Timeline`]: per thread, what it
//! was doing from when to when (running, serving an invocation, blocked in
//! a door call, waiting for a server thread, idle in its pool), the door
//! calls and returns as arrows between threads, and instant marks. The
//! writers render a timeline as Chrome trace-event JSON ([`json`], for
//! Perfetto and chrome://tracing) and as an SVG picture ([`svg`]).

pub mod json;
pub mod svg;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use abi::Sys;
use abi::trace::{BEGIN, END, INVOKE_DEPLETED, INVOKE_UNREF, Kind, LINE, Record};

use crate::Error;

/// The records of one traced boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Oldest first.
    pub records: Vec<Record>,
    /// Records the kernel's ring dropped (the oldest) when it was full.
    pub lost: u64,
}

/// Reads a number in `radix`, or says which field is wrong.
fn number(word: Option<&str>, radix: u32, what: &str) -> Result<u64, String> {
    word.and_then(|w| u64::from_str_radix(w, radix).ok())
        .ok_or_else(|| format!("bad {what} in a trace line"))
}

impl Trace {
    /// The trace dump in serial log `log`: `None` when it holds none,
    /// `Err` when the dump is damaged or cut short.
    pub fn from_log(log: &str) -> Option<Result<Trace, String>> {
        let mut lines = log.lines().filter_map(|l| l.strip_prefix(LINE));
        let header = lines.find(|l| l.starts_with(BEGIN))?;
        Some(Self::read(header, lines))
    }

    fn read<'a>(header: &str, lines: impl Iterator<Item = &'a str>) -> Result<Trace, String> {
        let field = |name: &str| {
            let word = header
                .split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.strip_prefix('='));
            number(word, 10, name)
        };
        let (held, lost) = (field("records")?, field("lost")?);
        let mut records = Vec::new();
        for line in lines {
            if line == END {
                if records.len() as u64 != held {
                    return Err(format!(
                        "the trace dump has {} records, its header says {held}",
                        records.len()
                    ));
                }
                return Ok(Trace { records, lost });
            }
            let mut w = line.split_whitespace();
            let ts = number(w.next(), 16, "time")?;
            let kind = w
                .next()
                .and_then(Kind::from_name)
                .ok_or("unknown event kind")?;
            let tid = number(w.next(), 10, "thread")?;
            let a = number(w.next(), 16, "value")?;
            let b = number(w.next(), 16, "value")?;
            records.push(Record {
                ts,
                kind: kind as u32,
                tid: u32::try_from(tid).map_err(|_| "bad thread in a trace line")?,
                a,
                b,
            });
        }
        Err("the trace dump ends early (the boot ended before it was printed)".into())
    }
}

/// What a thread is doing during a [`Slice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Running, outside any invocation.
    Run,
    /// Running an invocation for the call of thread `caller` (`None`: an
    /// unreferenced invocation); `create_proc` when it runs its process's
    /// door_server_create procedure first (it took the pool's last idle
    /// thread).
    Serve {
        caller: Option<u32>,
        create_proc: bool,
    },
    /// Blocked in a door call that server thread `server` serves.
    Call { server: u32 },
    /// Blocked in a door call that waits for a server thread.
    Wait,
    /// Parked in its pool, waiting for an invocation.
    Idle,
}

impl Activity {
    /// Its name in the pictures.
    pub fn label(&self) -> String {
        match self {
            Activity::Run => "run".into(),
            Activity::Serve { caller: None, .. } => "unreferenced invocation".into(),
            Activity::Serve {
                create_proc: true, ..
            } => "door_server_create, then invocation".into(),
            Activity::Serve { .. } => "invocation".into(),
            Activity::Call { server } => format!("door_call (served by thread {server})"),
            Activity::Wait => "door_call waiting for a server thread".into(),
            Activity::Idle => "idle in its pool".into(),
        }
    }
}

/// Thread `tid` doing `what` from `start` to `end` (time-stamp ticks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub tid: u32,
    pub start: u64,
    pub end: u64,
    pub what: Activity,
    /// On the CPU (an invocation's server may also block or wait its turn).
    pub running: bool,
}

/// An arrow: a door call reaching its server thread, or a return reaching
/// its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// A call (caller to server) or a return (server to caller).
    pub call: bool,
    /// `(thread, time)` it leaves and arrives.
    pub from: (u32, u64),
    pub to: (u32, u64),
    /// The CPU went straight from one to the other (no run queue).
    pub handoff: bool,
}

/// Something that happened at one moment on a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub tid: u32,
    pub ts: u64,
    pub what: String,
}

/// The process of threads no record placed (they did not run while traced).
pub const UNKNOWN_PID: u32 = u32::MAX;

/// A process and its threads, by thread id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub threads: Vec<u32>,
}

/// A trace as what each thread did when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Time-stamp ticks of the first and last record.
    pub start: u64,
    pub end: u64,
    /// By pid.
    pub processes: Vec<Process>,
    pub slices: Vec<Slice>,
    pub flows: Vec<Flow>,
    pub marks: Vec<Mark>,
    /// Records the kernel dropped before the first one here.
    pub lost: u64,
}

/// What the reading of a trace knows about a thread.
#[derive(Debug, Clone, Copy)]
struct ThreadState {
    /// Its process, once a record says.
    pid: Option<u32>,
    running: bool,
    /// When its current slice started.
    since: u64,
    activity: Activity,
    /// An invocation given to it while it still serves another.
    pending: Option<Activity>,
    /// When its door call started (for the call's arrow).
    called_at: Option<u64>,
    /// An arrow that ends where it next runs: `(call, from)`.
    arriving: Option<(bool, (u32, u64))>,
}

/// Builds a timeline by replaying the records.
struct Replay {
    timeline: Timeline,
    threads: BTreeMap<u32, ThreadState>,
    names: BTreeMap<u32, String>,
    running: u32,
    /// The next switch is a door handoff.
    handoff: bool,
    /// The process of the last spawn (for the name records after it).
    spawned: Option<(u32, Vec<u8>)>,
}

/// A system call's name, or its number.
fn syscall_name(number: u64) -> String {
    match Sys::try_from(number as usize) {
        Ok(call) => format!("{call:?}"),
        Err(()) => format!("system call {number:#x}"),
    }
}

impl Replay {
    fn thread(&mut self, tid: u32, pid: Option<u32>, ts: u64) -> &mut ThreadState {
        let t = self.threads.entry(tid).or_insert(ThreadState {
            pid,
            running: false,
            since: ts,
            activity: Activity::Run,
            pending: None,
            called_at: None,
            arriving: None,
        });
        t.pid = pid.or(t.pid);
        t
    }

    /// Ends the thread's current slice at `ts` (if it shows one) and starts
    /// the next one there.
    fn cut(&mut self, tid: u32, ts: u64) {
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        let shown = match (t.running, t.activity) {
            (true, Activity::Serve { .. }) => Some(t.activity),
            (true, _) => Some(Activity::Run),
            (false, Activity::Run) => None,
            (false, what) => Some(what),
        };
        if let Some(what) = shown.filter(|_| ts > t.since) {
            self.timeline.slices.push(Slice {
                tid,
                start: t.since,
                end: ts,
                what,
                running: t.running,
            });
        }
        t.since = ts;
    }

    fn mark(&mut self, tid: u32, ts: u64, what: String) {
        self.timeline.marks.push(Mark { tid, ts, what });
    }

    /// Thread `tid` gets on the CPU at `ts`: the arrow waiting for it
    /// arrives.
    fn arrive(&mut self, tid: u32, ts: u64) {
        let handoff = self.handoff;
        let t = self.thread(tid, None, ts);
        if let Some((call, from)) = t.arriving.take() {
            self.timeline.flows.push(Flow {
                call,
                from,
                to: (tid, ts),
                handoff,
            });
        }
    }

    fn record(&mut self, r: &Record) {
        let ts = r.ts;
        let Ok(kind) = Kind::try_from(r.kind) else {
            return;
        };
        let (a, b) = (r.a, r.b);
        let (a32, b32) = (a as u32, b as u32);
        self.thread(r.tid, None, ts);
        match kind {
            Kind::Switch => {
                let prev = self.running;
                self.cut(prev, ts);
                if let Some(t) = self.threads.get_mut(&prev) {
                    t.running = false;
                }
                self.thread(a32, Some(b32), ts);
                self.cut(a32, ts);
                self.threads.entry(a32).and_modify(|t| t.running = true);
                self.running = a32;
                self.arrive(a32, ts);
                self.handoff = false;
            }
            Kind::Handoff => self.handoff = true,
            Kind::Syscall => self.mark(r.tid, ts, syscall_name(a)),
            Kind::DoorCall | Kind::DoorWait => {
                let what = match kind {
                    Kind::DoorCall => Activity::Call { server: a32 },
                    _ => Activity::Wait,
                };
                let t = self.thread(r.tid, None, ts);
                t.activity = what;
                t.called_at = Some(ts);
            }
            Kind::Invoke => {
                let flags = b >> 32;
                let caller = (flags & INVOKE_UNREF == 0).then_some(b32);
                let serve = Activity::Serve {
                    caller,
                    create_proc: flags & INVOKE_DEPLETED != 0,
                };
                let from = caller.and_then(|c| {
                    let called_at = self.threads.get(&c)?.called_at?;
                    Some((c, called_at))
                });
                // A caller that waited for a server thread now has one.
                if let Some(c) = caller.filter(|c| {
                    self.threads
                        .get(c)
                        .is_some_and(|t| t.activity == Activity::Wait)
                }) {
                    self.cut(c, ts);
                    self.thread(c, None, ts).activity = Activity::Call { server: a32 };
                }
                let server = self.thread(a32, None, ts);
                let busy = server.running && matches!(server.activity, Activity::Serve { .. });
                if busy {
                    server.pending = Some(serve);
                    server.arriving = from.map(|f| (true, f));
                } else {
                    let running = server.running;
                    self.cut(a32, ts);
                    let server = self.thread(a32, None, ts);
                    server.activity = serve;
                    server.arriving = from.map(|f| (true, f));
                    if running {
                        self.arrive(a32, ts);
                    }
                }
                if caller.is_none() {
                    self.mark(a32, ts, "unreferenced invocation".into());
                }
            }
            Kind::DoorReturn => {
                self.cut(r.tid, ts);
                let server = self.thread(r.tid, None, ts);
                server.activity = server.pending.take().unwrap_or(Activity::Idle);
                if a32 != 0 {
                    self.thread(a32, None, ts);
                    self.cut(a32, ts);
                    let caller = self.thread(a32, None, ts);
                    caller.activity = Activity::Run;
                    caller.called_at = None;
                    caller.arriving = Some((false, (r.tid, ts)));
                }
            }
            Kind::CallFailed => {
                self.thread(a32, None, ts);
                self.cut(a32, ts);
                let caller = self.thread(a32, None, ts);
                caller.activity = Activity::Run;
                caller.called_at = None;
                let errno = abi::Errno::from_code(b as u16);
                self.mark(a32, ts, format!("door_call failed: {}", errno.name()));
            }
            Kind::DoorCreate => {
                let then = if b != 0 {
                    ", door_server_create runs"
                } else {
                    ""
                };
                self.mark(r.tid, ts, format!("door_create: descriptor {a}{then}"));
            }
            Kind::Revoke => self.mark(r.tid, ts, format!("door_revoke: descriptor {a}")),
            Kind::Spawn => {
                self.spawned = Some((a32, Vec::new()));
                self.mark(r.tid, ts, format!("spawn: process {a}"));
            }
            Kind::Name => {
                if let Some((pid, name)) = &mut self.spawned {
                    name.extend(a.to_le_bytes().iter().chain(&b.to_le_bytes()));
                    let text: String = String::from_utf8_lossy(name)
                        .trim_end_matches('\0')
                        .to_owned();
                    self.names.insert(*pid, text);
                }
            }
            Kind::ThreadCreate => {
                self.thread(a32, Some(b32), ts);
                self.mark(a32, ts, "thread created".into());
            }
            Kind::ThreadExit => {
                self.cut(a32, ts);
                if let Some(t) = self.threads.get_mut(&a32) {
                    t.activity = Activity::Run;
                    t.running = false;
                }
                self.mark(a32, ts, "thread exit".into());
            }
            Kind::ProcessExit => {
                let first = self
                    .threads
                    .iter()
                    .find(|(_, t)| t.pid == Some(a32))
                    .map(|(tid, _)| *tid);
                if let Some(tid) = first {
                    self.mark(tid, ts, format!("process exit, status {}", b as u32 as i32));
                }
            }
        }
    }
}

impl Timeline {
    /// Replays `trace`.
    pub fn new(trace: &Trace) -> Timeline {
        let first = trace.records.first();
        let (start, running) = first.map_or((0, 0), |r| (r.ts, r.tid));
        let mut replay = Replay {
            timeline: Timeline {
                start,
                end: trace.records.last().map_or(start, |r| r.ts),
                lost: trace.lost,
                ..Timeline::default()
            },
            threads: BTreeMap::new(),
            names: BTreeMap::new(),
            running,
            handoff: false,
            spawned: None,
        };
        if first.is_some() {
            replay.thread(running, None, start).running = true;
        }
        for r in &trace.records {
            replay.record(r);
        }
        let end = replay.timeline.end;
        let tids: Vec<u32> = replay.threads.keys().copied().collect();
        for tid in tids {
            replay.cut(tid, end);
        }
        let mut processes: BTreeMap<u32, Process> = BTreeMap::new();
        for (&tid, t) in &replay.threads {
            let pid = t.pid.unwrap_or(UNKNOWN_PID);
            let name = match (replay.names.get(&pid), pid) {
                (Some(name), _) => name.clone(),
                (None, 0) => "kernel".into(),
                (None, 1) => "init".into(),
                (None, UNKNOWN_PID) => "process unknown".into(),
                (None, pid) => format!("process {pid}"),
            };
            processes
                .entry(pid)
                .or_insert_with(|| Process {
                    pid,
                    name,
                    threads: Vec::new(),
                })
                .threads
                .push(tid);
        }
        let mut timeline = replay.timeline;
        timeline.processes = processes.into_values().collect();
        timeline
    }

    /// The process thread `tid` belongs to.
    pub fn pid_of(&self, tid: u32) -> u32 {
        self.processes
            .iter()
            .find(|p| p.threads.contains(&tid))
            .map_or(0, |p| p.pid)
    }
}

/// Where `--trace FILE` writes: FILE.json and FILE.svg (an extension
/// `.json` or `.svg` given is dropped first).
pub fn output_paths(file: &Path) -> (PathBuf, PathBuf) {
    let stem = match file.extension().and_then(|e| e.to_str()) {
        Some("json" | "svg") => file.with_extension(""),
        _ => file.to_path_buf(),
    };
    let with = |ext: &str| {
        let mut name = stem.clone().into_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    (with(".json"), with(".svg"))
}

/// Writes the trace in `log` as FILE.json and FILE.svg; returns their
/// paths and the timeline.
pub fn write(log: &str, file: &Path, title: &str) -> Result<(PathBuf, PathBuf, Timeline), Error> {
    let trace = match Trace::from_log(log) {
        None => return Err(Error::Config("the boot printed no trace".into())),
        Some(Err(e)) => return Err(Error::Config(format!("the trace is damaged: {e}"))),
        Some(Ok(trace)) => trace,
    };
    let timeline = Timeline::new(&trace);
    let (json_path, svg_path) = output_paths(file);
    let text = serde_json::to_string(&json::chrome(&timeline, title)).expect("JSON values print");
    for (path, text) in [
        (&json_path, text),
        (&svg_path, svg::picture(&timeline, title)),
    ] {
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    Ok((json_path, svg_path, timeline))
}
