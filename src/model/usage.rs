//! Usage and spend as Cost Explorer reports them (`entitle usage`): calendar dates, the query's
//! window and granularity, one row per (period, linked account, usage type), and what the
//! rollout's journal says about when each account's grant became active or ended.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::AccountId;

/// A calendar day (UTC), as Cost Explorer's `YYYY-MM-DD` dates: days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

impl Date {
    /// The date of `year`-`month`-`day`, if it exists.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Self> {
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days_in_month {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(month);
        let shifted = if month > 2 { month - 3 } else { month + 9 };
        let day_of_year = (153 * shifted + 2) / 5 + i64::from(day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Some(Self(era * 146_097 + day_of_era - 719_468))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        if year.len() != 4 || month.len() != 2 || day.len() != 2 {
            return None;
        }
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if !(all_digits(year) && all_digits(month) && all_digits(day)) {
            return None;
        }
        Self::from_ymd(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
    }

    /// The day a moment (seconds since the epoch) falls on, in UTC.
    pub fn from_unix(seconds: i64) -> Self {
        Self(seconds.div_euclid(86_400))
    }

    /// (year, month, day).
    pub fn ymd(self) -> (i64, u32, u32) {
        // Howard Hinnant's civil_from_days.
        let days = self.0 + 719_468;
        let era = days.div_euclid(146_097);
        let day_of_era = days - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted + 2) / 5 + 1;
        let month = if shifted < 10 {
            shifted + 3
        } else {
            shifted - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // Both are in range by construction (1..=31, 1..=12).
        (
            year,
            u32::try_from(month).unwrap_or(1),
            u32::try_from(day).unwrap_or(1),
        )
    }

    /// `days` days later (earlier when negative).
    pub fn add_days(self, days: i64) -> Self {
        Self(self.0 + days)
    }

    /// Days from `self` to `later`.
    pub fn days_until(self, later: Self) -> i64 {
        later.0 - self.0
    }

    /// The first day of the month after this one.
    pub fn next_month_start(self) -> Self {
        let (year, month, _) = self.ymd();
        let (year, month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        Self::from_ymd(year, month, 1).unwrap_or(self)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How Cost Explorer buckets the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One period per day.
    Daily,
    /// One period per calendar month (the first and last may be partial).
    Monthly,
}

impl Granularity {
    /// As Cost Explorer spells it.
    pub fn as_aws(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Monthly => "MONTHLY",
        }
    }
}

/// One grouped query: usage of one product, billed through AWS Marketplace, in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostQuery {
    /// The first day of the window.
    pub start: Date,
    /// The day after the last one (Cost Explorer's `End` is exclusive).
    pub end: Date,
    /// Daily or monthly periods.
    pub granularity: Granularity,
    /// The `SERVICE` dimension's value of the product, e.g.
    /// `Claude Sonnet 4.5 (Amazon Bedrock Edition)`.
    pub service: String,
}

/// The `BILLING_ENTITY` of everything sold through AWS Marketplace.
pub const MARKETPLACE_BILLING_ENTITY: &str = "AWS Marketplace";

/// What Cost Explorer charges per request (each page is a request): USD 0.01, on the Cost
/// Explorer FAQ (<https://aws.amazon.com/aws-cost-management/aws-cost-explorer/faqs/>).
pub const COST_PER_REQUEST_USD: f64 = 0.01;

/// One period of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPeriod {
    /// Its first day.
    pub start: Date,
    /// The day after its last.
    pub end: Date,
    /// Whether Cost Explorer marks its figures as estimated (not final yet).
    pub estimated: bool,
    /// How many (account, usage type) groups it holds, over every page.
    pub groups: usize,
}

/// Usage and spend of one linked account, one usage type, in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// The linked account.
    pub account: AccountId,
    /// The usage type, e.g. `USE1-MP:USE1_InputTokenCount-Units`.
    pub usage_type: String,
    /// The period's first day.
    pub start: Date,
    /// The day after the period's last.
    pub end: Date,
    /// `UnblendedCost`.
    pub cost: f64,
    /// The cost's unit (`USD`).
    pub currency: String,
    /// `UsageQuantity`.
    pub quantity: f64,
    /// Whether the period is estimated.
    pub estimated: bool,
}

/// The whole answer to one grouped query, every page read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CostAndUsage {
    /// Every period of the window, in order, with or without data.
    pub periods: Vec<CostPeriod>,
    /// Every group of every period.
    pub rows: Vec<CostRow>,
    /// Linked accounts' names, as Cost Explorer gives them (`DimensionValueAttributes`).
    pub account_names: BTreeMap<String, String>,
    /// Requests made (pages read): each is charged.
    pub requests: usize,
}

/// An account's grant status as the rollout's journal saw it at one moment (`status`, `apply`
/// and `activate` record each change they see).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSighting {
    /// The account.
    pub account: AccountId,
    /// When, in seconds since the epoch.
    pub at: i64,
    /// The status seen (`ACTIVE`, `DISABLED`, ...); `None` when it held no grant of the rollout.
    pub status: Option<String>,
}

/// A grant deleted (by `apply`, `apply --destroy` or `cleanup`), as a journal recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantDeletion {
    /// The grant's principal: an account's `arn:aws:iam::<id>:root`, an OU or the organisation.
    pub principal: String,
    /// The grant.
    pub grant_arn: Option<String>,
    /// When the deletion came back, in seconds since the epoch.
    pub at: i64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dates_parse_print_and_count() {
        let date = Date::parse("2026-03-01").unwrap();
        assert_eq!(date.to_string(), "2026-03-01");
        assert_eq!(date.add_days(-1).to_string(), "2026-02-28");
        assert_eq!(
            Date::parse("2024-02-28").unwrap().add_days(1).to_string(),
            "2024-02-29"
        );
        assert_eq!(Date::parse("1970-01-01").unwrap(), Date::from_unix(0));
        assert_eq!(Date::from_unix(86_399), Date::from_unix(0));
        assert_eq!(Date::from_unix(-1).to_string(), "1969-12-31");
        // 2026-11-23T22:00:00Z
        assert_eq!(Date::from_unix(1_795_471_200).to_string(), "2026-11-23");
        assert_eq!(
            Date::parse("2026-12-15")
                .unwrap()
                .next_month_start()
                .to_string(),
            "2027-01-01"
        );
        assert_eq!(
            Date::parse("2026-01-01")
                .unwrap()
                .days_until(Date::parse("2027-01-01").unwrap()),
            365
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-01-01x",
            "",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        for day in -1000..1000 {
            let date = Date(day * 37);
            assert_eq!(Date::parse(&date.to_string()), Some(date));
        }
    }

    /// The Gregorian calendar, the plain way: month lengths and the leap-year rule.
    fn month_length(year: i64, month: u32) -> u32 {
        let leap = year % 400 == 0 || (year % 4 == 0 && year % 100 != 0);
        match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn every_day_of_eight_centuries_is_the_calendar_s() {
        // 1600-01-01 is 135,140 days before 1970-01-01; walk day by day to 2400-12-31 (the
        // century and 400-year leap rules included).
        let mut expected = Date(-135_140);
        for year in 1600..=2400 {
            for month in 1..=12 {
                let length = month_length(year, month);
                for day in 1..=length {
                    let date = Date::from_ymd(year, month, day).unwrap();
                    assert_eq!(date, expected, "{year}-{month}-{day}");
                    assert_eq!(date.ymd(), (year, month, day));
                    expected = expected.add_days(1);
                }
                assert_eq!(
                    Date::from_ymd(year, month, length + 1),
                    None,
                    "{year}-{month}"
                );
                assert_eq!(Date::from_ymd(year, month, 0), None);
            }
            assert_eq!(Date::from_ymd(year, 0, 1), None);
            assert_eq!(Date::from_ymd(year, 13, 1), None);
        }
        assert_eq!(expected, Date(157_420));
        assert_eq!(Date::from_ymd(1970, 1, 1), Some(Date(0)));
    }

    #[test]
    fn a_date_is_four_two_and_two_digits() {
        for bad in [
            "+026-01-01",
            "2026-+1-01",
            "2026-01-+1",
            "2026-01-1",
            "2026-001-01",
            "20260-01-01",
            "2026-01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(Date::parse("2000-02-29"), Date::from_ymd(2000, 2, 29));
        assert_eq!(Date::parse("0987-06-05").unwrap().to_string(), "0987-06-05");
        assert_eq!(
            serde_json::to_string(&Date::parse("2026-03-01").unwrap()).unwrap(),
            "\"2026-03-01\""
        );
        assert_eq!(
            Date::parse("2026-03-15").unwrap().next_month_start(),
            Date::parse("2026-04-01").unwrap()
        );
        assert_eq!(Date::parse("2026-03-15").unwrap().ymd(), (2026, 3, 15));
        assert_eq!(Granularity::Daily.as_aws(), "DAILY");
        assert_eq!(Granularity::Monthly.as_aws(), "MONTHLY");
    }
}
