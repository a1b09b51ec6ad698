//! Which client type may call which API family (docs/security.md), and the message when it may not.

use super::model::ClientType;

/// The four API families a request can belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Family {
    Track = 0,
    Export = 1,
    Insights = 2,
    Manage = 3,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Track,
        Family::Export,
        Family::Insights,
        Family::Manage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Track => "track",
            Family::Export => "export",
            Family::Insights => "insights",
            Family::Manage => "manage",
        }
    }

    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether a client of this type may call this family at all (project scope aside).
    pub fn allows(self, client_type: ClientType) -> bool {
        matches!(
            (self, client_type),
            (_, ClientType::Root)
                | (Family::Track, ClientType::Write)
                | (Family::Export | Family::Insights, ClientType::Read)
        )
    }

    /// The 401 message for valid credentials of a type this family refuses.
    pub fn denied_message(self) -> &'static str {
        match self {
            Family::Track => "Track: Only write and root clients are allowed to track events",
            Family::Export => "Export: Client is not allowed to export",
            Family::Insights => "Insights: Client is not allowed to access insights",
            Family::Manage => "Manage: Only root clients are allowed to manage resources",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_table() {
        use ClientType::*;
        use Family::*;
        let table = [
            (Track, Write, true),
            (Track, Read, false),
            (Track, Root, true),
            (Export, Write, false),
            (Export, Read, true),
            (Export, Root, true),
            (Insights, Write, false),
            (Insights, Read, true),
            (Insights, Root, true),
            (Manage, Write, false),
            (Manage, Read, false),
            (Manage, Root, true),
        ];
        for (family, ty, allowed) in table {
            assert_eq!(family.allows(ty), allowed, "{family:?} {ty:?}");
        }
    }
}
