//! Soft deletion: a project scheduled for deletion stays readable until `deleteAt`, then is gone.

use super::time::Timestamp;

/// The default grace between a project's DELETE and its disappearance.
pub const DEFAULT_GRACE_SECONDS: i64 = 24 * 60 * 60;

/// When a project deleted at `now` disappears. Repeating a delete keeps the first schedule.
pub fn schedule(existing: Option<Timestamp>, now: Timestamp, grace_seconds: i64) -> Timestamp {
    existing.unwrap_or_else(|| now.plus_seconds(grace_seconds))
}

/// A project whose `deleteAt` has passed is treated as gone at once.
pub fn is_gone(delete_at: Option<Timestamp>, now: Timestamp) -> bool {
    matches!(delete_at, Some(at) if at <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_exactly_at_delete_at() {
        let at = Timestamp(10_000);
        assert!(!is_gone(None, Timestamp(i64::MAX)));
        assert!(!is_gone(Some(at), Timestamp(9_999)));
        assert!(is_gone(Some(at), at));
        assert!(is_gone(Some(at), Timestamp(10_001)));
    }

    #[test]
    fn repeating_a_delete_keeps_the_first_schedule() {
        let first = schedule(None, Timestamp(0), DEFAULT_GRACE_SECONDS);
        assert_eq!(first, Timestamp(86_400_000));
        assert_eq!(schedule(Some(first), Timestamp(50_000), 10), first);
    }
}
