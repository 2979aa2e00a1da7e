//! What the terminal draws text with, as far as it decides whether text can be seen: SGR 8
//! (concealed) and the ink and background colours. Text concealed, or drawn in the colour of
//! its own background (`ESC [ 30;40 m`, `38;5;16` on `48;5;0`, `38;2;1;1;1` on black), was
//! on the screen in name only.
//!
//! A colour left at the terminal's default is not judged: the default ink and background
//! are the terminal's theme, which a transcript does not record (black ink is invisible on a
//! dark theme and plain on a light one, and honest prompts set either).

/// A colour as a colour sequence sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Colour {
    /// The terminal's own (`39`, `49`, a reset).
    #[default]
    Default,
    /// The 256-colour palette: 0–15 the basic colours (`30`–`37`, `90`–`97`), 16–255
    /// xterm's cube and greys.
    Index(u8),
    Rgb([u8; 3]),
}

/// Colours closer than this on every channel (of 255) are one ink to the eye: neighbouring
/// greys of the 256-colour palette (10 apart) count as the same, neighbouring cube colours
/// (40 apart) do not.
const SAME_INK: u8 = 12;

impl Colour {
    /// xterm's default values: the basic colours depend on a theme, but an index names the
    /// same one for ink and background, so two basic colours are compared by index alone.
    fn rgb(self) -> Option<[u8; 3]> {
        const BASIC: [[u8; 3]; 16] = [
            [0, 0, 0],
            [205, 0, 0],
            [0, 205, 0],
            [205, 205, 0],
            [0, 0, 238],
            [205, 0, 205],
            [0, 205, 205],
            [229, 229, 229],
            [127, 127, 127],
            [255, 0, 0],
            [0, 255, 0],
            [255, 255, 0],
            [92, 92, 255],
            [255, 0, 255],
            [0, 255, 255],
            [255, 255, 255],
        ];
        const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
        Some(match self {
            Colour::Default => return None,
            Colour::Rgb(rgb) => rgb,
            Colour::Index(n @ 0..=15) => BASIC[usize::from(n)],
            Colour::Index(n @ 16..=231) => {
                let n = usize::from(n - 16);
                [LEVELS[n / 36], LEVELS[n / 6 % 6], LEVELS[n % 6]]
            }
            Colour::Index(n) => [8 + 10 * (n - 232); 3],
        })
    }

    fn looks_like(self, other: Colour) -> bool {
        match (self, other) {
            (Colour::Index(a @ 0..=15), Colour::Index(b @ 0..=15)) => a == b,
            _ => match (self.rgb(), other.rgb()) {
                (Some(a), Some(b)) => a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= SAME_INK),
                _ => false,
            },
        }
    }
}

/// Why text drawn now cannot be seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unseen {
    /// SGR 8.
    Concealed,
    /// Ink of the background's colour.
    SameInk,
}

/// Where a number of the `;` form falls: on its own, or inside a `38`/`48`/`58` colour
/// (`which`) as its kind (`5`, `2`), index or channels read so far.
#[derive(Clone, Copy)]
enum Reading {
    Plain,
    Kind(u16),
    Index(u16),
    Red(u16),
    Green(u16, u16),
    Blue(u16, u16, u16),
}

/// The drawing state colour sequences change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Pen {
    conceal: bool,
    ink: Colour,
    background: Colour,
}

impl Pen {
    /// Whether text drawn now is visible, and if not why.
    #[inline]
    pub fn unseen(&self) -> Option<Unseen> {
        if self.background == Colour::Default && !self.conceal {
            None // nearly always: no colour looks like the theme's background here
        } else if self.conceal {
            Some(Unseen::Concealed)
        } else if self.ink.looks_like(self.background) {
            Some(Unseen::SameInk)
        } else {
            None
        }
    }

    /// A colour sequence's `;`-separated parameters as typed (`01;34`, empty for a reset):
    /// one pass over the bytes, as [`Pen::apply`] reads numbers (nearly every line of
    /// coloured output has some, so no iterator of numbers is built).
    #[inline]
    pub fn apply_typed(&mut self, params: &[u8]) {
        match *params {
            [] => *self = Pen::default(),
            // `0`, `1`, `32`: most colours are one number.
            [d] if d.is_ascii_digit() => self.plain(u16::from(d - b'0')),
            [d, e] if d.is_ascii_digit() && e.is_ascii_digit() => {
                self.plain(u16::from(d - b'0') * 10 + u16::from(e - b'0'))
            }
            _ => self.apply_numbers(params),
        }
    }

    fn apply_numbers(&mut self, params: &[u8]) {
        let (mut read, mut n) = (Reading::Plain, 0u32);
        for &b in params {
            if b == b';' {
                read = self.read(read, n as u16);
                n = 0;
            } else {
                // Saturating as `vte` does, at u16::MAX.
                n = (n * 10 + u32::from(b - b'0')).min(u32::from(u16::MAX));
            }
        }
        self.read(read, n as u16);
    }

    /// One number of the `;` form, read in the state `read` leaves it: the next state.
    #[inline]
    fn read(&mut self, read: Reading, v: u16) -> Reading {
        match read {
            Reading::Plain => match v {
                38 | 48 | 58 => return Reading::Kind(v),
                _ => self.plain(v),
            },
            Reading::Kind(which) => match v {
                5 => return Reading::Index(which),
                2 => return Reading::Red(which),
                _ => {}
            },
            Reading::Index(which) => self.set(which, index(v)),
            Reading::Red(which) => return Reading::Green(which, v),
            Reading::Green(which, r) => return Reading::Blue(which, r, v),
            Reading::Blue(which, r, g) => self.set(which, rgb(r, g, v)),
        }
        Reading::Plain
    }

    /// A number that is not part of a `38`/`48`/`58` colour.
    #[inline]
    fn plain(&mut self, v: u16) {
        match v {
            0 => *self = Pen::default(),
            8 => self.conceal = true,
            28 => self.conceal = false,
            30..=37 => self.ink = Colour::Index(v as u8 - 30),
            90..=97 => self.ink = Colour::Index(v as u8 - 90 + 8),
            39 => self.ink = Colour::Default,
            40..=47 => self.background = Colour::Index(v as u8 - 40),
            100..=107 => self.background = Colour::Index(v as u8 - 100 + 8),
            49 => self.background = Colour::Default,
            _ => {}
        }
    }

    /// A colour sequence's parameters in groups, as `vte` gives them: a group of more than
    /// one is a colour in the `:` form (`38:5:n`, `38:2:r:g:b`, `38:2:space:r:g:b`).
    pub fn apply_groups<'a>(&mut self, groups: impl Iterator<Item = &'a [u16]>) {
        let (mut any, mut read) = (false, Reading::Plain);
        for group in groups {
            any = true;
            match group {
                [which @ (38 | 48 | 58), rest @ ..] if !rest.is_empty() => {
                    let colour = match rest {
                        [5, n] => index(*n),
                        [2, _, r, g, b] | [2, r, g, b] => rgb(*r, *g, *b),
                        _ => None,
                    };
                    self.set(*which, colour);
                    read = Reading::Plain;
                }
                // The `;` form: one number a group, a colour's numbers in the groups after it.
                _ => read = group.iter().fold(read, |read, &v| self.read(read, v)),
            }
        }
        if !any {
            *self = Pen::default();
        }
        // A colour cut short (`38;2;1`) sets nothing, as in xterm.
    }

    /// `38`, `48` or `58` (the underline's colour, which hides nothing) set to `colour`; a
    /// colour out of range leaves it, as xterm does.
    fn set(&mut self, which: u16, colour: Option<Colour>) {
        match (which, colour) {
            (38, Some(c)) => self.ink = c,
            (48, Some(c)) => self.background = c,
            _ => {}
        }
    }
}

fn index(n: u16) -> Option<Colour> {
    u8::try_from(n).ok().map(Colour::Index)
}

fn rgb(r: u16, g: u16, b: u16) -> Option<Colour> {
    Some(Colour::Rgb([u8::try_from(r).ok()?, u8::try_from(g).ok()?, u8::try_from(b).ok()?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(sequences: &[&str]) -> Option<Unseen> {
        let mut pen = Pen::default();
        sequences.iter().for_each(|s| pen.apply_typed(s.as_bytes()));
        pen.unseen()
    }

    #[test]
    fn ink_of_the_backgrounds_colour_hides_text_however_it_is_spelled() {
        let same = Some(Unseen::SameInk);
        assert_eq!(after(&["30;40"]), same);
        assert_eq!(after(&["97", "1;107"]), same, "set apart, bright");
        assert_eq!(after(&["38;5;16", "48;5;0"]), same, "cube black on basic black");
        assert_eq!(after(&["38;2;1;2;3;48;2;0;0;0"]), same, "nearly black on black");
        assert_eq!(after(&["38;5;236;48;5;237"]), same, "neighbouring greys");
        assert_eq!(after(&["38;2;255;255;255", "48;5;15"]), same);
        assert_eq!(after(&["8"]), Some(Unseen::Concealed));
        assert_eq!(after(&["1;8"]), Some(Unseen::Concealed));
        assert_eq!(after(&["48;2;8;8;8;8"]), Some(Unseen::Concealed), "after an RGB colour");
        assert_eq!(after(&["8;30;40"]), Some(Unseen::Concealed), "concealment named first");
    }

    #[test]
    fn colours_that_differ_or_are_the_terminals_own_hide_nothing() {
        assert_eq!(after(&["01;34"]), None, "a prompt's colour");
        assert_eq!(after(&["30;42"]), None, "ls: a sticky directory");
        assert_eq!(after(&["30"]), None, "black ink on the theme's background");
        assert_eq!(after(&["40"]), None, "the theme's ink on black");
        assert_eq!(after(&["30;40", "0"]), None, "reset");
        assert_eq!(after(&["30;40", ""]), None, "reset without parameters");
        assert_eq!(after(&["30;40", "39"]), None);
        assert_eq!(after(&["30;40", "49"]), None);
        assert_eq!(after(&["30;40", "31"]), None);
        assert_eq!(after(&["38;5;8"]), None, "grey, not concealment");
        assert_eq!(after(&["38;5;1;48;5;9"]), None, "basic red and bright red differ");
        assert_eq!(after(&["38;5;16;48;5;17"]), None, "neighbouring cube colours differ");
        assert_eq!(after(&["38;5;300;48;5;0", "38;5;0"]), Some(Unseen::SameInk));
        assert_eq!(after(&["38;5;300;48;5;0"]), None, "out of range: the ink is left");
        assert_eq!(after(&["58;5;0;40"]), None, "the underline's colour hides nothing");
        assert_eq!(after(&["8", "28"]), None);
    }

    #[test]
    fn the_colon_form_is_read_by_groups() {
        let mut pen = Pen::default();
        let groups: [&[u16]; 2] = [&[38, 2, 0, 9, 9, 9], &[48, 5, 16]];
        pen.apply_groups(groups.into_iter());
        assert_eq!(pen.unseen(), Some(Unseen::SameInk));
        pen.apply_groups(std::iter::empty());
        assert_eq!(pen.unseen(), None, "no parameters: a reset");
        let groups: [&[u16]; 2] = [&[38, 2, 0, 0, 0], &[40]];
        pen.apply_groups(groups.into_iter());
        assert_eq!(pen.unseen(), Some(Unseen::SameInk), "no colour space");
        pen.apply_groups([&[0u16][..]].into_iter());
        // The `;` form as `vte` gives it (one number a group), as in a long sequence.
        let groups: [&[u16]; 7] = [&[1], &[38], &[5], &[16], &[48], &[5], &[0]];
        pen.apply_groups(groups.into_iter());
        assert_eq!(pen.unseen(), Some(Unseen::SameInk), "numbers read across groups");
    }
}
