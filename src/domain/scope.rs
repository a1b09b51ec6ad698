//! OAuth scopes: the API families a token may be used for (`track`, `export`, `insights`,
//! `manage`), never more than the client's type allows (the table in docs/security.md).

use std::fmt;

use super::access::Family;
use super::error_description::shown_in_error_description;
use super::model::ClientType;

/// A set of families. Written space-separated in the fixed order `track export insights
/// manage` (RFC 6749 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scope(u8);

impl Scope {
    pub const EMPTY: Scope = Scope(0);

    fn bit(family: Family) -> u8 {
        1 << (family as u32)
    }

    pub fn of(families: &[Family]) -> Scope {
        Scope(families.iter().fold(0, |acc, &f| acc | Scope::bit(f)))
    }

    /// Every family a client of this type may call: the scope granted when none is asked for.
    pub fn allowed_for(client_type: ClientType) -> Scope {
        let families: Vec<Family> = Family::ALL
            .into_iter()
            .filter(|f| f.allows(client_type))
            .collect();
        Scope::of(&families)
    }

    /// Parses a space-delimited scope string. Unknown names are an error naming the first one.
    ///
    /// ```
    /// use opcore::domain::scope::Scope;
    /// assert_eq!(Scope::parse("manage track").unwrap().to_string(), "track manage");
    /// assert!(Scope::parse("admin").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Scope, String> {
        let mut bits = 0;
        for name in s.split(' ').filter(|n| !n.is_empty()) {
            let family = Family::ALL
                .into_iter()
                .find(|f| f.as_str() == name)
                .ok_or_else(|| {
                    // Quoted in OAuth `error_description`s.
                    format!("unknown scope '{}'", shown_in_error_description(name))
                })?;
            bits |= Scope::bit(family);
        }
        Ok(Scope(bits))
    }

    pub fn contains(self, family: Family) -> bool {
        self.0 & Scope::bit(family) != 0
    }

    pub fn is_subset_of(self, other: Scope) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for family in Family::ALL.into_iter().filter(|&fam| self.contains(fam)) {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(family.as_str())?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_scopes_follow_the_family_table() {
        let table = [
            (ClientType::Root, "track export insights manage"),
            (ClientType::Write, "track"),
            (ClientType::Read, "export insights"),
        ];
        for (ty, expected) in table {
            assert_eq!(Scope::allowed_for(ty).to_string(), expected, "{ty:?}");
        }
    }

    #[test]
    fn parsing() {
        let table: &[(&str, Result<&str, &str>)] = &[
            ("manage", Ok("manage")),
            ("manage  track", Ok("track manage")),
            ("insights export export", Ok("export insights")),
            ("", Ok("")),
            ("Manage", Err("unknown scope 'Manage'")),
            ("read write", Err("unknown scope 'read'")),
        ];
        for &(input, expected) in table {
            let got = Scope::parse(input).map(|s| s.to_string());
            assert_eq!(got.as_deref().map_err(String::as_str), expected, "{input}");
        }
    }

    #[test]
    fn subsets() {
        let root = Scope::allowed_for(ClientType::Root);
        let manage = Scope::of(&[Family::Manage]);
        assert!(manage.is_subset_of(root));
        assert!(!root.is_subset_of(manage));
        assert!(!manage.is_subset_of(Scope::allowed_for(ClientType::Write)));
        assert!(Scope::EMPTY.is_subset_of(manage));
    }
}
