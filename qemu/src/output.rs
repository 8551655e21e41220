//! Machine-readable results: the JSON report (`--report FILE`, schema
//! [`SCHEMA`], described in the README) and JUnit XML (`--junit FILE`), one
//! test case per program plus one for the boot itself.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::results::{Leak, ProgramResult, Verdict};
use crate::{Outcome, Report};

/// The `schema` field of the JSON report; the number changes when a field
/// changes meaning or goes away (new fields may appear without a change).
pub const SCHEMA: &str = "doors-run/1";

fn leaks_json(leaks: &Option<Vec<Leak>>) -> Value {
    match leaks {
        None => Value::Null,
        Some(leaks) => leaks
            .iter()
            .map(|l| json!({ "counter": l.counter, "change": l.change }))
            .collect(),
    }
}

fn program_json(p: &ProgramResult, icount: bool) -> Value {
    json!({
        "index": p.index,
        "name": p.name,
        "args": p.args,
        "verdict": p.verdict.as_str(),
        "status": p.status,
        "error": p.error,
        "fault": p.fault.as_ref().map(|f| json!({ "report": f.report, "symbol": f.symbol })),
        "duration_s": p.duration.map(|d| d.as_secs_f64()),
        "tsc": p.tsc,
        "instructions": if icount { p.tsc } else { None },
        "leaks": leaks_json(&p.leaks),
    })
}

/// The report as JSON; `exit_status` is the runner's exit status for it.
pub fn json(report: &Report) -> Value {
    json!({
        "schema": SCHEMA,
        "outcome": report.outcome.word(),
        "message": report.outcome.to_string(),
        "exit_status": report.outcome.exit_status(),
        "together": report.together,
        "icount": report.icount,
        "duration_s": report.duration.as_secs_f64(),
        "leaks": leaks_json(&report.leaks),
        "kernel_errors": report.kernel_errors(),
        "serial_log": report.log_file.as_ref().map(|p| p.display().to_string()),
        "programs": report
            .programs
            .iter()
            .map(|p| program_json(p, report.icount))
            .collect::<Vec<_>>(),
    })
}

/// `text` with XML's special characters escaped and the characters XML
/// 1.0 cannot hold (most control characters) replaced.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// What a program's verdict means for JUnit: `None` passed, else the
/// element (`failure`, `error`, `skipped`) and its message.
fn junit_problem(p: &ProgramResult) -> Option<(&'static str, String)> {
    let status = p.status.map_or("-".into(), |s| s.to_string());
    match p.verdict {
        Verdict::Pass => None,
        Verdict::Fail => Some(("failure", format!("exited with status {status}"))),
        Verdict::Fault => Some((
            "failure",
            format!(
                "killed after a fault (status {status}){}",
                p.fault
                    .as_ref()
                    .and_then(|f| f.symbol.as_ref())
                    .map_or(String::new(), |s| format!(": {s}"))
            ),
        )),
        Verdict::Leak => Some(("failure", "left kernel objects behind".into())),
        Verdict::NotStarted => Some((
            "error",
            format!(
                "could not be started ({})",
                p.error.as_deref().unwrap_or("unknown error")
            ),
        )),
        Verdict::Unfinished => Some(("error", "the boot ended before the program did".into())),
        Verdict::NotRun => Some(("skipped", "the boot ended before it started".into())),
    }
}

/// Whether the boot failed in a way no program's verdict accounts for.
fn boot_problem(report: &Report) -> Option<String> {
    let attributed = report.programs.iter().any(|p| p.verdict != Verdict::Pass);
    match &report.outcome {
        Outcome::Success => None,
        Outcome::ProgramStatus(_) | Outcome::ProgramKilled(_) | Outcome::NotStarted
            if attributed =>
        {
            None
        }
        Outcome::Leak if report.programs.iter().any(|p| p.verdict == Verdict::Leak) => None,
        other => Some(other.to_string()),
    }
}

fn testcase(
    out: &mut String,
    name: &str,
    seconds: f64,
    problem: Option<(&str, String)>,
    log: &str,
) {
    let _ = write!(
        out,
        "    <testcase classname=\"doors\" name=\"{}\" time=\"{seconds:.3}\"",
        xml_escape(name)
    );
    match problem {
        None => out.push_str("/>\n"),
        Some(("skipped", message)) => {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                xml_escape(&message)
            );
        }
        Some((element, message)) => {
            let _ = writeln!(
                out,
                ">\n      <{element} message=\"{}\" type=\"{element}\">{}</{element}>\n    </testcase>",
                xml_escape(&message),
                xml_escape(log)
            );
        }
    }
}

/// The report as JUnit XML: a test case per program (its serial log in the
/// failure of one that failed) and a `boot` case that fails when the boot
/// failed for a reason no program's case shows (a kernel failure, a leak
/// of the whole run, a deadlock, a timeout, QEMU failing), with the whole log.
pub fn junit(report: &Report) -> String {
    let problems: Vec<Option<(&str, String)>> = report.programs.iter().map(junit_problem).collect();
    let boot = boot_problem(report);
    let count = |kind: &str| {
        problems
            .iter()
            .flatten()
            .filter(|(k, _)| *k == kind)
            .count()
    };
    let failures = count("failure") + usize::from(boot.is_some());
    let (errors, skipped) = (count("error"), count("skipped"));
    let tests = report.programs.len() + 1;
    let time = report.duration.as_secs_f64();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let totals = format!(
        "tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\""
    );
    let _ = writeln!(out, "<testsuites name=\"doors\" {totals}>");
    let _ = writeln!(out, "  <testsuite name=\"doors\" {totals}>");
    for (p, problem) in report.programs.iter().zip(problems) {
        let name = format!("{} {}", p.index, p.command());
        let seconds = p.duration.map_or(0.0, |d| d.as_secs_f64());
        testcase(&mut out, &name, seconds, problem, &p.log);
    }
    testcase(
        &mut out,
        "boot",
        time,
        boot.map(|m| ("failure", m)),
        &report.serial,
    );
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_xml() {
        assert_eq!(
            xml_escape("a<b>&\"c\" 'd'\u{1}\ttab\u{fffe}"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;\u{fffd}\ttab\u{fffd}"
        );
    }
}
