//! The escape sequences the screen applies itself, without `vte`: found and measured here in
//! one look at the bytes (prompts carry several per command), applied by [`super::screen`].

use super::scan;

/// An escape sequence the screen applies without `vte`.
pub(super) enum Short {
    /// Changes nothing here: an OSC other than a window title ended by BEL (`ESC ] … BEL`,
    /// printable ASCII only).
    Inert,
    /// A window title (`ESC ] 0;… BEL` or `2;`, printable ASCII only): told to the listener.
    Title,
    /// A colour (`ESC [ digits;… m`): it may hide text drawn after it or show it again (see
    /// [`super::pen::Pen`]).
    Colour,
    /// `ESC [ ? n h` or `l`: one private mode (bracketed paste, the alternate screen).
    PrivateMode(u16, bool),
    /// `ESC [ p ; q X`: a cursor move or an edit (readline's redraws, a pager's screen) with
    /// at most two numeric parameters (0 where one is left out, as `vte` gives them).
    Csi(char, [u16; 2]),
}

/// The length and meaning of the whole escape sequence at the start of `bytes`, when it is one
/// of the [`Short`] kinds. Prompts carry several per command; applying them directly spares
/// `vte` the round trip and does what `vte`'s handlers would (the chunking tests compare).
#[inline]
pub(super) fn short_sequence(bytes: &[u8]) -> Option<(usize, Short)> {
    match bytes.get(1)? {
        b'[' if bytes.get(2) == Some(&b'?') => {
            // One to four digits (a fifth is not `h` or `l` below): a u16 cannot overflow.
            let digits = bytes.get(3..)?.iter().take(4).take_while(|b| b.is_ascii_digit());
            let (mut mode, mut end) = (0u16, 3);
            for &d in digits {
                mode = mode * 10 + u16::from(d - b'0');
                end += 1;
            }
            if end == 3 {
                return None;
            }
            let on = match bytes.get(end)? {
                b'h' => true,
                b'l' => false,
                _ => return None,
            };
            Some((end + 1, Short::PrivateMode(mode, on)))
        }
        b'[' => {
            let params = bytes.get(2..)?.iter().position(|&b| !(b.is_ascii_digit() || b == b';'));
            let end = 2 + params?;
            match bytes[end] {
                b'm' => Some((end + 1, Short::Colour)),
                action @ (b'A'..=b'H'
                | b'J'
                | b'K'
                | b'P'
                | b'X'
                | b'@'
                | b'`'
                | b'a'
                | b'd'
                | b'e'
                | b'f'
                | b'h'
                | b'l'
                | b'r') => {
                    let params = csi_params(&bytes[2..end])?;
                    Some((end + 1, Short::Csi(char::from(action), params)))
                }
                _ => None,
            }
        }
        b']' => {
            let end = 2 + scan::printable_run(bytes.get(2..)?);
            let kind = match bytes[2..end] {
                [b'0' | b'2', b';', ..] => Short::Title,
                _ => Short::Inert,
            };
            (*bytes.get(end)? == 0x07).then_some((end + 1, kind))
        }
        _ => None,
    }
}

/// The text of a [`Short::Title`] sequence (`ESC ] 0;text;more BEL`) as `vte` splits it: up
/// to the next `;`.
pub(super) fn title_text(sequence: &[u8]) -> std::borrow::Cow<'_, str> {
    let body = &sequence[4..sequence.len() - 1];
    lossy(&body[..memchr::memchr(b';', body).unwrap_or(body.len())])
}

/// `bytes` as text, invalid UTF-8 replaced; `from_utf8_lossy` alone walks a valid title
/// byte by byte, and one is set before every prompt.
pub(super) fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A C0 control that moves nothing and changes no cell (NUL, BEL, CAN, …): see
/// the screen's `execute`, where only BS, HT, LF, VT, FF and CR act.
#[inline]
pub(super) fn does_nothing(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, 0x08..=0x0d | 0x1b)
}

/// Up to two `;`-separated numbers, as `vte` reads them (an empty one is 0, digits saturate
/// at `u16::MAX`); `None` for more (left to `vte`).
fn csi_params(bytes: &[u8]) -> Option<[u16; 2]> {
    let mut params = [0u16; 2];
    let mut i = 0;
    for &b in bytes {
        if b == b';' {
            i += 1;
            if i == params.len() {
                return None;
            }
        } else {
            params[i] = params[i].saturating_mul(10).saturating_add(u16::from(b - b'0'));
        }
    }
    Some(params)
}
