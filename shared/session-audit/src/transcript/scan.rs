//! Byte scans behind the screen's fast paths: how far the input is plain printable ASCII.
//!
//! Nearly every byte of a transcript is printable ASCII, so the screen asks "how long is this
//! run" billions of times. Eight bytes are tested at once (SWAR) instead of one by one.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Bit 7 of each byte of `w` outside printable ASCII (`0x20..=0x7e`) set; the lowest set bit
/// is exact (borrows and carries only run upwards from a byte already outside).
#[inline]
fn unprintable(w: u64) -> u64 {
    // Hacker's Delight "has less": a byte below 0x20 borrows into its own bit 7. Bytes with
    // bit 7 already set are masked out by `!w` (they are caught below).
    let below = w.wrapping_sub(ONES * 0x20) & !w;
    // "Has more": adding 1 sets bit 7 of 0x7f; bytes from 0x80 have it already (`| w`).
    let above = w.wrapping_add(ONES) | w;
    (below | above) & HIGHS
}

/// Length of the run of printable ASCII at the start of `bytes`.
#[inline]
pub fn printable_run(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(word) = bytes.get(i..i + 8) {
        let outside = unprintable(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        if outside != 0 {
            return i + (outside.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + bytes[i..].iter().position(|b| !(0x20..=0x7e).contains(b)).unwrap_or(bytes.len() - i)
}

/// `bytes` as text without a second look: every byte of it is in a [`printable_run`]
/// (checked in debug builds; the tests run them).
#[inline]
pub fn ascii_str(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii(), "only printable runs are read as ASCII");
    // SAFETY: ASCII is valid UTF-8, and the callers pass printable runs (`0x20..=0x7e`, as
    // `printable_run` measured them).
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// `bytes` as a string without a second look: every byte of it came from a
/// [`printable_run`] (checked in debug builds; the tests run them). Validating each line
/// again as UTF-8 took a tenth of the screen's time.
#[inline]
pub fn ascii_string(bytes: Vec<u8>) -> String {
    debug_assert!(bytes.is_ascii(), "only printable runs are put together as ASCII");
    // SAFETY: ASCII is valid UTF-8, and the callers only ever append printable runs
    // (`0x20..=0x7e`, as `printable_run` measured them) or ASCII cells.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// The UTF-8 character at the start of `bytes` (whose first byte is not ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf8 {
    /// A character and its length in bytes.
    Char(char, usize),
    /// This many bytes are not UTF-8 (as `str::from_utf8` counts them).
    Invalid(usize),
    /// `bytes` ends before the character does.
    Incomplete,
}

pub fn decode_utf8(bytes: &[u8]) -> Utf8 {
    let window = &bytes[..bytes.len().min(4)];
    let valid = match std::str::from_utf8(window) {
        Ok(text) => text,
        Err(e) if e.valid_up_to() > 0 => {
            std::str::from_utf8(&window[..e.valid_up_to()]).expect("valid up to here")
        }
        Err(e) => return e.error_len().map_or(Utf8::Incomplete, Utf8::Invalid),
    };
    let c = valid.chars().next().expect("at least one character");
    Utf8::Char(c, c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(bytes: &[u8]) -> usize {
        bytes.iter().position(|b| !(0x20..=0x7e).contains(b)).unwrap_or(bytes.len())
    }

    #[test]
    fn every_byte_value_at_every_offset_of_a_word() {
        for bad in 0..=255u8 {
            for at in 0..70 {
                let mut bytes = vec![b'a'; 70];
                bytes[at] = bad;
                assert_eq!(printable_run(&bytes), naive(&bytes), "byte {bad:#x} at {at}");
            }
        }
    }

    #[test]
    fn characters_invalid_bytes_and_cut_characters() {
        assert_eq!(decode_utf8("é€".as_bytes()), Utf8::Char('é', 2));
        assert_eq!(decode_utf8(b"\xc3\xa9a\xe2"), Utf8::Char('é', 2));
        assert_eq!(decode_utf8(b"\xe2\x82"), Utf8::Incomplete);
        assert_eq!(decode_utf8(b"\xe2\x82a"), Utf8::Invalid(2));
        assert_eq!(decode_utf8(b"\xa0abc"), Utf8::Invalid(1));
        assert_eq!(decode_utf8(b"\xff"), Utf8::Invalid(1));
    }

    proptest! {
        #[test]
        fn the_same_run_as_a_byte_by_byte_scan(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(printable_run(&bytes), naive(&bytes));
        }

        #[test]
        fn the_same_run_on_mostly_printable_text(text in "[ -~]{0,90}[\\x00-\\x1f\\x7f-\\u{ff}]?[ -~]{0,40}") {
            prop_assert_eq!(printable_run(text.as_bytes()), naive(text.as_bytes()));
        }
    }
}
