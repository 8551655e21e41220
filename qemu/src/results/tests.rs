//! Reading init's START/RESULT lines into program results.

use super::*;

fn plan(lines: &[&str]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const SEQUENTIAL: &str = "\
boot
START 1 cmd=hello
hello from ring 3
RESULT 1 pass status=0 leaks=none tsc=100 cmd=hello
START 2 cmd=outcome fault
[ERROR] user fault: process 5 (outcome) thread 6: #PF page fault (vector 14) at rip=0x400030 error=0x6 cr2=0x0; process killed
qemu: rip 0x400030 is outcome::fault at userland/src/bin/outcome.rs:47:19
RESULT 2 fault status=142 leaks=none tsc=200 future=1 cmd=outcome fault
START 3 cmd=outcome leak
RESULT 3 leak status=0 leaks=doors:+1,free_frames:-2 tsc=300 cmd=outcome leak
START 4 cmd=nosuch
RESULT 4 not-started status=- leaks=unchecked tsc=- error=ENOENT cmd=nosuch
START 5 cmd=outcome hang
still going
";

#[test]
fn reads_each_programs_result() {
    let lines: Vec<&str> = SEQUENTIAL.lines().collect();
    let times: Vec<Duration> = (0..lines.len() as u64).map(secs).collect();
    let plan = plan(&[
        "hello",
        "outcome fault",
        "outcome leak",
        "nosuch",
        "outcome hang",
        "hello",
    ]);
    let r = program_results(&plan, false, &lines, &times);
    let verdicts: Vec<Verdict> = r.iter().map(|p| p.verdict).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Pass,
            Verdict::Fault,
            Verdict::Leak,
            Verdict::NotStarted,
            Verdict::Unfinished,
            Verdict::NotRun
        ]
    );
    assert_eq!(r[0].status, Some(0));
    assert_eq!(r[0].leaks, Some(vec![]));
    assert_eq!(r[0].tsc, Some(100));
    assert_eq!(r[0].duration, Some(secs(2)));
    assert_eq!(
        r[0].log,
        "START 1 cmd=hello\nhello from ring 3\nRESULT 1 pass status=0 leaks=none tsc=100 cmd=hello\n"
    );
    assert_eq!(
        (r[1].name.as_str(), r[1].args.as_slice()),
        ("outcome", &["fault".to_string()][..])
    );
    assert_eq!(r[1].status, Some(142));
    let fault = r[1].fault.as_ref().unwrap();
    assert!(fault.report.contains("#PF page fault"));
    assert_eq!(
        fault.symbol.as_deref(),
        Some("qemu: rip 0x400030 is outcome::fault at userland/src/bin/outcome.rs:47:19")
    );
    assert_eq!(
        r[2].leaks,
        Some(vec![
            Leak {
                counter: "doors".into(),
                change: 1
            },
            Leak {
                counter: "free_frames".into(),
                change: -2
            }
        ])
    );
    assert_eq!(
        (r[3].status, r[3].error.as_deref(), r[3].leaks.as_ref()),
        (None, Some("ENOENT"), None)
    );
    assert_eq!(r[4].log, "START 5 cmd=outcome hang\nstill going\n");
    assert_eq!((r[4].status, r[4].duration), (None, None));
    assert_eq!((r[5].log.as_str(), r[5].status), ("", None));
    assert_eq!(r[1].command(), "outcome fault");
}

#[test]
fn programs_run_together_share_the_log() {
    let log = "START 1 cmd=a\nSTART 2 cmd=b\nb out\nRESULT 2 fail status=3 leaks=unchecked tsc=9 cmd=b\n\
               RESULT 1 pass status=0 leaks=unchecked tsc=12 cmd=a\ninit: leak: doors:+1 (after all)\n";
    let lines: Vec<&str> = log.lines().collect();
    let times: Vec<Duration> = (0..lines.len() as u64).map(secs).collect();
    let r = program_results(&plan(&["a", "b"]), true, &lines, &times);
    assert_eq!((r[0].verdict, r[1].verdict), (Verdict::Pass, Verdict::Fail));
    assert_eq!((r[0].leaks.as_ref(), r[1].status), (None, Some(3)));
    assert_eq!(
        (r[0].duration, r[1].duration),
        (Some(secs(4)), Some(secs(2)))
    );
    assert_eq!(r[0].log, log);
    assert_eq!(
        run_leaks(&lines),
        Some(vec![Leak {
            counter: "doors".into(),
            change: 1
        }])
    );
    assert_eq!(run_leaks(&["init: no leaks (...)"]), Some(vec![]));
    assert_eq!(run_leaks(&["boot"]), None);
}

#[test]
fn ignores_lines_that_only_look_like_results() {
    for line in [
        "RESULT x pass status=0 cmd=a",
        "RESULT 1 maybe status=0 cmd=a",
        "RESULT 1 pass status=0",
        "RESULT 1 pass leaks=doors cmd=a",
        "RESULT 1 pass oops cmd=a",
        "a RESULT 1 pass cmd=a",
    ] {
        assert_eq!(parse_result(line), None, "{line}");
    }
    assert_eq!(parse_start("START 3 cmd=x y"), Some(3));
    assert_eq!(parse_start("START three cmd=x"), None);
    assert_eq!(parse_leaks("doors:+1,threads:+2").map(|l| l.len()), Some(2));
    assert_eq!(parse_leaks("doors"), None);
}
