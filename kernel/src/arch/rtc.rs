//! The CMOS real-time clock, read once at boot for the wall-clock time.

use kernel::clock::{DateTime, from_bcd, unix_time};
use x86_64::instructions::port::Port;

fn read(register: u8) -> u8 {
    // SAFETY: the CMOS index and data ports, used only here (at boot, with
    // interrupts off); bit 7 of the index keeps NMIs disabled.
    unsafe {
        Port::<u8>::new(0x70).write(0x80 | register);
        Port::<u8>::new(0x71).read()
    }
}

/// The clock's registers, read when no update is in progress.
fn registers() -> [u8; 7] {
    let snapshot = || {
        while read(0x0a) & 0x80 != 0 {}
        [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32].map(read)
    };
    // Read until two readings agree (an update may slip in between).
    let mut last = snapshot();
    loop {
        let next = snapshot();
        if next == last {
            return next;
        }
        last = next;
    }
}

/// Seconds since 1970 (UTC, as QEMU's clock keeps it), if the clock holds
/// a valid date.
pub fn unix_now() -> Option<u64> {
    let [sec, min, hour, day, month, year, century] = registers();
    let status_b = read(0x0b);
    let binary = status_b & 0x04 != 0;
    let decode = |v: u8| if binary { u32::from(v) } else { from_bcd(v) };
    let pm = hour & 0x80 != 0;
    let mut hour = decode(hour & 0x7f);
    if status_b & 0x02 == 0 {
        // 12-hour mode: 12 AM is 0, 12 PM is 12.
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let century = match decode(century) {
        c @ 19..=99 => c,
        _ => 20,
    };
    unix_time(DateTime {
        year: century * 100 + decode(year),
        month: decode(month),
        day: decode(day),
        hour,
        minute: decode(min),
        second: decode(sec),
    })
}
