//! Which backups to keep: restic's `forget` policy, which sysadmins already know. A
//! backup is kept if any rule keeps it: the last N; the newest of each of the last N
//! days, ISO weeks, months and years that have a backup (UTC buckets, counting back
//! from the newest; while a rule still has room, the oldest backup is kept too, as
//! restic does); everything within a duration of the newest backup (as restic counts).
//! kronic adds two rules of its own: the newest backup is always kept, and
//! `--keep-days 0` keeps everything. A span beyond the calendar keeps everything.

use chrono::{DateTime, Datelike, Months, TimeDelta, Utc};

/// `1y5m7d2h`: calendar years, months and days, then hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl Span {
    /// Parses `30d`, `12h`, `1y5m7d2h` (restic's form). Each number must fit in 32 bits,
    /// and a span of zero is refused: it would keep nothing by itself, while
    /// `--keep-days 0` keeps everything, and one must not be mistaken for the other.
    pub fn parse(s: &str) -> Result<Span, String> {
        let shape = || format!("{s:?}: a duration like 30d, 12h or 1y6m");
        let mut span = Span::default();
        let mut digits = String::new();
        let mut any = false;
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if digits.is_empty() {
                return Err(shape());
            }
            let n: u32 = digits.parse().map_err(|_| {
                format!("{s:?}: {digits}{c} is out of range (at most 4294967295 of a unit)")
            })?;
            digits.clear();
            let unit = match c {
                'y' => &mut span.years,
                'm' => &mut span.months,
                'd' => &mut span.days,
                'h' => &mut span.hours,
                _ => return Err(shape()),
            };
            *unit = unit
                .checked_add(n)
                .ok_or_else(|| format!("{s:?} is out of range"))?;
            any = true;
        }
        if !any || !digits.is_empty() {
            return Err(shape());
        }
        if span == Span::default() {
            return Err(format!(
                "{s:?} is zero: it would keep nothing by itself; use --keep-days 0 to keep every backup, or --keep-last 1 to keep only the newest"
            ));
        }
        Ok(span)
    }

    /// `t` minus this span, by the calendar; None when that is before the calendar
    /// begins (chrono's range): then every backup is within the span.
    fn before(self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let months = u64::from(self.years) * 12 + u64::from(self.months);
        let t = t.checked_sub_months(Months::new(u32::try_from(months).ok()?))?;
        let t = t.checked_sub_signed(TimeDelta::try_days(i64::from(self.days))?)?;
        t.checked_sub_signed(TimeDelta::try_hours(i64::from(self.hours))?)
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// A retention policy. All zero and no `within`: nothing is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    pub last: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
    pub within: Option<Span>,
    /// `--keep-days 0`: every backup is kept, whatever the other rules say (a backup
    /// any rule keeps is kept).
    pub all: bool,
}

impl Policy {
    /// Keeps everything: `--keep-days 0`, or no rule at all.
    pub fn keep_all(&self) -> bool {
        self.all
            || Policy {
                all: false,
                ..*self
            } == Policy::default()
    }
}

/// What retention needs to know of a backup, wherever it is kept (the folder, the
/// bucket).
pub trait Dated {
    /// The time in its name.
    fn time(&self) -> DateTime<Utc>;
    fn name(&self) -> &str;
    /// Where it is, for messages: a path or a URL.
    fn location(&self) -> String;
}

/// What the policy decided for one backup.
#[derive(Debug, Clone)]
pub struct Decision<B> {
    pub backup: B,
    pub keep: bool,
    /// The rules that keep it.
    pub reasons: Vec<String>,
}

type Bucketer = fn(DateTime<Utc>, usize) -> i64;

fn day(t: DateTime<Utc>, _: usize) -> i64 {
    i64::from(t.year()) * 10_000 + i64::from(t.month()) * 100 + i64::from(t.day())
}

fn week(t: DateTime<Utc>, _: usize) -> i64 {
    let w = t.iso_week();
    i64::from(w.year()) * 100 + i64::from(w.week())
}

fn month(t: DateTime<Utc>, _: usize) -> i64 {
    i64::from(t.year()) * 100 + i64::from(t.month())
}

fn year(t: DateTime<Utc>, _: usize) -> i64 {
    i64::from(t.year())
}

fn each(_: DateTime<Utc>, nr: usize) -> i64 {
    nr as i64
}

/// Decides for every backup in `backups` (any order; returned newest first).
pub fn apply<B: Dated>(policy: &Policy, mut backups: Vec<B>) -> Vec<Decision<B>> {
    backups.sort_by(|a, b| b.time().cmp(&a.time()).then(b.name().cmp(a.name())));
    // `within` counts back from the newest backup, as restic's does: backups that
    // stopped for a while never make the older ones expire all at once.
    let within_since = match (policy.within, backups.first()) {
        (Some(span), Some(newest)) => Some(span.before(newest.time())),
        _ => None,
    };
    if policy.keep_all() {
        return backups
            .into_iter()
            .map(|backup| Decision {
                backup,
                keep: true,
                reasons: vec!["keep-days 0 keeps every backup".into()],
            })
            .collect();
    }
    let mut rules: [(u32, Bucketer, Option<i64>, &str); 5] = [
        (policy.last, each, None, "last"),
        (policy.daily, day, None, "daily"),
        (policy.weekly, week, None, "weekly"),
        (policy.monthly, month, None, "monthly"),
        (policy.yearly, year, None, "yearly"),
    ];
    let count = backups.len();
    let mut out = Vec::with_capacity(count);
    for (nr, backup) in backups.into_iter().enumerate() {
        let mut reasons = Vec::new();
        if nr == 0 {
            reasons.push("newest".to_string());
        }
        if let (Some(span), Some(since)) = (policy.within, within_since)
            && since.is_none_or(|since| backup.time() > since)
        {
            reasons.push(format!("within {span}"));
        }
        for (left, bucket, last, name) in rules.iter_mut() {
            if *left == 0 {
                continue;
            }
            let val = bucket(backup.time(), nr);
            if Some(val) != *last {
                reasons.push(name.to_string());
            } else if nr == count - 1 {
                // The oldest is kept too while the rule has room: the longest history.
                reasons.push(format!("{name} (oldest, the rule has room)"));
            } else {
                continue;
            }
            *last = Some(val);
            *left -= 1;
        }
        out.push(Decision {
            keep: !reasons.is_empty(),
            backup,
            reasons,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    /// A backup as retention sees it: a time and a name.
    struct At(DateTime<Utc>, String);

    impl Dated for At {
        fn time(&self) -> DateTime<Utc> {
            self.0
        }
        fn name(&self) -> &str {
            &self.1
        }
        fn location(&self) -> String {
            self.1.clone()
        }
    }

    fn backup(t: DateTime<Utc>) -> At {
        At(t, t.format("%Y-%m-%d %H:%M").to_string())
    }

    fn kept(policy: Policy, times: &[DateTime<Utc>]) -> Vec<String> {
        apply(&policy, times.iter().map(|t| backup(*t)).collect())
            .into_iter()
            .filter(|d| d.keep)
            .map(|d| d.backup.1)
            .collect()
    }

    #[test]
    fn durations() {
        assert_eq!(
            Span::parse("30d"),
            Ok(Span {
                days: 30,
                ..Span::default()
            })
        );
        assert_eq!(
            Span::parse("1y5m7d2h"),
            Ok(Span {
                years: 1,
                months: 5,
                days: 7,
                hours: 2
            })
        );
        for bad in [
            "",
            "30",
            "d",
            "3w",
            "-1d",
            "1.5d",
            "0d",
            "0y0h",
            "4294967296d",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Span::parse("99999999999d")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(Span::parse("0d").unwrap_err().contains("--keep-days 0"));
        assert_eq!(Span::parse("1y1d").unwrap().to_string(), "1y1d");
    }

    /// Spans beyond the calendar keep everything: never measured from somewhere else,
    /// never a panic, never a wrap-around.
    #[test]
    fn spans_beyond_the_calendar_keep_everything() {
        let times = [at(2024, 3, 31, 2), at(2001, 1, 1, 0), at(1970, 1, 1, 0)];
        for span in [
            "262144y",
            "3145728m",
            "4294967295d",
            "2147483648h",
            "100000000d",
            "4294967295y4294967295m4294967295d4294967295h",
        ] {
            let p = Policy {
                within: Some(Span::parse(span).unwrap()),
                ..Policy::default()
            };
            assert_eq!(kept(p, &times).len(), 3, "{span}");
        }
    }

    #[test]
    fn keep_days_zero_keeps_everything_with_any_other_rule() {
        let times: Vec<_> = (1..=7).map(|d| at(2024, 1, d, 2)).collect();
        let p = Policy {
            all: true,
            last: 2,
            ..Policy::default()
        };
        assert_eq!(kept(p, &times).len(), 7);
    }

    /// The case from restic's forum: four backups in one month and --keep-monthly 4
    /// keep two, the newest and (the rule having room left) the oldest.
    #[test]
    fn a_rule_with_room_left_keeps_the_oldest_too() {
        let times = [
            at(2024, 1, 2, 13),
            at(2024, 1, 3, 1),
            at(2024, 1, 4, 20),
            at(2024, 1, 4, 21),
        ];
        let p = Policy {
            monthly: 4,
            ..Policy::default()
        };
        assert_eq!(kept(p, &times), ["2024-01-04 21:00", "2024-01-02 13:00"]);
    }

    #[test]
    fn a_year_of_dailies_with_gaps_and_several_a_day() {
        // Every day of 2023 at 02:00 except the 10th of each month, plus a second
        // backup at 14:00 on the 1st of each month.
        let mut times = Vec::new();
        let mut t = at(2023, 1, 1, 2);
        while t.year() == 2023 {
            if t.day() != 10 {
                times.push(t);
            }
            if t.day() == 1 {
                times.push(t + TimeDelta::hours(12));
            }
            t += TimeDelta::days(1);
        }
        let p = Policy {
            daily: 7,
            weekly: 4,
            monthly: 6,
            yearly: 2,
            ..Policy::default()
        };
        let k = kept(p, &times);
        // 7 dailies: Dec 31 back to Dec 25.
        for d in 25..=31 {
            assert!(k.contains(&format!("2023-12-{d} 02:00")), "{d}: {k:?}");
        }
        // Weeklies: the newest of ISO weeks 52, 51, 50, 49 (Sundays 31, 24, 17, 10;
        // the 10th is missing, so Saturday the 9th stands for week 49).
        for d in ["2023-12-24 02:00", "2023-12-17 02:00", "2023-12-09 02:00"] {
            assert!(k.contains(&d.to_string()), "{d}: {k:?}");
        }
        // Monthlies: the last day of Dec back to Jul.
        for d in [
            "2023-11-30 02:00",
            "2023-10-31 02:00",
            "2023-09-30 02:00",
            "2023-08-31 02:00",
            "2023-07-31 02:00",
        ] {
            assert!(k.contains(&d.to_string()), "{d}: {k:?}");
        }
        // Yearly has room for two but one year exists: the oldest is kept as well.
        assert!(k.contains(&"2023-01-01 02:00".to_string()), "{k:?}");
        // The 14:00 backup of Dec 1 is newer than 02:00 that day; neither is Nov's.
        assert!(!k.contains(&"2023-06-30 02:00".to_string()));
        assert_eq!(k.len(), 7 + 3 + 5 + 1, "{k:?}");
    }

    #[test]
    fn iso_week_53_and_the_year_boundary() {
        // 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 2020-W53.
        let times = [
            at(2020, 12, 28, 2),
            at(2020, 12, 31, 2),
            at(2021, 1, 3, 2),
            at(2021, 1, 4, 2),
        ];
        let weekly = Policy {
            weekly: 2,
            ..Policy::default()
        };
        assert_eq!(
            kept(weekly, &times),
            ["2021-01-04 02:00", "2021-01-03 02:00"]
        );
        let yearly = Policy {
            yearly: 2,
            ..Policy::default()
        };
        assert_eq!(
            kept(yearly, &times),
            ["2021-01-04 02:00", "2020-12-31 02:00"]
        );
        let monthly = Policy {
            monthly: 1,
            ..Policy::default()
        };
        assert_eq!(kept(monthly, &times), ["2021-01-04 02:00"]);
    }

    #[test]
    fn within_counts_back_from_the_newest() {
        let times = [
            at(2024, 3, 31, 2),
            at(2024, 3, 2, 2),
            at(2024, 3, 1, 1),
            at(2024, 2, 28, 2),
        ];
        let p = Policy {
            within: Span::parse("30d").ok(),
            ..Policy::default()
        };
        // 30 days before Mar 31 02:00 is Mar 1 02:00: Mar 1 01:00 is outside.
        assert_eq!(kept(p, &times), ["2024-03-31 02:00", "2024-03-02 02:00"]);
        let p = Policy {
            within: Span::parse("1m").ok(),
            ..Policy::default()
        };
        // One calendar month before Mar 31 is Feb 29 (2024 is a leap year).
        assert_eq!(
            kept(p, &times),
            ["2024-03-31 02:00", "2024-03-02 02:00", "2024-03-01 01:00"]
        );
    }

    #[test]
    fn last_and_the_newest_always() {
        let times = [at(2024, 1, 1, 1), at(2024, 1, 1, 2), at(2024, 1, 1, 3)];
        let p = Policy {
            last: 2,
            ..Policy::default()
        };
        assert_eq!(kept(p, &times), ["2024-01-01 03:00", "2024-01-01 02:00"]);
        // A policy that keeps nothing by itself still keeps the newest.
        let p = Policy {
            within: Span::parse("1h").ok(),
            ..Policy::default()
        };
        assert_eq!(
            kept(p, &[at(2000, 1, 1, 0), at(1999, 1, 1, 0)]),
            ["2000-01-01 00:00"]
        );
        assert_eq!(
            kept(Policy::default(), &times).len(),
            3,
            "keep-days 0 keeps all"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Up to 120 backups over about three years, several on some hours.
        fn timeline() -> impl Strategy<Value = Vec<DateTime<Utc>>> {
            prop::collection::vec(0i64..(3 * 365 * 24), 1..120).prop_map(|hours| {
                hours
                    .into_iter()
                    .map(|h| at(2023, 1, 1, 0) + TimeDelta::hours(h))
                    .collect()
            })
        }

        fn policy() -> impl Strategy<Value = Policy> {
            (
                0u32..6,
                0u32..10,
                0u32..6,
                0u32..6,
                0u32..3,
                prop::option::of((0u32..3, 0u32..14, 0u32..40, 0u32..48)),
                prop::bool::weighted(0.1),
            )
                .prop_map(|(last, daily, weekly, monthly, yearly, within, all)| {
                    Policy {
                        last,
                        daily,
                        weekly,
                        monthly,
                        yearly,
                        within: within
                            .map(|(years, months, days, hours)| Span {
                                years,
                                months,
                                days,
                                hours,
                            })
                            .filter(|s| *s != Span::default()),
                        all,
                    }
                })
        }

        fn kept_set(p: Policy, times: &[DateTime<Utc>]) -> std::collections::BTreeSet<String> {
            kept(p, times).into_iter().collect()
        }

        proptest! {
            /// Whatever the rules, the newest backup is kept.
            #[test]
            fn the_newest_is_always_kept(times in timeline(), p in policy()) {
                let newest = times.iter().max().unwrap().format("%Y-%m-%d %H:%M").to_string();
                prop_assert!(kept_set(p, &times).contains(&newest));
            }

            /// Raising any rule's number never removes a backup a smaller number kept.
            #[test]
            fn more_never_keeps_less(times in timeline(), p in policy(), rule in 0usize..6, more in 1u32..5) {
                // A policy without any rule keeps every backup (nothing says what to
                // delete): adding the first rule may keep fewer, by design.
                prop_assume!(p.last + p.daily + p.weekly + p.monthly + p.yearly > 0 || p.within.is_some());
                let mut bigger = p;
                match rule {
                    0 => bigger.last += more,
                    1 => bigger.daily += more,
                    2 => bigger.weekly += more,
                    3 => bigger.monthly += more,
                    4 => bigger.yearly += more,
                    _ => {
                        let mut w = p.within.unwrap_or_default();
                        w.days += more;
                        bigger.within = Some(w);
                    }
                }
                let (small, big) = (kept_set(p, &times), kept_set(bigger, &times));
                prop_assert!(small.is_subset(&big), "{p:?} kept {small:?}, {bigger:?} kept {big:?}");
            }

            /// keep-days 0 keeps everything, with any other rule.
            #[test]
            fn keep_all_keeps_all(times in timeline(), mut p in policy()) {
                p.all = true;
                prop_assert_eq!(kept(p, &times).len(), times.len());
            }

            /// Any span text parses or is refused; a parsed one never panics when applied.
            #[test]
            fn spans_never_panic(text in "[0-9ymdh]{0,24}", times in timeline()) {
                if let Ok(span) = Span::parse(&text) {
                    let p = Policy { within: Some(span), ..Policy::default() };
                    prop_assert!(!kept(p, &times).is_empty());
                }
            }
        }
    }
}
