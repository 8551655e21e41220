//! `cargo run -- profile`: one door round trip, taken apart instruction by
//! instruction from QEMU's log of every instruction it executes. The test
//! checks the profile's shape (the round trips found, every instruction
//! counted once and placed in a part of the path, the parts a door call
//! with arguments goes through), never how many instructions a part takes.

use qemu::profile::{Part, run_profile};
use qemu::{Run, test_timeout};

#[test]
fn a_door_round_trip_taken_apart() {
    let mut run = Run::new(&[]);
    // Logging every instruction is slow, the more so beside other tests.
    run.timeout = Some(4 * test_timeout());
    let (report, profile) = run_profile(&run, 16).expect("a profile");
    report.expect_success().expect_no_leaks();
    assert_eq!(profile.marks.size, 16);
    // Every call between the marks but the last starts a round trip.
    assert_eq!(profile.round_trips, profile.marks.rounds - 1);
    assert!(profile.typical * 2 > profile.round_trips, "{profile:?}");
    let counted: usize = profile
        .parts
        .iter()
        .map(|(_, [call, back])| call + back)
        .sum();
    assert_eq!(counted, profile.instructions);
    assert_eq!(profile.listing.len(), profile.instructions);
    // The round trip starts where the client's call does, in user code.
    assert_eq!(profile.listing[0].0, profile.marks.call);
    assert_eq!(profile.listing[0].1, Part::User);
    // Both legs enter and leave the kernel, run door logic and switch.
    let on_leg = |part, leg: usize| profile.parts.iter().any(|(p, n)| *p == part && n[leg] > 0);
    for leg in [0, 1] {
        for part in [
            Part::User,
            Part::EntryExit,
            Part::DoorLogic,
            Part::Copy,
            Part::Handoff,
        ] {
            assert!(
                on_leg(part, leg),
                "no instruction in {part:?} on leg {leg}: {profile:?}"
            );
        }
    }
    // The descriptor is looked up on the call.
    assert!(on_leg(Part::Descriptor, 0) && !on_leg(Part::Descriptor, 1));
    let has = |part| (0..2).any(|leg| on_leg(part, leg));
    for part in [
        Part::User,
        Part::EntryExit,
        Part::Dispatch,
        Part::Descriptor,
        Part::DoorLogic,
        Part::DoorGlue,
        Part::Copy,
        Part::Handoff,
    ] {
        assert!(has(part), "no instruction in {part:?}: {profile:?}");
    }
    assert!(
        profile
            .listing
            .iter()
            .all(|(_, _, place)| !place.is_empty())
    );
    let table = qemu::profile::table(&profile);
    assert!(table.contains(&format!("{} instructions", profile.instructions)));
}
