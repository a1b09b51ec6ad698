//! Pages of the Manage lists (docs/behaviour.md#lists): every list is ordered newest first by
//! `(createdAt, id)`, both descending, and a page continues strictly after the position its
//! cursor names (keyset pagination: the cost of a page does not depend on how many rows come
//! before it, and rows added or removed meanwhile never shift it).

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Serialize;

use crate::domain::time::Timestamp;
use crate::domain::validate::FieldError;
use crate::error::{Error, Result};

/// The largest page a list returns.
pub const MAX_LIMIT: u32 = 1000;

/// How to read a list: everything (the default), or one page of at most `limit` rows after
/// `cursor` (a [`Page::next_cursor`] of the same list).
///
/// ```no_run
/// # let store = opcore::Store::open("opcore.db", opcore::Options::default())?;
/// # let org = "acme";
/// use opcore::ListOptions;
/// let mut options = ListOptions::limit(100);
/// loop {
///     let page = store.list_references_page(org, None, &options)?;
///     for reference in &page.items { /* … */ }
///     match page.next_cursor {
///         Some(next) => options.cursor = Some(next),
///         None => break,
///     }
/// }
/// # Ok::<(), opcore::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// At most this many rows (1–1000); None: every remaining row.
    pub limit: Option<u32>,
    /// Continue after the row this cursor names; None: from the newest row.
    pub cursor: Option<String>,
}

impl ListOptions {
    /// The first page of at most `limit` rows.
    pub fn limit(limit: u32) -> ListOptions {
        ListOptions {
            limit: Some(limit),
            cursor: None,
        }
    }
}

/// One page of a list, newest first. `next_cursor` is set when a limit was given and more
/// rows remain; pass it back as [`ListOptions::cursor`] for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Which list a cursor belongs to (its second byte), so a cursor of one list is refused by
/// another instead of being read as a position it never was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Projects = 1,
    Clients = 2,
    References = 3,
    /// The audit log: the position's `created_at` holds the entry's `seq`, its commit order.
    Audit = 4,
}

/// Format version of the cursor (its first byte).
const CURSOR_VERSION: u8 = 1;
/// Project ids are slugs of at most 64 characters plus a `-n` suffix; anything longer was not
/// issued by this store.
const MAX_SLUG_ID: usize = 96;

/// A position in a list: the `(createdAt, id)` of the last row returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub created_at: i64,
    pub id: String,
}

/// What a list query needs: the validated limit (None: all rows) and the position to start
/// after (None: the newest row).
#[derive(Debug)]
pub(crate) struct Window {
    pub limit: Option<u32>,
    pub after: Option<Position>,
}

impl Window {
    /// Validates the options for the list `kind`. A bad limit or cursor names the field.
    pub fn new(kind: ListKind, options: &ListOptions) -> Result<Window> {
        let mut errors = Vec::new();
        if let Some(limit) = options.limit {
            if !(1..=MAX_LIMIT).contains(&limit) {
                errors.push(limit_error());
            }
        }
        let after = match options.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => {
                let decoded = decode(kind, text);
                if decoded.is_none() {
                    errors.push(cursor_error());
                }
                decoded
            }
        };
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(Window {
            limit: options.limit,
            after,
        })
    }

    /// The SQL `LIMIT`: one row more than asked, to learn whether more remain; -1: no limit.
    pub fn sql_limit(&self) -> i64 {
        self.limit.map_or(-1, |l| i64::from(l) + 1)
    }

    /// Cuts the extra row off and, if there was one, makes the cursor of the last row kept.
    pub fn page<T>(
        &self,
        kind: ListKind,
        mut items: Vec<T>,
        position: impl Fn(&T) -> (Timestamp, &str),
    ) -> Page<T> {
        let next_cursor = match self.limit {
            Some(limit) if items.len() > limit as usize => {
                items.truncate(limit as usize);
                items.last().map(|last| {
                    let (created_at, id) = position(last);
                    encode(kind, created_at.millis(), id)
                })
            }
            _ => None,
        };
        Page { items, next_cursor }
    }
}

/// The message for a limit outside 1–1000 (or not an integer, in the Manage API).
pub fn limit_error() -> FieldError {
    FieldError::new("limit", "Expected an integer from 1 to 1000")
}

fn cursor_error() -> FieldError {
    FieldError::new(
        "cursor",
        "Invalid cursor: pass back the nextCursor of the same list",
    )
}

/// `version, kind, createdAt (8 bytes, big-endian), id` in unpadded base64url. UUIDs travel as
/// their 16 bytes; project ids as their text.
fn encode(kind: ListKind, created_at: i64, id: &str) -> String {
    let mut bytes = Vec::with_capacity(10 + id.len());
    bytes.push(CURSOR_VERSION);
    bytes.push(kind as u8);
    bytes.extend_from_slice(&created_at.to_be_bytes());
    match kind {
        ListKind::Projects => bytes.extend_from_slice(id.as_bytes()),
        ListKind::Clients | ListKind::References | ListKind::Audit => {
            match uuid::Uuid::parse_str(id) {
                Ok(u) => bytes.extend_from_slice(u.as_bytes()),
                // Stored ids are hyphenated UUIDs; a hand-edited row gets a cursor that is refused.
                Err(_) => bytes.extend_from_slice(id.as_bytes()),
            }
        }
    }
    Base64UrlUnpadded::encode_string(&bytes)
}

/// The position a cursor names, if it is exactly one this store's `encode` makes for `kind`.
fn decode(kind: ListKind, text: &str) -> Option<Position> {
    // The longest cursor: 10 header bytes and a 96-byte id, in base64.
    if text.len() > 160 {
        return None;
    }
    let bytes = Base64UrlUnpadded::decode_vec(text).ok()?;
    let (&[version, tag], rest) = bytes.split_first_chunk::<2>()?;
    if version != CURSOR_VERSION || tag != kind as u8 {
        return None;
    }
    let (created_at, id) = rest.split_first_chunk::<8>()?;
    let created_at = i64::from_be_bytes(*created_at);
    let id = match kind {
        ListKind::Projects => {
            let id = std::str::from_utf8(id).ok()?;
            let slug_like = !id.is_empty()
                && id.len() <= MAX_SLUG_ID
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !slug_like {
                return None;
            }
            id.to_owned()
        }
        ListKind::Clients | ListKind::References | ListKind::Audit => {
            let bytes: [u8; 16] = id.try_into().ok()?;
            uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
        }
    };
    // Exactly one text per position: anything else (extra bits, other alphabets) was not
    // made here.
    if encode(kind, created_at, &id) != text {
        return None;
    }
    Some(Position { created_at, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9";

    #[test]
    fn cursors_round_trip() {
        for (kind, id) in [
            (ListKind::Projects, "my-project-2"),
            (ListKind::Clients, UUID),
            (ListKind::References, UUID),
            (ListKind::Audit, UUID),
        ] {
            for t in [0, 1_705_314_600_000, -1, i64::MAX, i64::MIN] {
                let text = encode(kind, t, id);
                assert_eq!(
                    decode(kind, &text),
                    Some(Position {
                        created_at: t,
                        id: id.into()
                    })
                );
                assert!(text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            }
        }
    }

    #[test]
    fn other_lists_and_forged_cursors_are_refused() {
        let good = encode(ListKind::References, 5, UUID);
        assert_eq!(decode(ListKind::Clients, &good), None);
        assert_eq!(decode(ListKind::Projects, &good), None);
        assert_eq!(decode(ListKind::Audit, &good), None);
        let mut versioned = Base64UrlUnpadded::decode_vec(&good).unwrap();
        versioned[0] = 2;
        assert_eq!(
            decode(
                ListKind::References,
                &Base64UrlUnpadded::encode_string(&versioned)
            ),
            None
        );
        let bad_project = |id: &str| {
            let mut b = vec![1, 1];
            b.extend_from_slice(&0i64.to_be_bytes());
            b.extend_from_slice(id.as_bytes());
            decode(ListKind::Projects, &Base64UrlUnpadded::encode_string(&b))
        };
        assert_eq!(bad_project(""), None);
        assert_eq!(bad_project("UPPER"), None);
        assert_eq!(bad_project("a' OR 1=1 --"), None);
        assert_eq!(bad_project(&"a".repeat(97)), None);
        assert!(bad_project("ok-1").is_some());
        for text in [
            "",
            "=",
            "AQ",
            &format!("{good}="),
            &format!("{good}A"),
            &good[..good.len() - 1],
            &good.replace('A', "+"),
            "%%%",
            &"A".repeat(10_000),
        ] {
            assert_eq!(decode(ListKind::References, text), None, "{text:?}");
        }
    }

    #[test]
    fn limits_outside_the_range_name_the_field() {
        for limit in [0, 1001, u32::MAX] {
            let Err(Error::Validation(errors)) =
                Window::new(ListKind::Projects, &ListOptions::limit(limit))
            else {
                panic!("limit {limit} accepted");
            };
            assert_eq!(errors, [limit_error()]);
        }
        for limit in [1, 1000] {
            assert!(Window::new(ListKind::Projects, &ListOptions::limit(limit)).is_ok());
        }
        let both = ListOptions {
            limit: Some(0),
            cursor: Some("x".into()),
        };
        let Err(Error::Validation(errors)) = Window::new(ListKind::Clients, &both) else {
            panic!("accepted");
        };
        assert_eq!(errors, [limit_error(), cursor_error()]);
    }
}
