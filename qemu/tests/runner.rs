//! The runner as graders and CI use it: each class of result reaches the
//! host with its own outcome and exit status, several programs run in one
//! boot (one after another, or together), prebuilt ELFs and extra files
//! boot, and the command line writes JSON, JUnit and kept logs, and boots
//! an archive repacked with the system's `tar`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use std::{env, fs};

use qemu::results::Leak;
use qemu::{Outcome, Run, Verdict, test_program, test_run};
use serde_json::Value;

/// A program exiting with 7: that status, as the runner's exit status too.
#[test]
fn status_7() {
    let report = test_program("exit_status", &["7"]);
    report
        .expect_outcome(Outcome::ProgramStatus(7))
        .expect_no_leaks();
    report.expect_program(1, Verdict::Fail, Some(7));
    assert_eq!(report.outcome.exit_status(), 7);
}

/// A panic's status 101 is readable, though the exit device cannot carry it.
#[test]
fn panic() {
    let report = test_program("outcome", &["panic"]);
    report
        .expect_outcome(Outcome::ProgramStatus(101))
        .assert_line("outcome: panicking as asked");
    report.expect_program(1, Verdict::Fail, Some(101));
    assert_eq!(report.outcome.exit_status(), 101);
}

/// A fault: killed with status 128 + 14, its rip turned into a source line.
#[test]
fn fault() {
    let report = test_program("outcome", &["fault"]);
    report
        .expect_outcome(Outcome::ProgramKilled(142))
        .expect_no_leaks();
    let program = report.expect_program(1, Verdict::Fault, Some(142));
    let fault = program.fault.as_ref().expect("a fault report");
    assert!(fault.report.contains("page fault (vector 14)"), "{fault:?}");
    let symbol = fault.symbol.as_deref().unwrap_or_default();
    assert!(
        symbol.contains("is outcome::fault at userland/src/bin/outcome.rs:"),
        "{fault:?}"
    );
    assert_eq!(report.outcome.exit_status(), 142);
    let json = qemu::output::json(&report);
    check_schema(&json, &report_schema(), "report");
    assert_eq!(
        json["programs"][0]["fault"]["symbol"].as_str(),
        Some(symbol)
    );
}

/// A process left running after the program exited is a leak init sees.
#[test]
fn leak() {
    let report = test_program("outcome", &["leak"]);
    report.expect_outcome(Outcome::Leak);
    let program = report.expect_program(1, Verdict::Leak, Some(0));
    let processes = Leak {
        counter: "processes".into(),
        change: 1,
    };
    assert!(
        program.leaks.as_ref().unwrap().contains(&processes),
        "{program:?}"
    );
    assert_eq!(report.outcome.exit_status(), 120);
}

/// A program that sleeps forever is a timeout.
#[test]
fn timeout() {
    let mut run = Run::new(&["outcome", "hang"]);
    run.timeout = Some(Duration::from_secs(8));
    let report = test_run(run);
    report.expect_outcome(Outcome::Timeout(Duration::from_secs(8)));
    report.expect_program(1, Verdict::Unfinished, None);
    assert_eq!(report.outcome.exit_status(), 124);
    let xml = qemu::output::junit(&report);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let problems: Vec<(&str, &str)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("error") || n.has_tag_name("failure"))
        .map(|n| (n.tag_name().name(), n.attribute("message").unwrap()))
        .collect();
    assert_eq!(
        problems,
        [
            ("error", "the boot ended before the program did"),
            ("failure", "timeout after 8 s")
        ]
    );
}

/// A program whose only thread waits for a door call nobody makes blocks
/// every thread: the kernel says who waits for what and ends the run.
#[test]
fn deadlock() {
    let report = test_program("outcome", &["block"]);
    report
        .expect_outcome(Outcome::Deadlock)
        .assert_line("deadlock: every thread is blocked")
        .assert_line("(init) thread")
        .assert_line("waits for a child process to exit")
        .assert_line("(outcome) thread")
        .assert_line("waits for a door invocation");
    report.expect_program(1, Verdict::Unfinished, None);
    assert_eq!(report.outcome.exit_status(), 121);
}

/// One after another: each program's result and its own part of the log;
/// the first that did not pass decides.
#[test]
fn several_programs_one_after_another() {
    let report = test_run(
        Run::new(&["hello"])
            .then(&["exit_status", "7"])
            .then(&["outcome", "fault"])
            .then(&["outcome", "panic"]),
    );
    report
        .expect_outcome(Outcome::ProgramStatus(7))
        .expect_no_leaks();
    let hello = report.expect_program(1, Verdict::Pass, Some(0));
    assert!(hello.log.contains("hello from ring 3"), "{}", hello.log);
    assert!(!hello.log.contains("panicking"), "{}", hello.log);
    assert_eq!(hello.leaks, Some(Vec::new()));
    report.expect_program(2, Verdict::Fail, Some(7));
    report.expect_program(3, Verdict::Fault, Some(142));
    let panic = report.expect_program(4, Verdict::Fail, Some(101));
    assert!(panic.log.contains("panicking as asked"), "{}", panic.log);
}

/// Together: every program starts at once; leaks are checked for the run.
#[test]
fn several_programs_together() {
    let mut run = Run::new(&["outcome", "leak"])
        .then(&["exit_status", "3"])
        .then(&["hello"]);
    run.together = true;
    let report = test_run(run);
    report.expect_outcome(Outcome::ProgramStatus(3));
    let leaker = report.expect_program(1, Verdict::Pass, Some(0));
    assert_eq!(
        leaker.leaks, None,
        "programs run together are checked as a whole"
    );
    report.expect_program(2, Verdict::Fail, Some(3));
    report.expect_program(3, Verdict::Pass, Some(0));
    let leaks = report.leaks.as_ref().expect("init's whole-run check");
    assert!(
        leaks
            .iter()
            .any(|l| l.counter == "processes" && l.change == 1),
        "{leaks:?}"
    );
}

/// A scratch directory under `target/`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = qemu::images::workspace_root()
            .join("target")
            .join("runner-tests")
            .join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A prebuilt ELF from another directory, reading a file added with
/// `--add` (at `/bin/GUEST`); a file that is no ELF cannot be started.
#[test]
fn prebuilt_elf_and_added_files() {
    let scratch = Scratch::new("prebuilt");
    let images = qemu::images::images(false).expect("images build");
    let tool = scratch.0.join("grader-tool.elf");
    fs::copy(&images.program("outcome").unwrap().elf, &tool).unwrap();
    let data = scratch.0.join("input.txt");
    fs::write(&data, "forty-two\n").unwrap();
    let report = test_run(
        Run::new(&[tool.to_str().unwrap(), "cat", "/bin/data/input.txt"])
            .then(&["notelf"])
            .add(&data, "data/input.txt")
            .add(&data, "notelf"),
    );
    report
        .expect_outcome(Outcome::NotStarted)
        .assert_line("outcome: /bin/data/input.txt holds 10 bytes: forty-two");
    let tool = report.expect_program(1, Verdict::Pass, Some(0));
    assert_eq!(tool.name, "grader-tool.elf");
    let notelf = report.expect_program(2, Verdict::NotStarted, None);
    assert_eq!(notelf.error.as_deref(), Some("ENOEXEC"));
    assert_eq!(report.outcome.exit_status(), 122);
}

/// Checks `value` against `schema`: a string of `|`-separated JSON types
/// (`string`, `integer`, `number`, `boolean`, `null`), an object whose
/// fields must all be there and be the only ones, a one-element array whose
/// element describes every element, or `["nullable", schema]`.
fn check_schema(value: &Value, schema: &Value, at: &str) {
    match schema {
        Value::String(types) => {
            let ok = types.split('|').any(|t| match t {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "null" => value.is_null(),
                other => panic!("schema type {other}"),
            });
            assert!(ok, "{at}: {value} is not {types}");
        }
        Value::Array(pair) if pair.len() == 2 && pair[0] == "nullable" => {
            if !value.is_null() {
                check_schema(value, &pair[1], at);
            }
        }
        Value::Array(element) => {
            let items = value
                .as_array()
                .unwrap_or_else(|| panic!("{at}: {value} is no array"));
            for (i, item) in items.iter().enumerate() {
                check_schema(item, &element[0], &format!("{at}[{i}]"));
            }
        }
        Value::Object(fields) => {
            let object = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: {value} is no object"));
            let mut names: Vec<&String> = object.keys().collect();
            let mut expected: Vec<&String> = fields.keys().collect();
            names.sort();
            expected.sort();
            assert_eq!(names, expected, "{at}: fields");
            for (name, field) in fields {
                check_schema(&object[name], field, &format!("{at}.{name}"));
            }
        }
        other => panic!("schema {other}"),
    }
}

/// The JSON report's schema, as the README documents it.
fn report_schema() -> Value {
    let leaks = serde_json::json!(["nullable", [{ "counter": "string", "change": "integer" }]]);
    serde_json::json!({
        "schema": "string",
        "outcome": "string",
        "message": "string",
        "exit_status": "integer",
        "together": "boolean",
        "icount": "boolean",
        "duration_s": "number",
        "leaks": leaks,
        "kernel_errors": ["string"],
        "serial_log": "string|null",
        "programs": [{
            "index": "integer",
            "name": "string",
            "args": ["string"],
            "verdict": "string",
            "status": "integer|null",
            "error": "string|null",
            "fault": ["nullable", { "report": "string", "symbol": "string|null" }],
            "duration_s": "number|null",
            "tsc": "integer|null",
            "instructions": "integer|null",
            "leaks": leaks,
        }],
    })
}

fn runner(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qemu"))
        .args(args)
        .output()
        .expect("the runner starts")
}

/// A grader's round trip: `--pack` an archive, unpack it and change the
/// plan with the system's `tar`, `--list` and boot it with `--image`, and
/// read the JSON report, the JUnit file and the kept log.
#[test]
fn command_line_archives_and_reports() {
    let scratch = Scratch::new("cli");
    let dir = &scratch.0;
    let packed = dir.join("packed.tar");
    let out = runner(&["-q", "--pack", packed.to_str().unwrap(), "hello"]);
    assert!(out.status.success(), "{out:?}");
    let tree = dir.join("tree");
    fs::create_dir_all(&tree).unwrap();
    let tar = |args: &[&str], cwd: &Path| {
        let status = Command::new("tar")
            .args(args)
            .current_dir(cwd)
            .status()
            .unwrap();
        assert!(status.success(), "tar {args:?}");
    };
    tar(&["-xf", packed.to_str().unwrap()], &tree);
    assert_eq!(
        fs::read_to_string(tree.join("boot.args")).unwrap(),
        "hello\n"
    );
    fs::write(
        tree.join("boot.args"),
        "# graded\nhello\nexit_status 5\nexit_status 6\n",
    )
    .unwrap();
    let image = dir.join("graded.tar");
    tar(
        &["--format=ustar", "-cf", image.to_str().unwrap(), "."],
        &tree,
    );

    let listing = runner(&["--list", "--image", image.to_str().unwrap()]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.lines().any(|l| l.ends_with("  boot.args")),
        "{listing}"
    );
    assert!(listing.lines().any(|l| l.ends_with("  init")), "{listing}");

    let (json, junit, logs) = (dir.join("r.json"), dir.join("r.xml"), dir.join("logs"));
    let out = runner(&[
        "-q",
        "--timeout",
        "60",
        "--image",
        image.to_str().unwrap(),
        "--report",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--log-dir",
        logs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");

    let report: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    check_schema(&report, &report_schema(), "report");
    assert_eq!(report["schema"], "doors-run/1");
    assert_eq!(
        (report["outcome"].as_str(), report["exit_status"].as_i64()),
        (Some("fail"), Some(5))
    );
    let programs = report["programs"].as_array().unwrap();
    let summary: Vec<(&str, &str, i64)> = programs
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap();
            (
                name,
                p["verdict"].as_str().unwrap(),
                p["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("hello", "pass", 0),
            ("exit_status", "fail", 5),
            ("exit_status", "fail", 6)
        ]
    );
    assert_eq!(programs[1]["args"], serde_json::json!(["5"]));
    let kept = report["serial_log"].as_str().unwrap();
    assert!(Path::new(kept).starts_with(&logs));
    assert!(
        fs::read_to_string(kept)
            .unwrap()
            .contains("hello from ring 3")
    );

    let xml = fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root.first_element_child().unwrap();
    assert_eq!(suite.tag_name().name(), "testsuite");
    for (attr, value) in [
        ("tests", "4"),
        ("failures", "2"),
        ("errors", "0"),
        ("skipped", "0"),
    ] {
        assert_eq!(suite.attribute(attr), Some(value), "{attr}\n{xml}");
    }
    let cases: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
    let names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        ["1 hello", "2 exit_status 5", "3 exit_status 6", "boot"]
    );
    for case in &cases {
        assert_eq!(case.attribute("classname"), Some("doors"));
        case.attribute("time").unwrap().parse::<f64>().unwrap();
    }
    assert!(cases[0].first_element_child().is_none());
    let failure = cases[1].first_element_child().unwrap();
    assert_eq!(failure.tag_name().name(), "failure");
    assert_eq!(failure.attribute("message"), Some("exited with status 5"));
    let log = failure.text().unwrap_or_default();
    assert!(log.starts_with("START 2 cmd=exit_status 5\n"), "{log}");
    assert!(!log.contains("hello from ring 3"), "{log}");
    assert!(
        cases[3].first_element_child().is_none(),
        "the boot itself did not fail"
    );
}

/// Every runner error has its exit status too: a usage error, an unknown
/// program.
#[test]
fn usage_errors() {
    let out = runner(&["--no-such-option"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option `--no-such-option`"));
    let out = runner(&["-q", "no_such_program"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let missing = env::temp_dir().join("qemu-runner-no-such-file.elf");
    let out = runner(&["-q", "--add", missing.to_str().unwrap(), "hello"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
}
