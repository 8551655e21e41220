//! `cargo run -- bench`: boots the `bench` program under `-icount shift=0`
//! (so one clock tick is one guest instruction, reproducible run to run),
//! collects its `BENCH <name> <value> <unit>` lines and prints them as a
//! table with the round trips with small arguments over the null call,
//! seL4's figures under the same emulator and the ratio,
//! optionally next to the Linux baseline measured the same way by
//! `../shared/bench/linux-ipc-baseline.sh`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::images::workspace_root;
use crate::{Error, Report, Run};

/// The serial line prefix of a benchmark result.
pub const PREFIX: &str = "BENCH ";

/// One row of the result table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    /// The number as printed (it may have decimals).
    pub value: String,
    pub unit: String,
}

/// Parses `BENCH <name> <value> <unit...>`.
pub fn parse_bench_line(line: &str) -> Option<Row> {
    let mut words = line.strip_prefix(PREFIX)?.split_whitespace();
    let name = words.next()?.to_owned();
    let value = words.next()?.to_owned();
    let unit = words.collect::<Vec<_>>().join(" ");
    Some(Row { name, value, unit })
}

/// Parses a result line of the Linux baseline script,
/// `name iterations total_ticks ticks_per_op`, into a `linux <name>` row.
pub fn parse_linux_line(line: &str) -> Option<Row> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [name, iterations, total, per_op] = words[..] else {
        return None;
    };
    let is_name = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let numbers = [iterations, total].iter().all(|w| w.parse::<u64>().is_ok())
        && per_op.parse::<f64>().is_ok();
    (is_name && numbers).then(|| Row {
        name: format!("linux {name}"),
        value: per_op.to_owned(),
        unit: "ticks/op".into(),
    })
}

/// Where the Linux baseline script lives: beside the workspace, in `shared/`.
pub fn linux_script() -> PathBuf {
    workspace_root().join("../shared/bench/linux-ipc-baseline.sh")
}

/// Runs the Linux baseline script (its progress goes to the terminal) and
/// returns its results as rows.
pub fn linux_baseline() -> Result<Vec<Row>, Error> {
    let script = linux_script();
    if !script.is_file() {
        return Err(Error::Setup(format!(
            "--linux: no baseline script at {}",
            script.display()
        )));
    }
    eprintln!("qemu: running {} (about 30 s)", script.display());
    let output = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::io(format!("running {}", script.display()), e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::Setup(format!(
            "{} failed ({}):\n{stdout}",
            script.display(),
            output.status
        )));
    }
    Ok(stdout.lines().filter_map(parse_linux_line).collect())
}

/// seL4's null IPC round trip between two address spaces, as measured on
/// seL4 13.0.0 (sel4bench, x86_64 release build, fastpath on) under the
/// same emulator and flags (`../shared/bench/README.md`): its own figure
/// (Call + ReplyRecv) and the round trip timed by the client around
/// `seL4_Call`, which is how `door_null_cross_process` is measured.
pub const SEL4: [(&str, u64); 2] = [
    ("sel4 call_replyrecv_cross_address_space", 409),
    ("sel4 round_trip_timed_by_client", 426),
];

/// The benchmark whose figure is set against seL4's.
pub const SEL4_PEER: &str = "door_null_cross_process";

/// The figure of the row called `name` among `rows`, if there is one.
fn figure(rows: &[Row], name: &str) -> Option<f64> {
    rows.iter()
        .find(|r| r.name == name)
        .and_then(|r| r.value.parse().ok())
}

/// seL4's figures as rows, and the ratio of [`SEL4_PEER`] to each (when
/// `rows` has it).
pub fn sel4_rows(rows: &[Row]) -> Vec<Row> {
    let ours = figure(rows, SEL4_PEER);
    let mut out = Vec::new();
    for (name, value) in SEL4 {
        out.push(Row {
            name: name.into(),
            value: value.to_string(),
            unit: "instructions (seL4 13.0.0, same emulator)".into(),
        });
    }
    if let Some(ours) = ours {
        for (name, value) in SEL4 {
            out.push(Row {
                name: format!("{SEL4_PEER} / {name}"),
                value: format!("{:.2}", ours / value as f64),
                unit: "x".into(),
            });
        }
    }
    out
}

/// The round trips with small arguments and results (issue 13's 16, 64
/// and 256 bytes), set against [`SEL4_PEER`], the null call.
pub const SMALL_ARGUMENTS: [&str; 3] = [
    "door_16B_cross_process",
    "door_64B_cross_process",
    "door_256B_cross_process",
];

/// Each of [`SMALL_ARGUMENTS`] over the null call, as rows (when `rows`
/// has both).
pub fn small_argument_rows(rows: &[Row]) -> Vec<Row> {
    let Some(null) = figure(rows, SEL4_PEER) else {
        return Vec::new();
    };
    SMALL_ARGUMENTS
        .iter()
        .filter_map(|name| {
            Some(Row {
                name: format!("{name} / {SEL4_PEER}"),
                value: format!("{:.3}", figure(rows, name)? / null),
                unit: "x".into(),
            })
        })
        .collect()
}

/// Boots the benchmark described by `run` and gathers its rows and seL4's,
/// plus the Linux baseline when `linux` is set and the benchmark itself
/// succeeded.
pub fn bench(run: &Run, linux: bool) -> Result<(Report, Vec<Row>), Error> {
    let report = crate::run(run)?;
    let mut rows: Vec<Row> = report
        .lines_with(PREFIX)
        .filter_map(parse_bench_line)
        .collect();
    rows.extend(small_argument_rows(&rows));
    rows.extend(sel4_rows(&rows));
    if linux && report.outcome == crate::Outcome::Success {
        rows.extend(linux_baseline()?);
    }
    Ok((report, rows))
}

/// Renders `rows` as an aligned table: names left, values right.
pub fn table(rows: &[Row]) -> String {
    let header = Row {
        name: "benchmark".into(),
        value: "value".into(),
        unit: "unit".into(),
    };
    let all: Vec<&Row> = std::iter::once(&header).chain(rows).collect();
    let name_width = all.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let value_width = all.iter().map(|r| r.value.len()).max().unwrap_or(0);
    all.iter()
        .map(|r| {
            format!(
                "{:<name_width$}  {:>value_width$}  {}",
                r.name, r.value, r.unit
            )
            .trim_end()
            .to_owned()
                + "\n"
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, value: &str, unit: &str) -> Row {
        Row {
            name: name.into(),
            value: value.into(),
            unit: unit.into(),
        }
    }

    #[test]
    fn parses_bench_lines() {
        assert_eq!(
            parse_bench_line("BENCH null_syscall 412 ticks"),
            Some(row("null_syscall", "412", "ticks"))
        );
        assert_eq!(
            parse_bench_line("BENCH boot 1.5 M instr"),
            Some(row("boot", "1.5", "M instr"))
        );
        assert_eq!(parse_bench_line("BENCH lonely"), None);
        assert_eq!(parse_bench_line("hello"), None);
    }

    #[test]
    fn parses_linux_result_lines() {
        assert_eq!(
            parse_linux_line("null_syscall 100000 33800000 338.00"),
            Some(row("linux null_syscall", "338.00", "ticks/op"))
        );
        assert_eq!(
            parse_linux_line("# qemu: QEMU emulator version 7.2.22"),
            None
        );
        assert_eq!(parse_linux_line("DONE"), None);
        assert_eq!(parse_linux_line("pipe many 1 2"), None);
    }

    #[test]
    fn sets_sel4_beside_the_null_round_trip() {
        let rows = sel4_rows(&[row("door_null_cross_process", "852", "instructions")]);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sel4 call_replyrecv_cross_address_space",
                "sel4 round_trip_timed_by_client",
                "door_null_cross_process / sel4 call_replyrecv_cross_address_space",
                "door_null_cross_process / sel4 round_trip_timed_by_client",
            ]
        );
        assert_eq!(
            (rows[0].value.as_str(), rows[1].value.as_str()),
            ("409", "426")
        );
        assert_eq!(
            (rows[2].value.as_str(), rows[3].value.as_str()),
            ("2.08", "2.00")
        );
        assert!(rows[0].unit.contains("seL4 13.0.0"));
        // Without our figure, seL4's alone.
        assert_eq!(sel4_rows(&[]).len(), 2);
    }

    #[test]
    fn sets_small_arguments_beside_the_null_call() {
        let rows = [
            row("door_null_cross_process", "500", "instructions"),
            row("door_16B_cross_process", "700", "instructions"),
            row("door_256B_cross_process", "750", "instructions"),
        ];
        let ratios = small_argument_rows(&rows);
        let shown: Vec<(&str, &str)> = ratios
            .iter()
            .map(|r| (r.name.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("door_16B_cross_process / door_null_cross_process", "1.400"),
                ("door_256B_cross_process / door_null_cross_process", "1.500"),
            ]
        );
        // Without the null call, none.
        assert!(small_argument_rows(&rows[1..]).is_empty());
    }

    #[test]
    fn aligns_the_table() {
        let text = table(&[
            row("null_syscall", "412", "ticks"),
            row("linux pipe", "13127.5", "ticks/op"),
        ]);
        assert_eq!(
            text,
            "benchmark       value  unit\n\
             null_syscall      412  ticks\n\
             linux pipe    13127.5  ticks/op\n"
        );
    }
}
