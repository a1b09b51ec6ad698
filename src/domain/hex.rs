//! Lowercase hexadecimal, the text form of secrets and tokens (docs/behaviour.md): encoding
//! into a string, and each digit's value for decoding.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` to `out` as lowercase hex, two digits a byte, without reallocating when
/// `out` has the room (so a zeroized buffer leaves no copy behind).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// The value of a lowercase hex digit; 0xff for any other byte.
pub(crate) const LOWER_HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 16 {
        t[DIGITS[i] as usize] = i as u8;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_lowercase() {
        let mut s = String::new();
        push_hex(&mut s, &[0x00, 0x9f, 0xa0, 0xff]);
        assert_eq!(s, "009fa0ff");
        for (i, c) in "0123456789abcdef".bytes().enumerate() {
            assert_eq!(usize::from(LOWER_HEX_VALUE[usize::from(c)]), i);
        }
        for c in [b'A', b'F', b'g', b'-', 0, 0xff] {
            assert_eq!(LOWER_HEX_VALUE[usize::from(c)], 0xff);
        }
    }
}
