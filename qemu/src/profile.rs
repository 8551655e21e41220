//! `cargo run -- profile [SIZE]`: where the instructions of one door round
//! trip go. Boots `door_profile SIZE` (a client calling a null or echo
//! server in another process; `userland/src/bin/door_profile.rs`) with QEMU
//! logging every instruction it executes in user programs and the kernel
//! (`-d exec,nochain -singlestep -dfilter ...`: one translation block per
//! instruction, a `rep` instruction logged once per repetition, as icount
//! counts it; the firmware and the loader left out), cuts the log at the
//! client's two marks and into round trips where each call starts, and
//! attributes each instruction of a typical round trip to a part of the
//! path by the source it was compiled from (the ELFs' DWARF, inlined
//! frames included).
//!
//! The counts are those `cargo run -- bench` measures, give or take the
//! bench's loop: the same guest instructions, counted one by one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use addr2line::Loader;

use crate::images::{bare_dir, images};
use crate::symbols::{SourceFrame, source_frames};
use crate::{Error, Outcome, Report, Run};

/// The program `cargo run -- profile` boots.
pub const PROGRAM: &str = "door_profile";
/// The serial line prefix of the client's marks.
pub const PREFIX: &str = "PROFILE ";
/// Kernel addresses start here (the higher half).
const KERNEL_BASE: u64 = 0xffff_8000_0000_0000;
/// User programs are linked from here up (below: the firmware and the
/// loader).
const USER_START: u64 = 0x40_0000;

/// What the client announces before its profiled calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// The address of `profile_mark`, entered before and after the calls.
    pub mark: u64,
    /// The address of `profile_call`, entered at the start of each call.
    pub call: u64,
    /// Calls between the marks.
    pub rounds: usize,
    /// Argument (and result) bytes of each call.
    pub size: u64,
}

/// Parses `PROFILE mark=0x.. call=0x.. rounds=N size=N`.
pub fn parse_marks(line: &str) -> Option<Marks> {
    let mut fields = BTreeMap::new();
    for word in line.strip_prefix(PREFIX)?.split_whitespace() {
        let (key, value) = word.split_once('=')?;
        fields.insert(key, value);
    }
    let hex = |key| u64::from_str_radix(fields.get(key)?.strip_prefix("0x")?, 16).ok();
    Some(Marks {
        mark: hex("mark")?,
        call: hex("call")?,
        rounds: fields.get("rounds")?.parse().ok()?,
        size: fields.get("size")?.parse().ok()?,
    })
}

/// The guest address of a QEMU `-d exec` line,
/// `Trace CPU: HOST [CS_BASE/PC/FLAGS/CFLAGS] SYMBOL`.
pub fn executed(line: &str) -> Option<u64> {
    let fields = line.strip_prefix("Trace ")?.split_once('[')?.1;
    u64::from_str_radix(fields.split('/').nth(1)?, 16).ok()
}

/// The addresses the log's `lines` show executed from the first entry to
/// `marks.mark` to the last, both included (the log of a whole boot is
/// large: only these are kept). An entry may show more than once: an
/// instruction that faults (the first touch of a page) is logged again
/// when it runs again.
pub fn between_marks<S: AsRef<str>>(lines: impl IntoIterator<Item = S>, marks: &Marks) -> Vec<u64> {
    let mut pcs = Vec::new();
    for pc in lines.into_iter().filter_map(|l| executed(l.as_ref())) {
        if pc == marks.mark || !pcs.is_empty() {
            pcs.push(pc);
        }
    }
    let last = pcs
        .iter()
        .rposition(|&pc| pc == marks.mark)
        .map_or(0, |i| i + 1);
    pcs.truncate(last);
    pcs
}

/// The round trips of `pcs` between two entries to `marks.mark` with
/// `marks.rounds` entries to `marks.call` between them: each from an entry
/// to `marks.call` to the next (the last call, which runs into the second
/// mark, is left out). The log does not say which process ran an
/// instruction, and every program is linked at the same address: other
/// programs may run the marks' addresses too, but not with the client's
/// calls between them.
pub fn round_trips<'a>(pcs: &'a [u64], marks: &Marks) -> Vec<&'a [u64]> {
    let at_mark: Vec<usize> = (0..pcs.len()).filter(|&i| pcs[i] == marks.mark).collect();
    for pair in at_mark.windows(2) {
        let starts: Vec<usize> = (pair[0]..pair[1])
            .filter(|&i| pcs[i] == marks.call)
            .collect();
        if starts.len() == marks.rounds {
            return starts.windows(2).map(|w| &pcs[w[0]..w[1]]).collect();
        }
    }
    Vec::new()
}

/// The most common length among `trips` (an interrupt lengthens the round
/// trip it lands in), and the first round trip of that length.
pub fn typical<'a>(trips: &[&'a [u64]]) -> Option<&'a [u64]> {
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for trip in trips {
        *counts.entry(trip.len()).or_default() += 1;
    }
    let (&len, _) = counts
        .iter()
        .max_by_key(|(len, n)| (**n, std::cmp::Reverse(**len)))?;
    trips.iter().find(|t| t.len() == len).copied()
}

/// A part of the door path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// The client's and the server's own code and libdoor.
    User,
    /// The system-call entry and exit stubs (saving and restoring the
    /// user's registers).
    EntryExit,
    /// The dispatcher and the fast paths' own code: their prologues, the
    /// lock, the running thread's record (`kernel/src/syscall`).
    Dispatch,
    /// The descriptor table (`kernel/src/cap`).
    Descriptor,
    /// The door logic (`doors/src`).
    DoorLogic,
    /// The kernel's side of the door logic: the `door_arg_t` (read and
    /// written as `abi` encodes it), tokens of user memory, the unmap epoch
    /// (`kernel/src/task/ipc.rs`).
    DoorGlue,
    /// Copying arguments and results through the physical window
    /// (`kernel/src/mem/user.rs`, `kernel/src/mem/mod.rs`).
    Copy,
    /// Parking the caller, switching to the other thread (its address
    /// space, FPU state, kernel stack) and resuming it (`kernel/src/task`,
    /// `kernel/src/arch`, the tracing check).
    Handoff,
    /// Anything else in the kernel.
    OtherKernel,
}

impl Part {
    /// Its line in the table.
    pub fn describe(self) -> &'static str {
        match self {
            Part::User => "user code (client, server procedure, libdoor)",
            Part::EntryExit => "system call entry and exit stubs",
            Part::Dispatch => "dispatch and the fast paths' own code (syscall/)",
            Part::Descriptor => "descriptor lookup (kernel/src/cap)",
            Part::DoorLogic => "door logic (doors/src)",
            Part::DoorGlue => "kernel door glue: door_arg_t, tokens, epoch (task/ipc.rs, abi)",
            Part::Copy => "copies through the physical window (mem/user.rs, mem/mod.rs)",
            Part::Handoff => "park, switch, resume (task, arch, trace check)",
            Part::OtherKernel => "other kernel code",
        }
    }
}

/// The part of the path a kernel or user instruction at `pc` belongs to,
/// from its frames (innermost first): the innermost frame from this
/// workspace's sources decides; the stubs, written in assembly, go by
/// their names.
pub fn part_of(pc: u64, frames: &[SourceFrame]) -> Part {
    if pc < KERNEL_BASE {
        return Part::User;
    }
    let ours = frames.iter().find(|f| f.ours);
    let Some(SourceFrame {
        function,
        file: Some(file),
        ..
    }) = ours
    else {
        let named = |name: &str| frames.iter().any(|f| f.function.contains(name));
        return match () {
            _ if named("syscall_entry") || named("syscall_exit") => Part::EntryExit,
            _ if named("jump_to_user") => Part::Handoff,
            _ => Part::OtherKernel,
        };
    };
    // (file or directory, function name part: "" for any), first match.
    let parts = [
        ("doors/", "", Part::DoorLogic),
        ("abi/", "", Part::DoorGlue),
        ("kernel/src/cap/", "", Part::Descriptor),
        ("kernel/src/mem/user.rs", "", Part::Copy),
        ("kernel/src/mem/mod.rs", "", Part::Copy),
        ("kernel/src/mem/space.rs", "unmap_epoch", Part::DoorGlue),
        ("kernel/src/task/ipc.rs", "", Part::DoorGlue),
        ("kernel/src/syscall/", "", Part::Dispatch),
        ("kernel/src/task/", "", Part::Handoff),
        ("kernel/src/arch/", "", Part::Handoff),
        ("kernel/src/mem/", "", Part::Handoff),
        ("kernel/src/trace.rs", "", Part::Handoff),
    ];
    parts
        .iter()
        .find(|(prefix, name, _)| file.starts_with(prefix) && function.contains(name))
        .map_or(Part::OtherKernel, |(.., part)| *part)
}

/// Where one round trip's instructions went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub marks: Marks,
    /// The round trips found, and how many had the typical length.
    pub round_trips: usize,
    pub typical: usize,
    /// Instructions of the typical round trip.
    pub instructions: usize,
    /// Instructions per part, in [`Part`] order (parts with none left
    /// out), on the call leg and on the return leg: the call leg runs from
    /// the client's call to the server's first instruction, the return leg
    /// from there (the server procedure, its door_return) to the client's
    /// next call.
    pub parts: Vec<(Part, [usize; 2])>,
    /// Each instruction: its address, part and innermost source line of
    /// this workspace (or function), in execution order.
    pub listing: Vec<(u64, Part, String)>,
}

/// Profiles the round trips that `marks` delimit in `pcs` (the addresses
/// executed, in order), with `frames` giving each address's source frames
/// and place.
pub fn profile(
    pcs: &[u64],
    marks: Marks,
    mut frames: impl FnMut(u64) -> Vec<SourceFrame>,
) -> Option<Profile> {
    let trips = round_trips(pcs, &marks);
    let trip = typical(&trips)?;
    let mut parts: BTreeMap<Part, [usize; 2]> = BTreeMap::new();
    let mut listing = Vec::with_capacity(trip.len());
    let mut known: BTreeMap<u64, (Part, String)> = BTreeMap::new();
    // The return leg starts with the first user instruction after the
    // kernel's.
    let (mut leg, mut in_kernel) = (0, false);
    for &pc in trip {
        let (part, place) = known
            .entry(pc)
            .or_insert_with(|| {
                let f = frames(pc);
                (part_of(pc, &f), place_of(&f))
            })
            .clone();
        match part {
            Part::User if in_kernel => leg = 1,
            Part::User => {}
            _ => in_kernel = true,
        }
        parts.entry(part).or_default()[leg] += 1;
        listing.push((pc, part, place));
    }
    Some(Profile {
        marks,
        round_trips: trips.len(),
        typical: trips.iter().filter(|t| t.len() == trip.len()).count(),
        instructions: trip.len(),
        parts: parts.into_iter().collect(),
        listing,
    })
}

/// The table `cargo run -- profile` prints.
pub fn table(p: &Profile) -> String {
    let mut text = format!(
        "door round trip, {} bytes of arguments and results, client and server in two \
         processes: {} instructions\n({} round trips profiled, {} of this length)\n\n",
        p.marks.size, p.instructions, p.round_trips, p.typical
    );
    text.push_str("  call  return   total\n");
    let mut legs = [0; 2];
    for (part, [call, back]) in &p.parts {
        let n = call + back;
        let share = 100.0 * n as f64 / p.instructions as f64;
        let _ = writeln!(
            text,
            "{call:>6}  {back:>6}  {n:>6}  {share:>5.1} %  {}",
            part.describe()
        );
        (legs[0], legs[1]) = (legs[0] + call, legs[1] + back);
    }
    let _ = writeln!(
        text,
        "{:>6}  {:>6}  {:>6}  (call leg: the client's call to the server's first instruction)",
        legs[0], legs[1], p.instructions
    );
    text
}

/// The listing `--listing FILE` writes: one line per instruction.
pub fn listing(p: &Profile) -> String {
    let mut text = String::new();
    for (pc, part, place) in &p.listing {
        let _ = writeln!(text, "{pc:#018x}  {:<11}  {place}", format!("{part:?}"));
    }
    text
}

/// The innermost source line of this workspace among `frames`, with its
/// function, else the innermost function.
fn place_of(frames: &[SourceFrame]) -> String {
    let ours = frames.iter().find(|f| f.ours && f.file.is_some());
    match (ours, frames.first()) {
        (Some(f), _) => format!(
            "{}:{} ({})",
            f.file.as_deref().unwrap_or("??"),
            f.line.unwrap_or(0),
            f.function
        ),
        (None, Some(f)) => f.function.clone(),
        (None, None) => "??".into(),
    }
}

/// Boots `door_profile SIZE` as `run` says (the programs and QEMU's log
/// options are set here) and profiles its round trips.
pub fn run_profile(run: &Run, size: u64) -> Result<(Report, Profile), Error> {
    // One log file per profile (tests run several in one process).
    static PROFILES: AtomicUsize = AtomicUsize::new(0);
    let n = PROFILES.fetch_add(1, Ordering::Relaxed);
    let log = bare_dir().join(format!("profile-{}-{n}.log", std::process::id()));
    let mut run = run.clone();
    run.programs = vec![vec![PROGRAM.into(), size.to_string()]];
    run.icount = false;
    // Only user and kernel code: the firmware and the loader, which run
    // millions of instructions before the kernel, stay out of the log.
    let ranges = format!(
        "{USER_START:#x}..{:#x},{KERNEL_BASE:#x}..{:#x}",
        KERNEL_BASE - 1,
        u64::MAX
    );
    for arg in [
        "-d",
        "exec,nochain",
        "-singlestep",
        "-dfilter",
        &ranges,
        "-D",
    ] {
        run.qemu_args.push(arg.into());
    }
    run.qemu_args.push(log.display().to_string());
    let report = crate::run(&run);
    let pcs = report.and_then(|report| {
        if report.outcome != Outcome::Success {
            return Err(Error::Setup(format!(
                "{PROGRAM} {size} did not succeed: {}",
                report.outcome
            )));
        }
        let marks = report
            .lines_with(PREFIX)
            .find_map(parse_marks)
            .ok_or_else(|| Error::Setup(format!("{PROGRAM} printed no `{PREFIX}` line")))?;
        let file =
            File::open(&log).map_err(|e| Error::io(format!("reading {}", log.display()), e))?;
        let lines = BufReader::new(file).lines().map_while(Result::ok);
        Ok((report, marks, between_marks(lines, &marks)))
    });
    let _ = std::fs::remove_file(&log);
    let (report, marks, pcs) = pcs?;
    let built = images(false)?;
    let program = built.require(PROGRAM)?.elf.clone();
    let loaders = [built.kernel.clone(), program].map(|p: PathBuf| Loader::new(p).ok());
    let profile = profile(&pcs, marks, |pc| {
        let loader = &loaders[usize::from(pc < KERNEL_BASE)];
        loader
            .as_ref()
            .map_or_else(Vec::new, |l| source_frames(l, pc))
    })
    .ok_or_else(|| Error::Setup("no whole round trip between the marks in the log".into()))?;
    Ok((report, profile))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKS: Marks = Marks {
        mark: 0x10,
        call: 0x20,
        rounds: 4,
        size: 0,
    };

    fn line(pc: u64) -> String {
        format!("Trace 0: 0x7f00 [0000000000000000/{pc:016x}/00000040/ff000201] ")
    }

    #[test]
    fn reads_the_marks() {
        assert_eq!(
            parse_marks("PROFILE mark=0x10 call=0x20 rounds=4 size=0"),
            Some(MARKS)
        );
        assert_eq!(parse_marks("PROFILE mark=0x10 rounds=4 size=0"), None);
        assert_eq!(parse_marks("BENCH x 1 instructions"), None);
    }

    #[test]
    fn cuts_round_trips_between_the_marks() {
        // Before the first mark, 4 calls of 3, 3, 5 and 3 instructions, the
        // second mark, more.
        let pcs = [
            0x20, 0x1, 0x10, 0x2, 0x20, 0x3, 0x4, 0x20, 0x5, 0x6, 0x20, 0x7, 0x8, 0x9, 0xa, 0x20,
            0x1, 0x2, 0x10, 0x20, 0x1,
        ];
        let mut log: Vec<String> = pcs.iter().map(|&pc| line(pc)).collect();
        log.insert(3, "unrelated line".into());
        let pcs = between_marks(&log, &MARKS);
        assert_eq!(pcs.len(), 17, "from the first mark to the second");
        let trips = round_trips(&pcs, &MARKS);
        let lengths: Vec<usize> = trips.iter().map(|t| t.len()).collect();
        assert_eq!(lengths, [3, 3, 5]);
        assert_eq!(typical(&trips), Some(&[0x20, 0x3, 0x4][..]));
        // Without a second mark, nothing.
        assert!(round_trips(&pcs[..10], &MARKS).is_empty());
        // A mark logged twice (its first run faulted), or run by another
        // program before, changes nothing.
        let mut twice = log.clone();
        twice.insert(2, line(0x10));
        twice.insert(0, line(0x10));
        assert_eq!(round_trips(&between_marks(&twice, &MARKS), &MARKS).len(), 3);
        // With other than `rounds` calls between any two marks, nothing.
        let three = Marks { rounds: 3, ..MARKS };
        assert!(round_trips(&pcs, &three).is_empty());
        assert_eq!(executed(&line(0x1234)), Some(0x1234));
        assert_eq!(executed("Trace 0: 0x7f00 [0/zz/0]"), None);
        assert_eq!(typical(&[]), None);
    }

    /// A frame in `file`, one of this workspace's unless it is absolute.
    fn frame(function: &str, file: Option<&str>) -> SourceFrame {
        SourceFrame {
            function: function.into(),
            file: file.map(Into::into),
            line: Some(7),
            column: None,
            ours: file.is_some_and(|f| !f.starts_with('/')),
        }
    }

    #[test]
    fn attributes_instructions_to_parts() {
        let kernel = 0xffff_ffff_8000_1000;
        assert_eq!(part_of(0x40_0000, &[]), Part::User);
        let stub = [frame("kernel::arch::syscall::syscall_entry", None)];
        assert_eq!(part_of(kernel, &stub), Part::EntryExit);
        // A library frame inlined into the door logic counts as door logic.
        let inlined = [
            frame("core::option::Option::expect", Some("/rustc/x/option.rs")),
            frame("doors::slab::Slab::live_mut", Some("doors/src/slab.rs")),
            frame(
                "kernel::syscall::door::fast_null_call",
                Some("kernel/src/syscall/door.rs"),
            ),
        ];
        assert_eq!(part_of(kernel, &inlined), Part::DoorLogic);
        let cases = [
            ("f", "kernel/src/cap/table.rs", Part::Descriptor),
            ("f", "kernel/src/mem/user.rs", Part::Copy),
            ("f", "abi/src/wire.rs", Part::DoorGlue),
            ("f", "kernel/src/task/ipc.rs", Part::DoorGlue),
            ("unmap_epoch", "kernel/src/mem/space.rs", Part::DoorGlue),
            ("activate_root", "kernel/src/mem/space.rs", Part::Handoff),
            ("f", "kernel/src/syscall/mod.rs", Part::Dispatch),
            ("f", "kernel/src/task/switch.rs", Part::Handoff),
            ("f", "kernel/src/fs/file.rs", Part::OtherKernel),
        ];
        for (function, file, part) in cases {
            let frames = [frame(function, Some(file))];
            assert_eq!(part_of(kernel, &frames), part, "{function} in {file}");
        }
        assert_eq!(part_of(kernel, &[]), Part::OtherKernel);
    }

    #[test]
    fn profiles_the_typical_round_trip() {
        let pcs = [
            0x10,
            0x20,
            0xffff_ffff_8000_0000,
            0x21,
            0x20,
            0xffff_ffff_8000_0000,
            0x21,
        ];
        let log: Vec<String> = pcs
            .iter()
            .chain(&[0x20, 0x10])
            .map(|&pc| line(pc))
            .collect();
        let marks = Marks { rounds: 3, ..MARKS };
        let p = profile(&between_marks(log, &marks), marks, |pc| {
            let file = (pc >= KERNEL_BASE).then_some("doors/src/fastpath.rs");
            vec![frame("f", file)]
        })
        .expect("a profile");
        assert_eq!((p.round_trips, p.typical, p.instructions), (2, 2, 3));
        // The call leg ends where user code starts again.
        assert_eq!(p.parts, [(Part::User, [1, 1]), (Part::DoorLogic, [1, 0])]);
        assert_eq!(p.listing.len(), 3);
        assert_eq!(p.listing[1].2, "doors/src/fastpath.rs:7 (f)");
        assert_eq!(p.listing[0].2, "f", "no line of ours: the function");
        let table = table(&p);
        assert!(table.contains("3 instructions"), "{table}");
        assert!(table.contains("door logic"), "{table}");
        assert_eq!(listing(&p).lines().count(), 3);
    }
}
