//! The kernel's clocks. Monotonic time counts timer ticks and interpolates
//! between them with the time-stamp counter, whose rate it learns from the
//! ticks themselves (no calibration loop at boot): its resolution is the
//! TSC's, far finer than the 10 ms tick, and it never goes backwards (a
//! reading is kept below the next tick's time, and never below the
//! previous reading). Real time is the CMOS clock's reading at boot plus
//! monotonic time. [`unix_time`] turns a CMOS date into seconds since 1970.

/// Nanoseconds per second.
pub const NANOS: u64 = 1_000_000_000;

/// Monotonic and real time from ticks and the TSC.
pub struct Clock {
    /// Nanoseconds per tick.
    period: u64,
    ticks: u64,
    /// TSC at the latest tick, and at the first one seen.
    last_tsc: u64,
    first: Option<(u64, u64)>,
    /// The latest reading (readings never go backwards).
    latest: u64,
    /// Real time at monotonic 0, in nanoseconds since 1970.
    epoch: u64,
}

impl Clock {
    /// A clock whose timer ticks every `period` nanoseconds.
    pub const fn new(period: u64) -> Clock {
        Clock {
            period,
            ticks: 0,
            last_tsc: 0,
            first: None,
            latest: 0,
            epoch: 0,
        }
    }

    /// Sets real time: `unix_seconds` was the time at monotonic `now_ns`.
    pub fn set_realtime(&mut self, unix_seconds: u64, now_ns: u64) {
        self.epoch = (unix_seconds * NANOS).saturating_sub(now_ns);
    }

    /// A timer tick happened; the TSC read `tsc`.
    pub fn tick(&mut self, tsc: u64) {
        self.ticks += 1;
        self.last_tsc = tsc;
        if self.first.is_none() {
            self.first = Some((self.ticks, tsc));
        }
    }

    /// Nanoseconds since the first tick's count began, at TSC `tsc`.
    pub fn monotonic(&mut self, tsc: u64) -> u64 {
        let base = self.ticks * self.period;
        let within = match self.first {
            Some((tick, first_tsc)) if self.ticks > tick && tsc >= self.last_tsc => {
                let rate = u128::from(self.last_tsc - first_tsc) / u128::from(self.ticks - tick);
                let ns = u128::from(tsc - self.last_tsc) * u128::from(self.period) / rate.max(1);
                // A tick may be due but not counted yet (interrupts are off
                // in the kernel): stay below it.
                (ns as u64).min(self.period - 1)
            }
            _ => 0,
        };
        self.latest = self.latest.max(base + within);
        self.latest
    }

    /// Nanoseconds since 1970 at TSC `tsc`.
    pub fn realtime(&mut self, tsc: u64) -> u64 {
        self.epoch + self.monotonic(tsc)
    }

    /// Real time at monotonic 0, in nanoseconds since 1970.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The first tick whose count makes monotonic time reach `ns`: a
    /// sleeper until `ns` wakes at that tick.
    pub fn tick_at(&self, ns: u64) -> u64 {
        ns.div_ceil(self.period)
    }
}

/// A date and time as the CMOS clock gives it (binary, 24-hour, UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Seconds since 1970-01-01 00:00 UTC; `None` for an impossible date or one
/// before 1970.
pub fn unix_time(t: DateTime) -> Option<u64> {
    let valid = (1970..10_000).contains(&t.year)
        && (1..=12).contains(&t.month)
        && (1..=31).contains(&t.day)
        && t.hour < 24
        && t.minute < 60
        && t.second < 60;
    if !valid {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), years from March.
    let (y, m) = if t.month <= 2 {
        (t.year - 1, t.month + 9)
    } else {
        (t.year, t.month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + t.day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::from(era) * 146_097 + u64::from(doe) - 719_468;
    Some(days * 86_400 + u64::from(t.hour * 3600 + t.minute * 60 + t.second))
}

/// A CMOS register value in binary-coded decimal, as binary.
pub fn from_bcd(v: u8) -> u32 {
    u32::from(v & 0x0f) + u32::from(v >> 4) * 10
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: u64 = 10_000_000;

    #[test]
    fn interpolates_between_ticks_with_the_tsc() {
        let mut c = Clock::new(PERIOD);
        assert_eq!(c.monotonic(500), 0, "no tick yet");
        c.tick(1_000);
        assert_eq!(c.monotonic(1_500), PERIOD, "the rate is not known yet");
        c.tick(2_000);
        c.tick(3_000);
        // 1,000 TSC ticks per 10 ms: 250 ticks are 2.5 ms.
        assert_eq!(c.monotonic(3_250), 3 * PERIOD + 2_500_000);
        // A tick overdue: stays below the next tick's time.
        assert_eq!(c.monotonic(9_000), 4 * PERIOD - 1);
        c.tick(4_000);
        assert_eq!(c.monotonic(4_000), 4 * PERIOD);
        assert_eq!(c.tick_at(4 * PERIOD), 4);
        assert_eq!(c.tick_at(4 * PERIOD + 1), 5);
    }

    #[test]
    fn never_goes_backwards() {
        let mut c = Clock::new(PERIOD);
        c.tick(0);
        c.tick(1_000);
        let a = c.monotonic(1_900);
        // A TSC that seems to go backwards (another reading source).
        assert_eq!(c.monotonic(1_100), a);
        c.set_realtime(1_700_000_000, 0);
        assert_eq!(c.realtime(1_900), 1_700_000_000 * NANOS + a);
    }

    #[test]
    fn converts_dates() {
        let t = |year, month, day, hour, minute, second| DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        assert_eq!(unix_time(t(1970, 1, 1, 0, 0, 0)), Some(0));
        assert_eq!(unix_time(t(2000, 3, 1, 0, 0, 0)), Some(951_868_800));
        assert_eq!(unix_time(t(2024, 2, 29, 12, 34, 56)), Some(1_709_210_096));
        assert_eq!(unix_time(t(2038, 1, 19, 3, 14, 8)), Some(1 << 31));
        assert_eq!(unix_time(t(1969, 12, 31, 0, 0, 0)), None);
        assert_eq!(unix_time(t(2024, 13, 1, 0, 0, 0)), None);
        assert_eq!(from_bcd(0x59), 59);
        assert_eq!(from_bcd(0x07), 7);
    }
}
