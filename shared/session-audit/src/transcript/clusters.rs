//! Characters of no width (combining accents, variation selectors such as the emoji one,
//! the zero-width joiner) are drawn by a terminal on the cell before them, and readline moves
//! over and deletes them with that cell's character (`❤️` is one character to Left and
//! Backspace). The screen keeps one `char` per cell, so such a cell holds a handle: a
//! character from the last private-use plane that stands for the cell's whole text.

use std::collections::HashMap;

/// Handles are U+100000 and up (the last private-use plane). A character from that plane
/// that really was printed gets a handle of its own standing for itself, so a handle is
/// never mistaken for text.
const FIRST_HANDLE: u32 = 0x10_0000;
/// Distinct cell texts kept per session (honest sessions have a handful): past it, further
/// characters of no width are not kept (they draw nothing; the text misses them).
const MAX_CLUSTERS: usize = 4096;
/// Bytes of one cell's text, at most: more marks stacked on one character are not kept.
const MAX_CLUSTER_BYTES: usize = 32;

/// The texts handles stand for.
#[derive(Debug, Default)]
pub(super) struct Clusters {
    texts: Vec<String>,
    handles: HashMap<String, char>,
}

/// Whether `c` is a handle (see the module's documentation) when in a cell.
#[inline]
pub(super) fn is_handle(c: char) -> bool {
    u32::from(c) >= FIRST_HANDLE
}

/// How many cells `c` takes: 0 for a character a terminal draws on the cell before it, 2
/// for a double-width one (`None` for controls).
#[inline]
pub(super) fn char_width(c: char) -> Option<usize> {
    unicode_width::UnicodeWidthChar::width(c)
}

impl Clusters {
    /// Whether any handle was made (only then can cells hold one).
    pub fn any(&self) -> bool {
        !self.texts.is_empty()
    }

    /// What a cell holding `c` shows, appended to `out`.
    #[inline]
    pub fn push_text(&self, c: char, out: &mut String) {
        match self.text(c) {
            Some(text) => out.push_str(text),
            None => out.push(c),
        }
    }

    /// Characters a cell holding `c` stands for.
    pub fn chars(&self, c: char) -> usize {
        self.text(c).map_or(1, |t| t.chars().count())
    }

    /// The cell `base` with `mark` drawn on it: a handle, or `None` when no more are kept.
    pub fn join(&mut self, base: char, mark: char) -> Option<char> {
        let mut text = String::new();
        self.push_text(base, &mut text);
        if text.len() + mark.len_utf8() > MAX_CLUSTER_BYTES {
            return None;
        }
        text.push(mark);
        self.handle(text)
    }

    /// The handle a character of the handles' plane that was really printed is kept as.
    pub fn own(&mut self, c: char) -> Option<char> {
        self.handle(c.to_string())
    }

    fn handle(&mut self, text: String) -> Option<char> {
        if let Some(&h) = self.handles.get(&text) {
            return Some(h);
        }
        if self.texts.len() >= MAX_CLUSTERS {
            return None;
        }
        let h = char::from_u32(FIRST_HANDLE + self.texts.len() as u32).expect("in the plane");
        self.texts.push(text.clone());
        self.handles.insert(text, h);
        Some(h)
    }

    fn text(&self, c: char) -> Option<&str> {
        let i = u32::from(c).checked_sub(FIRST_HANDLE)?;
        self.texts.get(i as usize).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_with_marks_on_it_is_one_handle_standing_for_its_text() {
        let mut c = Clusters::default();
        let heart = c.join('❤', '\u{fe0f}').unwrap();
        assert!(is_handle(heart) && c.any());
        assert_eq!(c.join('❤', '\u{fe0f}'), Some(heart), "the same text, the same handle");
        let acute = c.join('e', '\u{301}').unwrap();
        let e = c.join(acute, '\u{323}').unwrap();
        let mut out = String::new();
        [heart, 'x', e].iter().for_each(|&h| c.push_text(h, &mut out));
        assert_eq!(out, "❤\u{fe0f}xe\u{301}\u{323}");
        assert_eq!(c.chars(e), 3);
        // A printed character of the handles' plane stands for itself.
        let own = c.own('\u{10_0001}').unwrap();
        out.clear();
        c.push_text(own, &mut out);
        assert_eq!(out, "\u{10_0001}");
        assert!(char_width('\u{200d}') == Some(0) && char_width('\u{301}') == Some(0));
        assert_eq!((char_width('é'), char_width('漢')), (Some(1), Some(2)));
    }

    #[test]
    fn marks_stacked_past_the_bound_are_not_kept() {
        let mut c = Clusters::default();
        let mut cell = 'a';
        let mut kept = 0;
        while let Some(next) = c.join(cell, '\u{301}') {
            cell = next;
            kept += 1;
        }
        assert_eq!(kept, (MAX_CLUSTER_BYTES - 1) / 2);
        let mut c = Clusters::default();
        let distinct = (0..MAX_CLUSTERS as u32 + 10)
            .filter_map(|i| c.join(char::from_u32(0x4e00 + i).unwrap(), '\u{301}'))
            .count();
        assert_eq!(distinct, MAX_CLUSTERS);
    }
}
