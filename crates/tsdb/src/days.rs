//! Day partitions: the day number of a millisecond timestamp, and its `YYYY-MM-DD` name.

pub const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 (UTC) of a millisecond timestamp.
pub fn day_of(t_ms: i64) -> i32 {
    t_ms.div_euclid(DAY_MS) as i32
}

/// First millisecond of `day`.
pub fn day_start(day: i32) -> i64 {
    i64::from(day) * DAY_MS
}

/// `YYYY-MM-DD` of a day number (proleptic Gregorian, H. Hinnant's civil-from-days).
pub fn day_name(day: i32) -> String {
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Inverse of [`day_name`].
pub fn parse_day_name(s: &str) -> Option<i32> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let day = era * 146_097 + doe - 719_468;
    let day = i32::try_from(day).ok()?;
    (day_name(day) == s).then_some(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(day_name(0), "1970-01-01");
        assert_eq!(day_name(day_of(1_795_244_400_000)), "2026-11-21");
        assert_eq!(day_of(-1), -1);
        for d in [-800, -1, 0, 59, 365, 11_016, 20_000, 40_000] {
            assert_eq!(parse_day_name(&day_name(d)), Some(d));
        }
        assert_eq!(parse_day_name("2026-02-30"), None);
        assert_eq!(parse_day_name("junk"), None);
    }
}
