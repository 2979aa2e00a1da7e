//! Where a session ran. A session ID is unique only within an account, and an organization's
//! hub hears of sessions in every account and region, so everything filed per session is filed
//! under the account and region that issued its ID (`acct=<account>/region=<region>/`), and a
//! spoke's transcripts arrive under `<TRANSCRIPT_PREFIX><account>/<region>/`.
//!
//! Keys without a place (records, reports and live states written before places, and the hub's
//! own transcripts, `<prefix><sessionId>.log`) are read as the hub's own account and region
//! ([`Home`]).

use std::fmt;

use super::{check_id, BadId};

/// An account and region, both checked: a 12-digit account ID and a region name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    account: String,
    region: String,
}

/// The hub's own place (`ACCOUNT_ID`, `AWS_REGION`): where keys of the layout without a place
/// belong. `None` where the settings do not say (the CLI, a test): such keys are then refused.
pub type Home = Option<Place>;

/// Whether `text` has the shape of an AWS region name (`eu-central-1`, `us-gov-west-1`).
pub fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `text` is an account ID: exactly 12 digits.
pub fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The name a spoke gives the subscription filter that sends its sessions log group to the
/// hub's CloudWatch Logs destination: `<name prefix>@<region>`. What CloudWatch Logs delivers
/// names the log group's owner (set by the service) but not its region; the filter's name
/// carries it. Only the spoke account's administrators can name its filters, so a wrong name
/// can misplace a stream among that account's own regions, never into another account.
pub fn subscription_filter(name_prefix: &str, region: &str) -> String {
    format!("{name_prefix}@{region}")
}

/// The region the filters of one delivery name ([`subscription_filter`]): `None` unless every
/// filter names the same region.
pub fn region_of_subscription<'a>(filters: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut named = None;
    for filter in filters {
        let region = filter.rsplit_once('@').map(|(_, r)| r).filter(|r| is_region(r))?;
        if named.is_some_and(|n| n != region) {
            return None;
        }
        named = Some(region);
    }
    named
}

fn bad(what: &'static str, value: &str, why: &'static str) -> BadId {
    let shown: String = value.chars().take(80).collect();
    BadId { what, shown: serde_json::Value::from(shown).to_string(), why }
}

impl Place {
    /// The place of `account` in `region`, or why either cannot be part of a key.
    pub fn new(account: &str, region: &str) -> Result<Place, BadId> {
        if !is_account(account) {
            return Err(bad("account ID", account, "not 12 digits"));
        }
        if region.len() > 32 || !is_region(region) {
            return Err(bad("region", region, "not a region name"));
        }
        Ok(Place { account: account.to_string(), region: region.to_string() })
    }

    /// The account ID.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `acct=<account>/region=<region>/`: the folder below a `dt=` day or `audit/live/`.
    pub fn folder(&self) -> String {
        format!("acct={}/region={}/", self.account, self.region)
    }

    /// `<account>/<region>/`: this place's transcripts below the transcript prefix (what a
    /// spoke's preferences set as their S3 key prefix, and the bucket policy scopes its
    /// accounts' writes to).
    pub fn transcript_folder(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    /// The place a [`Place::folder`] at the start of `rest` names and what follows it; `None`
    /// when `rest` does not start with such a folder (or names a bad one).
    pub(super) fn strip_folder(rest: &str) -> Option<(Place, &str)> {
        let rest = rest.strip_prefix("acct=")?;
        let (account, rest) = rest.split_once('/')?;
        let (region, rest) = rest.strip_prefix("region=")?.split_once('/')?;
        Some((Place::new(account, region).ok()?, rest))
    }

    /// Like [`Place::strip_folder`], where keys of the layout without a place are also read:
    /// `Some((None, rest))` when `rest` does not start with `acct=`.
    pub(super) fn strip_optional(rest: &str) -> Option<(Option<Place>, &str)> {
        match rest.starts_with("acct=") {
            true => Place::strip_folder(rest).map(|(p, r)| (Some(p), r)),
            false => Some((None, rest)),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// A session as the audit files it: its ID within the place that issued it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionAt {
    /// The account and region the session ran in.
    pub place: Place,
    id: String,
}

impl SessionAt {
    /// Session `id` in `place`, the ID checked ([`check_id`]).
    pub fn new(place: Place, id: &str) -> Result<SessionAt, BadId> {
        Ok(SessionAt { place, id: check_id("session ID", id)?.to_string() })
    }

    /// The session ID.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for SessionAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_is_a_twelve_digit_account_and_a_region() {
        let p = Place::new("111122223333", "eu-west-1").unwrap();
        assert_eq!(p.folder(), "acct=111122223333/region=eu-west-1/");
        assert_eq!(p.transcript_folder(), "111122223333/eu-west-1/");
        assert_eq!(p.to_string(), "111122223333/eu-west-1");
        for (account, region) in [
            ("11112222333", "eu-west-1"),
            ("1111222233334", "eu-west-1"),
            ("11112222333x", "eu-west-1"),
            ("../../../../", "eu-west-1"),
            ("111122223333", "eu-west"),
            ("111122223333", "../x-1"),
            ("111122223333", "eu-west-1/../x"),
            ("111122223333", ""),
        ] {
            assert!(Place::new(account, region).is_err(), "{account} {region}");
        }
        let e = Place::new("111122223333", "eu/west-1").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"region "eu/west-1" cannot be used in an audit key: not a region name"#
        );
    }

    #[test]
    fn folders_parse_back_and_hostile_ones_do_not() {
        let p = Place::new("111122223333", "us-gov-west-1").unwrap();
        let key = format!("{}s-1.json", p.folder());
        assert_eq!(Place::strip_folder(&key), Some((p.clone(), "s-1.json")));
        assert_eq!(Place::strip_optional("s-1.json"), Some((None, "s-1.json")));
        for hostile in [
            "acct=1/region=eu-west-1/s.json",
            "acct=111122223333/region=../s.json",
            "acct=111122223333/eu-west-1/s.json",
            "acct=111122223333",
        ] {
            assert_eq!(Place::strip_optional(hostile), None, "{hostile}");
        }
        let s = SessionAt::new(p, "ana-0a1b2c3d4e5f60718").unwrap();
        assert_eq!(s.to_string(), "ana-0a1b2c3d4e5f60718 (111122223333/us-gov-west-1)");
        assert!(SessionAt::new(s.place.clone(), "../x").is_err());
    }
}
