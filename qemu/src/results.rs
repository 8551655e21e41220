//! Each program's result, read from init's `START` and `RESULT` lines in
//! the serial log (formats in `abi::INIT_RESULT`), with the part of
//! the log it printed, the time between its lines, and its fault report.

use std::fmt;
use std::time::Duration;

use abi::{INIT_NO_LEAKS, INIT_RESULT, INIT_START, verdict};

/// How one program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Exited with status 0 and (run alone) leaked nothing.
    Pass,
    /// Exited with another status.
    Fail,
    /// Killed by the kernel after a fault.
    Fault,
    /// Exited with 0 but left kernel objects behind.
    Leak,
    /// Init could not start it.
    NotStarted,
    /// Started, but the boot ended before it did (a timeout, a deadlock, a
    /// kernel failure).
    Unfinished,
    /// Never started: the boot ended first.
    NotRun,
}

impl Verdict {
    /// The word init prints, and the JSON report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => verdict::PASS,
            Verdict::Fail => verdict::FAIL,
            Verdict::Fault => verdict::FAULT,
            Verdict::Leak => verdict::LEAK,
            Verdict::NotStarted => verdict::NOT_STARTED,
            Verdict::Unfinished => "unfinished",
            Verdict::NotRun => "not-run",
        }
    }

    fn parse(word: &str) -> Option<Verdict> {
        [
            Verdict::Pass,
            Verdict::Fail,
            Verdict::Fault,
            Verdict::Leak,
            Verdict::NotStarted,
        ]
        .into_iter()
        .find(|v| v.as_str() == word)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kernel counter that did not return to its starting value, and by how
/// much it changed (free frames go down when frames leak).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub counter: String,
    pub change: i64,
}

/// Parses init's `what:+n,...` (or `none`) into leaks.
pub fn parse_leaks(text: &str) -> Option<Vec<Leak>> {
    if text == "none" {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|item| {
            let (counter, change) = item.split_once(':')?;
            Some(Leak {
                counter: counter.to_owned(),
                change: change.parse().ok()?,
            })
        })
        .collect()
}

/// The kernel's report of the fault that killed a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The kernel's `user fault: ...` line.
    pub report: String,
    /// Where its `rip` is, from the program's symbols (the runner's
    /// `qemu: rip ...` line), when they could be read.
    pub symbol: Option<String>,
}

/// The result of one program of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramResult {
    /// Its position in the plan, from 1.
    pub index: usize,
    /// Its name in the boot file system and its arguments.
    pub name: String,
    pub args: Vec<String>,
    pub verdict: Verdict,
    /// Its exit status (killed: `128 + vector`), when it ended.
    pub status: Option<i32>,
    /// Why it could not start (`ENOENT`, `ENOEXEC`, ...).
    pub error: Option<String>,
    /// What it leaked (empty: nothing); `None` when not checked (programs
    /// run together are checked only as a whole).
    pub leaks: Option<Vec<Leak>>,
    /// Time-stamp counter ticks from its start to its end: guest
    /// instructions under `-icount shift=0`.
    pub tsc: Option<u64>,
    /// Host time between its `START` and `RESULT` lines.
    pub duration: Option<Duration>,
    pub fault: Option<Fault>,
    /// The serial lines from its `START` line to its `RESULT` line (when
    /// programs run together, their lines mix: the whole log).
    pub log: String,
}

impl ProgramResult {
    /// The program's command line, as init ran it.
    pub fn command(&self) -> String {
        std::iter::once(&self.name)
            .chain(&self.args)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A parsed `RESULT` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResultLine {
    index: usize,
    verdict: Verdict,
    status: Option<i32>,
    error: Option<String>,
    leaks: Option<Vec<Leak>>,
    tsc: Option<u64>,
}

/// Parses `RESULT <index> <verdict> key=value... cmd=<command>`; unknown
/// keys are skipped, so init may add fields.
fn parse_result(line: &str) -> Option<ResultLine> {
    let (head, _command) = line.strip_prefix(INIT_RESULT)?.split_once(" cmd=")?;
    let mut words = head.split_whitespace();
    let index = words.next()?.parse().ok()?;
    let verdict = Verdict::parse(words.next()?)?;
    let mut result = ResultLine {
        index,
        verdict,
        status: None,
        error: None,
        leaks: None,
        tsc: None,
    };
    for word in words {
        match word.split_once('=')? {
            ("status", v) => result.status = v.parse().ok(),
            ("error", v) => result.error = Some(v.to_owned()),
            ("leaks", "unchecked") => {}
            ("leaks", v) => result.leaks = Some(parse_leaks(v)?),
            ("tsc", v) => result.tsc = v.parse().ok(),
            _ => {}
        }
    }
    Some(result)
}

/// The index of a `START <index> cmd=...` line.
fn parse_start(line: &str) -> Option<usize> {
    let (index, _) = line.strip_prefix(INIT_START)?.split_once(" cmd=")?;
    index.parse().ok()
}

/// The whole-run leak check: `Some(empty)` when init printed its no-leak
/// line, the leaks of its `init: leak:` line, `None` when it printed neither.
pub fn run_leaks(lines: &[&str]) -> Option<Vec<Leak>> {
    lines.iter().find_map(|l| {
        if l.starts_with(INIT_NO_LEAKS) {
            return Some(Vec::new());
        }
        let rest = l.strip_prefix("init: leak: ")?;
        parse_leaks(rest.split_whitespace().next()?)
    })
}

/// The last `user fault:` line of process `name` in `lines`, with the
/// runner's symbol line right after it.
fn find_fault(lines: &[&str], name: &str) -> Option<Fault> {
    let needle = format!("({name}) thread ");
    let at = lines
        .iter()
        .rposition(|l| l.contains("user fault: process ") && l.contains(&needle))?;
    let symbol = lines
        .get(at + 1)
        .filter(|l| l.starts_with(crate::symbols::PREFIX))
        .map(|l| l.to_string());
    Some(Fault {
        report: lines[at].to_owned(),
        symbol,
    })
}

/// The results of the programs of `plan` (one line each, name first) from
/// the serial `lines` and the host time each arrived at.
pub fn program_results(
    plan: &[Vec<String>],
    together: bool,
    lines: &[&str],
    times: &[Duration],
) -> Vec<ProgramResult> {
    let time = |i: usize| times.get(i).copied();
    plan.iter()
        .enumerate()
        .map(|(i, line)| {
            let index = i + 1;
            let start = lines.iter().position(|l| parse_start(l) == Some(index));
            let end = lines.iter().enumerate().find_map(|(at, l)| {
                parse_result(l)
                    .filter(|r| r.index == index)
                    .map(|r| (at, r))
            });
            let verdict = match (&end, start) {
                (Some((_, r)), _) => r.verdict,
                (None, Some(_)) => Verdict::Unfinished,
                (None, None) => Verdict::NotRun,
            };
            let span = match (start, &end) {
                _ if together => lines,
                (Some(s), Some((e, _))) => &lines[s.min(*e)..=*e],
                (Some(s), None) => &lines[s..],
                (None, Some((e, _))) => &lines[*e..=*e],
                (None, None) => &lines[..0],
            };
            let name = line.first().cloned().unwrap_or_default();
            let fault = match verdict {
                Verdict::Fault => find_fault(span, &name),
                _ => None,
            };
            let duration = match (start, &end) {
                (Some(s), Some((e, _))) => time(*e).zip(time(s)).map(|(e, s)| e.saturating_sub(s)),
                _ => None,
            };
            let result = end.map(|(_, r)| r);
            ProgramResult {
                index,
                args: line.iter().skip(1).cloned().collect(),
                name,
                verdict,
                status: result.as_ref().and_then(|r| r.status),
                error: result.as_ref().and_then(|r| r.error.clone()),
                leaks: result.as_ref().and_then(|r| r.leaks.clone()),
                tsc: result.as_ref().and_then(|r| r.tsc),
                duration,
                fault,
                log: span.iter().map(|l| format!("{l}\n")).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
