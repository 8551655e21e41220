//! Decoding how a boot ended, and the runner's exit status for it.

use super::*;
use std::os::unix::process::ExitStatusExt;

fn status_for(value: u32) -> i32 {
    ((value << 1) | 1) as i32
}

fn decode(value: u32) -> Option<Outcome> {
    Outcome::from_guest_code(status_for(value), &[])
}

fn report(serial: &str) -> Report {
    Report::new(
        &[],
        false,
        serial.into(),
        &[],
        Ok(ExitStatus::from_raw(33 << 8)),
        String::new(),
    )
}

#[test]
fn maps_guest_exit_codes() {
    assert_eq!(Outcome::from_guest_code(33, &[]), Some(Outcome::Success));
    assert_eq!(decode(exit_code::FAILURE), Some(Outcome::KernelFailure));
    assert_eq!(
        decode(exit_code::KILLED),
        Some(Outcome::ProgramKilled(KILLED_BASE))
    );
    assert_eq!(decode(exit_code::LEAK), Some(Outcome::Leak));
    assert_eq!(decode(exit_code::DEADLOCK), Some(Outcome::Deadlock));
    assert_eq!(decode(exit_code::NOT_STARTED), Some(Outcome::NotStarted));
    let base = exit_code::STATUS_BASE;
    assert_eq!(decode(base + 1), Some(Outcome::ProgramStatus(1)));
    assert_eq!(decode(base + 42), Some(Outcome::ProgramStatus(42)));
    assert_eq!(
        decode(base + exit_code::STATUS_MAX - 1),
        Some(Outcome::ProgramStatus(94))
    );
}

#[test]
fn exact_statuses_come_from_the_result_lines() {
    let serial = "START 1 cmd=a\nRESULT 1 pass status=0 leaks=none tsc=1 cmd=a\n\
                  START 2 cmd=b\nRESULT 2 fail status=101 leaks=none tsc=1 cmd=b\n\
                  START 3 cmd=c\nRESULT 3 fault status=142 leaks=none tsc=1 cmd=c\n";
    let lines: Vec<&str> = serial.lines().collect();
    let plan: Vec<Vec<String>> = ["a", "b", "c"]
        .iter()
        .map(|n| vec![n.to_string()])
        .collect();
    let programs = crate::results::program_results(&plan, false, &lines, &[]);
    let max = exit_code::STATUS_BASE + exit_code::STATUS_MAX;
    assert_eq!(
        Outcome::from_guest_code(status_for(max), &programs),
        Some(Outcome::ProgramStatus(101))
    );
    assert_eq!(
        Outcome::from_guest_code(status_for(exit_code::KILLED), &programs[2..]),
        Some(Outcome::ProgramKilled(142))
    );
}

#[test]
fn agrees_with_what_init_writes() {
    for status in [0, 1, 42, 94] {
        let expected = match status {
            0 => Outcome::Success,
            s => Outcome::ProgramStatus(s),
        };
        assert_eq!(
            decode(exit_code::for_status(status)),
            Some(expected),
            "status {status}"
        );
    }
    for status in [95, 101, 1000, -1] {
        assert_eq!(
            exit_code::for_status(status),
            exit_code::STATUS_BASE + exit_code::STATUS_MAX
        );
    }
    assert_eq!(exit_code::for_status(KILLED_BASE + 14), exit_code::KILLED);
}

#[test]
fn other_statuses_are_not_guest_exits() {
    for code in [
        -1,
        0,
        1,
        2,
        3,
        status_for(exit_code::STATUS_BASE),
        status_for(0x16),
        254,
        256,
    ] {
        assert_eq!(Outcome::from_guest_code(code, &[]), None, "code {code}");
    }
}

#[test]
fn every_class_has_its_own_exit_status() {
    let qemu = Outcome::QemuError {
        status: ExitStatus::from_raw(9),
        stderr: String::new(),
    };
    let classes = [
        (Outcome::Success, 0),
        (Outcome::ProgramStatus(7), 7),
        (Outcome::ProgramStatus(101), 101),
        (Outcome::ProgramStatus(118), 118),
        (Outcome::ProgramStatus(119), STATUS_OTHER),
        (Outcome::ProgramStatus(300), STATUS_OTHER),
        (Outcome::ProgramStatus(-2), STATUS_OTHER),
        (Outcome::Leak, 120),
        (Outcome::Deadlock, 121),
        (Outcome::NotStarted, 122),
        (Outcome::KernelFailure, 123),
        (Outcome::Timeout(Duration::from_secs(1)), 124),
        (qemu, 125),
        (Outcome::ProgramKilled(142), 142),
        (Outcome::ProgramKilled(999), 128),
    ];
    for (outcome, status) in classes {
        assert_eq!(outcome.exit_status(), status, "{outcome}");
    }
    let errors = [
        Error::Setup(String::new()),
        Error::Io(String::new()),
        Error::Build(String::new()),
        Error::Config(String::new()),
    ];
    let statuses: Vec<u8> = errors.iter().map(Error::exit_status).collect();
    assert_eq!(statuses, [125, 125, 126, 127]);
}

#[test]
fn finds_lines() {
    let r = report(
        "boot\nBENCH null 338 ticks\nhello from ring 3\nBENCH x 1 ticks\ninit: no leaks (...)\n",
    );
    r.expect_success().assert_line("from ring");
    assert_eq!(
        r.lines_with("BENCH ").collect::<Vec<_>>(),
        ["BENCH null 338 ticks", "BENCH x 1 ticks"]
    );
    assert_eq!(r.leaks, Some(vec![]));
}

#[test]
fn kernel_errors_leave_out_user_faults() {
    let r = report(
        "[ERROR] user fault: process 3 (x) thread 4: ...\n[ERROR] KERNEL PANIC: at x.rs\n[INFO] hi\n",
    );
    assert_eq!(r.kernel_errors(), ["[ERROR] KERNEL PANIC: at x.rs"]);
}

#[test]
#[should_panic(expected = "serial log -----\nboot\n")]
fn failures_show_the_log() {
    report("boot\n").assert_line("never printed");
}

#[test]
fn failures_save_the_log_under_target() {
    let r = report("saved line\n");
    let message = std::panic::catch_unwind(|| {
        r.assert_line("never printed");
    })
    .unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    let path =
        crate::logs::test_log_dir().join("report__tests__failures_save_the_log_under_target.log");
    assert!(
        message.contains(&format!("serial log saved in {}", path.display())),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "saved line\n");
}

#[test]
#[should_panic(expected = "init: no leaks")]
fn success_without_the_leak_check_fails() {
    report("hello\n").expect_success();
}

#[test]
#[should_panic(expected = "expected program exited with status 42, got success")]
fn wrong_outcome_panics() {
    report("").expect_outcome(Outcome::ProgramStatus(42));
}
