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

/// Decoded by hand, by the table of well-formed byte sequences in the Unicode standard (3.9,
/// table 3-7): binary output is a non-ASCII byte in every few, and `str::from_utf8` on each
/// was an eighth of its time. The tests compare every 1–4 byte input with `from_utf8`.
pub fn decode_utf8(bytes: &[u8]) -> Utf8 {
    let lead = bytes[0];
    // The length, and the range the second byte must be in (it excludes overlong forms,
    // surrogates and code points past U+10FFFF); later bytes are 0x80..=0xBF.
    let (len, second) = match lead {
        0x00..=0x7f => return Utf8::Char(char::from(lead), 1),
        0xc2..=0xdf => (2, 0x80..=0xbf),
        0xe0 => (3, 0xa0..=0xbf),
        0xe1..=0xec | 0xee..=0xef => (3, 0x80..=0xbf),
        0xed => (3, 0x80..=0x9f),
        0xf0 => (4, 0x90..=0xbf),
        0xf1..=0xf3 => (4, 0x80..=0xbf),
        0xf4 => (4, 0x80..=0x8f),
        _ => return Utf8::Invalid(1),
    };
    let mut code = u32::from(lead) & (0x7f >> len);
    for i in 1..len {
        let Some(&b) = bytes.get(i) else { return Utf8::Incomplete };
        let fits = if i == 1 { second.contains(&b) } else { (0x80..=0xbf).contains(&b) };
        if !fits {
            return Utf8::Invalid(i);
        }
        code = code << 6 | u32::from(b & 0x3f);
    }
    match char::from_u32(code) {
        Some(c) => Utf8::Char(c, len),
        None => unreachable!("the table admits only scalar values"),
    }
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

    /// What `str::from_utf8` says about the character at the start of `bytes`.
    fn by_std(bytes: &[u8]) -> Utf8 {
        let window = &bytes[..bytes.len().min(4)];
        let valid = match std::str::from_utf8(window) {
            Ok(text) => text,
            Err(e) if e.valid_up_to() > 0 => {
                std::str::from_utf8(&window[..e.valid_up_to()]).unwrap()
            }
            Err(e) => return e.error_len().map_or(Utf8::Incomplete, Utf8::Invalid),
        };
        let c = valid.chars().next().unwrap();
        Utf8::Char(c, c.len_utf8())
    }

    #[test]
    fn every_short_input_decodes_as_std_decodes_it() {
        // Every lead byte with every second byte, and every lead/second pair worth a third
        // and fourth (the ranges decide at the second byte; later bytes: a sample of each class).
        let later = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xf5, 0xff];
        for lead in 0x80..=0xffu8 {
            assert_eq!(decode_utf8(&[lead]), by_std(&[lead]), "{lead:#x}");
            for second in 0..=0xffu8 {
                let two = [lead, second];
                assert_eq!(decode_utf8(&two), by_std(&two), "{two:x?}");
                for third in later {
                    let three = [lead, second, third];
                    assert_eq!(decode_utf8(&three), by_std(&three), "{three:x?}");
                    for fourth in later {
                        let four = [lead, second, third, fourth];
                        assert_eq!(decode_utf8(&four), by_std(&four), "{four:x?}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn decodes_as_std_decodes(bytes in prop::collection::vec(any::<u8>(), 1..6)) {
            prop_assert_eq!(decode_utf8(&bytes), by_std(&bytes));
        }

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
