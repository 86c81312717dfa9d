//! Dates, business-day calendars, tenors and observation schedules.
//!
//! Dates are civil days (proleptic Gregorian), written `YYYY-MM-DD` in JSON. Year fractions for
//! discounting, volatility and coupon accrual are ACT/365F on calendar days. A calendar is
//! weekdays minus an explicit holiday list (for Chinese exchanges, load the list of the
//! exchange's closures into `holidays`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{PricingError, Result};

/// A civil date, stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// The date of a year, month (1-12) and day, if it exists.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Self> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m as i32 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Self(era * 146_097 + doe - 719_468))
    }

    /// Year, month (1-12), day.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i32::from(m <= 2);
        (y, m, d)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i32 {
        self.0
    }

    /// The date `n` days later.
    pub fn add_days(self, n: i32) -> Self {
        Self(self.0 + n)
    }

    /// Day of week, 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        (self.0 + 3).rem_euclid(7) as u32
    }

    /// The same day `n` months later, clamped to the month's last day.
    pub fn add_months(self, n: i32) -> Self {
        let (y, m, d) = self.ymd();
        let total = y * 12 + (m as i32 - 1) + n;
        let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        let nd = d.min(days_in_month(ny, nm));
        Self::from_ymd(ny, nm, nd).unwrap_or(self)
    }

    /// ACT/365F year fraction from `self` to `other` (negative when `other` is earlier).
    pub fn year_fraction(self, other: Date) -> f64 {
        f64::from(other.0 - self.0) / 365.0
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.trim().splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.parse().ok()?;
        Self::from_ymd(y, m, d)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a date (YYYY-MM-DD)")))
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A business-day calendar: weekdays (unless `weekends` is false) minus `holidays`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// Whether Saturdays and Sundays are holidays (default true).
    #[serde(default = "yes")]
    pub weekends: bool,
    /// Extra closures, e.g. an exchange's holiday list.
    #[serde(default)]
    pub holidays: Vec<Date>,
}

fn yes() -> bool {
    true
}

impl Default for Calendar {
    fn default() -> Self {
        Self {
            weekends: true,
            holidays: Vec::new(),
        }
    }
}

impl Calendar {
    /// Whether `d` is a business day.
    pub fn is_business_day(&self, d: Date) -> bool {
        !(self.holidays.contains(&d) || (self.weekends && d.weekday() >= 5))
    }

    /// The first business day on or after `d` (following convention).
    pub fn following(&self, d: Date) -> Date {
        let mut x = d;
        // A year of consecutive closures would be a broken calendar; stop rather than loop.
        for _ in 0..366 {
            if self.is_business_day(x) {
                return x;
            }
            x = x.add_days(1);
        }
        d
    }
}

/// A tenor such as `3M`, `1Y`, `2W`, `10D` (also `6个月`, `1年`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenor {
    /// Calendar days.
    Days(i32),
    /// Weeks.
    Weeks(i32),
    /// Months.
    Months(i32),
    /// Years.
    Years(i32),
}

impl Tenor {
    /// Parses a tenor, naming `field` in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        let t = s.trim().to_uppercase();
        let (num, unit) = if let Some(n) = t.strip_suffix("个月") {
            (n, 'M')
        } else if let Some(n) = t.strip_suffix('年') {
            (n, 'Y')
        } else if let Some(n) = t.strip_suffix('天') {
            (n, 'D')
        } else if let Some(n) = t.strip_suffix('周') {
            (n, 'W')
        } else {
            let u = t.chars().last().unwrap_or(' ');
            (&t[..t.len() - u.len_utf8().min(t.len())], u)
        };
        let n: i32 = num.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            PricingError::field(field, format!("`{s}` is not a tenor like 6M or 1Y"))
        })?;
        match unit {
            'D' => Ok(Self::Days(n)),
            'W' => Ok(Self::Weeks(n)),
            'M' => Ok(Self::Months(n)),
            'Y' => Ok(Self::Years(n)),
            _ => Err(PricingError::field(
                field,
                format!("`{s}` is not a tenor like 6M or 1Y"),
            )),
        }
    }

    /// The date this tenor after `d` (unadjusted).
    pub fn after(self, d: Date) -> Date {
        match self {
            Self::Days(n) => d.add_days(n),
            Self::Weeks(n) => d.add_days(7 * n),
            Self::Months(n) => d.add_months(n),
            Self::Years(n) => d.add_months(12 * n),
        }
    }
}

/// How often a feature is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Every business day.
    Daily,
    /// Every week on the start's weekday (rolled forward to a business day).
    Weekly,
    /// Every month on the start's day of month (rolled forward).
    Monthly,
    /// Every three months.
    Quarterly,
    /// Only at maturity.
    AtMaturity,
}

/// An observation schedule: a frequency or explicit dates, with an optional lock-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Regular observations between start (excluded) and maturity (included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<Frequency>,
    /// Explicit observation dates (used instead of `frequency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dates: Option<Vec<Date>>,
    /// Observations strictly before start + `lockup_months` are dropped (a 3-month lock-up
    /// keeps the month-3 observation as the first one).
    #[serde(default)]
    pub lockup_months: u32,
}

impl Schedule {
    /// A schedule with only a frequency.
    pub fn every(frequency: Frequency) -> Self {
        Self {
            frequency: Some(frequency),
            dates: None,
            lockup_months: 0,
        }
    }

    /// The observation dates in (start, maturity], business-day adjusted, sorted, unique.
    pub fn dates(
        &self,
        field: &str,
        start: Date,
        maturity: Date,
        cal: &Calendar,
    ) -> Result<Vec<Date>> {
        let mut out = match (&self.dates, self.frequency) {
            (Some(d), None) => {
                let mut d = d.clone();
                d.sort();
                for x in &d {
                    if *x <= start || *x > maturity {
                        return Err(PricingError::field(
                            format!("{field}.dates"),
                            format!("{x} is outside the contract's life ({start}, {maturity}]"),
                        ));
                    }
                }
                d
            }
            (None, Some(f)) => regular(f, start, maturity, cal),
            (Some(_), Some(_)) => {
                return Err(PricingError::field(
                    field,
                    "give either `frequency` or `dates`, not both",
                ));
            }
            (None, None) => {
                return Err(PricingError::field(field, "needs `frequency` or `dates`"));
            }
        };
        let lock = start.add_months(self.lockup_months as i32);
        out.retain(|d| *d >= lock);
        out.dedup();
        if out.is_empty() {
            return Err(PricingError::field(
                field,
                "the schedule has no observation date",
            ));
        }
        Ok(out)
    }
}

fn regular(f: Frequency, start: Date, maturity: Date, cal: &Calendar) -> Vec<Date> {
    let mut out = Vec::new();
    match f {
        Frequency::Daily => {
            let mut d = start.add_days(1);
            while d <= maturity {
                if cal.is_business_day(d) {
                    out.push(d);
                }
                d = d.add_days(1);
            }
        }
        Frequency::AtMaturity => out.push(maturity),
        Frequency::Weekly | Frequency::Monthly | Frequency::Quarterly => {
            for k in 1.. {
                let raw = match f {
                    Frequency::Weekly => start.add_days(7 * k),
                    Frequency::Monthly => start.add_months(k),
                    _ => start.add_months(3 * k),
                };
                if raw >= maturity {
                    break;
                }
                let d = cal.following(raw);
                if d < maturity {
                    out.push(d);
                }
            }
            out.push(maturity);
        }
    }
    out
}
