//! Opaque tokens (docs/oauth.md): access tokens, refresh tokens and authorization codes.
//!
//! Format: a type prefix (`opat_`, `oprt_`, `opac_`), 64 lowercase hex characters (256 bits from
//! the OS CSPRNG) and an 8-hex-character checksum (the first 4 bytes of SHA-256 over the prefix
//! and the random part). The checksum lets a typo, a truncated paste or a foreign string be
//! refused before any lookup; the prefix tells a leaked token's kind at a glance (and lets
//! secret scanners find it). A token is stored only as the SHA-256 digest of its full text.

use std::fmt;

use rand::TryRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::hex::push_hex;

/// Bytes of randomness in a token.
const RANDOM_BYTES: usize = 32;
/// Bytes of SHA-256 kept as the checksum.
const CHECKSUM_BYTES: usize = 4;
const PREFIX_LEN: usize = 5;
/// The length of every token's text.
pub const TOKEN_LEN: usize = PREFIX_LEN + 2 * RANDOM_BYTES + 2 * CHECKSUM_BYTES;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `opat_`: presented as `Authorization: Bearer`.
    Access,
    /// `oprt_`: exchanged for new tokens at the token endpoint; rotates on every use.
    Refresh,
    /// `opac_`: an authorization code, exchanged once for tokens.
    Code,
}

impl TokenKind {
    pub const ALL: [TokenKind; 3] = [TokenKind::Access, TokenKind::Refresh, TokenKind::Code];

    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => "opat_",
            TokenKind::Refresh => "oprt_",
            TokenKind::Code => "opac_",
        }
    }

    /// The name stored in the database and used by introspection's `token_type_hint`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Code => "code",
        }
    }

    pub fn parse(s: &str) -> Option<TokenKind> {
        TokenKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The SHA-256 digest of a token's full text: the only form a token is stored in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    pub fn of(token_text: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token_text.as_bytes()).into())
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(…)")
    }
}

/// A freshly issued token. `Debug` and `Display` print the prefix and `…(redacted)`; the text
/// is zeroized on drop and reachable only through [`Token::expose`].
pub struct Token {
    kind: TokenKind,
    text: Zeroizing<String>,
}

impl Token {
    /// A new token of `kind` from 256 bits of the OS CSPRNG.
    ///
    /// # Panics
    /// If the operating system's random number generator fails, which no input can cause;
    /// handing out a guessable token instead would be worse.
    pub fn generate(kind: TokenKind) -> Token {
        let mut random = Zeroizing::new([0u8; RANDOM_BYTES]);
        rand::rngs::OsRng
            .try_fill_bytes(random.as_mut())
            .expect("the operating system's random number generator failed");
        let mut text = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        text.push_str(kind.prefix());
        push_hex(&mut text, random.as_ref());
        let sum = checksum(&text);
        push_hex(&mut text, &sum);
        Token { kind, text }
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The token's text. Give it to the client once; never log it.
    pub fn expose(&self) -> &str {
        &self.text
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.text)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…(redacted)", self.kind.prefix())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Checks a presented token's shape and checksum, without any lookup. Returns its kind and
/// digest, or None for anything that opcore cannot have issued.
///
/// ```
/// use opcore::domain::token::{parse, Token, TokenKind};
/// let t = Token::generate(TokenKind::Access);
/// assert_eq!(parse(t.expose()).map(|(k, _)| k), Some(TokenKind::Access));
/// assert!(parse("opat_not-a-token").is_none());
/// ```
pub fn parse(text: &str) -> Option<(TokenKind, TokenDigest)> {
    if text.len() != TOKEN_LEN {
        return None;
    }
    let kind = TokenKind::ALL
        .into_iter()
        .find(|k| text.starts_with(k.prefix()))?;
    let body = &text.as_bytes()[PREFIX_LEN..];
    if !body.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let (head, sum_hex) = text.split_at(TOKEN_LEN - 2 * CHECKSUM_BYTES);
    let mut expected = String::with_capacity(2 * CHECKSUM_BYTES);
    push_hex(&mut expected, &checksum(head));
    if !bool::from(expected.as_bytes().ct_eq(sum_hex.as_bytes())) {
        return None;
    }
    Some((kind, TokenDigest::of(text)))
}

fn checksum(prefix_and_random: &str) -> [u8; CHECKSUM_BYTES] {
    let full = Sha256::digest(prefix_and_random.as_bytes());
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&full[..CHECKSUM_BYTES]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_tokens_have_the_documented_format_and_parse_back() {
        let mut seen = HashSet::new();
        for kind in TokenKind::ALL {
            for _ in 0..50 {
                let t = Token::generate(kind);
                let text = t.expose();
                assert_eq!(text.len(), 77);
                assert!(text.starts_with(kind.prefix()));
                assert!(text[5..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
                assert_eq!(parse(text), Some((kind, t.digest())));
                assert!(seen.insert(text.to_owned()));
            }
        }
    }

    #[test]
    fn typos_truncations_and_foreign_strings_are_refused() {
        let t = Token::generate(TokenKind::Access);
        let text = t.expose();
        let mut cases: Vec<String> = vec![
            String::new(),
            "opat_".into(),
            text[..TOKEN_LEN - 1].into(),
            format!("{text}0"),
            text.to_uppercase(),
            format!("oprt_{}", &text[5..]),
            format!("xxxx_{}", &text[5..]),
            "sec_0123456789abcdef0123456789abcdef".into(),
            format!(" {}", &text[1..]),
        ];
        // Every single-character change in the random part or the checksum is caught.
        for i in 5..TOKEN_LEN {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            cases.push(String::from_utf8(bytes).unwrap());
        }
        for case in cases {
            assert_eq!(parse(&case), None, "{case}");
        }
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let t = Token::generate(TokenKind::Refresh);
        for shown in [format!("{t:?}"), format!("{t}")] {
            assert_eq!(shown, "oprt_…(redacted)");
        }
        assert_eq!(format!("{:?}", t.digest()), "TokenDigest(…)");
    }

    #[test]
    fn the_digest_is_sha256_of_the_text() {
        let t = Token::generate(TokenKind::Code);
        let expected: [u8; 32] = Sha256::digest(t.expose().as_bytes()).into();
        assert_eq!(t.digest().0, expected);
    }
}
