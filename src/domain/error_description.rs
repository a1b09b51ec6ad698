//! Caller input quoted in an OAuth `error_description` (docs/oauth.md).

/// At most 40 characters of `s`, for an `error_description`: RFC 6749 §5.2 limits it to
/// printable ASCII without `"` and `\`, so anything else is shown as `?`.
pub(crate) fn shown_in_error_description(s: &str) -> String {
    s.chars()
        .take(40)
        .map(|c| match c {
            ' '..='!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_printable_ascii_without_quote_or_backslash() {
        assert_eq!(shown_in_error_description("a b~!#["), "a b~!#[");
        assert_eq!(shown_in_error_description("\"\\é\n"), "????");
        assert_eq!(shown_in_error_description(&"x".repeat(50)), "x".repeat(40));
    }
}
