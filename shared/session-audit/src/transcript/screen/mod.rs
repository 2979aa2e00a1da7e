//! A line-oriented terminal: just enough of xterm to know what text a line ended up holding.
//!
//! A transcript is the byte stream the shell wrote to its terminal: echoed keystrokes,
//! readline's redraws (backspace, cursor moves, insert/delete characters, erase line), the
//! wrap markers readline emits at the right margin, and program output. Applying those bytes
//! to a model of the cursor and the current line is the only way to recover what the user
//! actually submitted; stripping escape codes keeps deleted characters and loses edits.
//!
//! The model keeps one *logical line* (all physical rows up to the next line feed), the cursor
//! position inside it, and the terminal width once it has been inferred. It never keeps more
//! than one line, so memory does not grow with the transcript. `vte` parses the escape
//! sequences; this module only interprets them.

use vte::{Params, Perform};

mod listener;
mod program_line;
mod region;

pub use listener::{LineFlags, ScreenListener};
use program_line::ProgramLine;
use region::{Region, Row};

use super::clusters::{char_width, is_handle, Clusters};
use super::fc_file::FcFileWatch;
use super::pen::{self, Pen};
use super::rows::Rows;
use super::scan;
use super::sequences::{does_nothing, lossy, short_sequence, title_text, Short};

/// Longest logical line kept, in characters. Longer lines keep their first part and are
/// flagged, so a multi-megabyte line without a newline cannot grow memory.
pub const MAX_LINE_CHARS: usize = 16 * 1024;
/// The right half of a double-width character's two columns (CJK, most emoji), as a cell of
/// its own so columns stay columns: readline moves back over such a character with two
/// backspaces and deletes it with `CSI 2 P`. NUL is never printed, so it is never text.
const WIDE_RIGHT: char = '\0';
/// readline's padding of the last column before a double-width character that did not fit
/// there: a column, but no text.
const PAD: char = '\u{1}';

/// Narrowest width inferred from a readline wrap marker; narrower candidates are redraws.
const MIN_INFERRED_WIDTH: usize = 20;
const TAB_STOP: usize = 8;

/// The character index of cell `cell` in the text of `cells` (right halves of double-width
/// characters and padding are not text; a cell with marks drawn on it is all of them).
fn text_column(cells: &[char], cell: usize, clusters: &Clusters) -> usize {
    let before = &cells[..cell.min(cells.len())];
    let marks: usize = if clusters.any() {
        before.iter().filter(|&&c| is_handle(c)).map(|&c| clusters.chars(c) - 1).sum()
    } else {
        0
    };
    cell - before.iter().filter(|&&c| c == WIDE_RIGHT || c == PAD).count() + marks
}

/// [`text_column`] of each of `joins` (cells, any order), ascending, once each: those
/// inside the text (of `chars` characters), past its first column.
fn text_columns(cells: &[char], joins: &[u16], clusters: &Clusters, chars: usize) -> Vec<u16> {
    let mut joins = joins.to_vec();
    joins.sort_unstable();
    joins.dedup();
    let (mut column, mut cell) = (0, 0);
    let mut columns = Vec::with_capacity(joins.len());
    for join in joins {
        let to = usize::from(join).min(cells.len());
        for &c in &cells[cell..to] {
            column += match c {
                WIDE_RIGHT | PAD => 0,
                c if clusters.any() && is_handle(c) => clusters.chars(c),
                _ => 1,
            };
        }
        cell = to;
        if column > 0 && column < chars {
            columns.push(u16::try_from(column).expect("a column of a line kept"));
        }
    }
    columns
}

impl State {
    /// A colour's parameters (`01;34`): they may hide text or show it again.
    fn colour(&mut self, params: &[u8]) {
        self.modes.pen.apply_typed(params);
        self.pen_changed();
    }

    /// Keep [`Modes::concealed`] (read for every character) in step with the pen.
    fn pen_changed(&mut self) {
        self.modes.concealed = self.modes.pen.unseen().is_some();
    }

    /// What an escape does to the pen: `ESC 7` saves it with the cursor and `ESC 8` puts it
    /// back (a colour that hides text can come back so), `ESC c` resets the terminal (what
    /// `reset` prints: colours and auto-wrap as at the start).
    fn pen_escape(&mut self, byte: u8) {
        match byte {
            b'7' => self.saved_pen = self.modes.pen,
            b'8' => self.modes.pen = self.saved_pen,
            b'c' => {
                self.modes.pen = Pen::default();
                self.modes.wrap_off = false;
            }
            _ => return,
        }
        self.pen_changed();
    }
}

/// The terminal state. Feed it through [`Screen::advance`].
pub struct Screen {
    parser: vte::Parser,
    state: State,
    /// `vte` is inside an escape sequence and gets the next bytes.
    in_sequence: bool,
    /// The first bytes of a UTF-8 character the last feed ended inside of. Characters are
    /// decoded here, not by `vte`: its own carry-over across feeds skips the bytes after such
    /// a character when another one is cut within three bytes (`é` split, then `\n€`: the
    /// line feed was lost), so where reads happened to split the input changed the result.
    utf8: Vec<u8>,
    /// The bytes of a sequence still open across feeds (see [`Screen::feed_vte`]), and
    /// whether `vte` applied anything since it began (a string never does; after CAN or an
    /// ignored CSI `vte` is back in its ground state and applies what follows itself).
    open_sequence: Vec<u8>,
    open_sequence_applied: bool,
}

/// The kernel's canonical-mode erase, echoed as `BS SP BS` (ECHOE), on a line no line editor
/// reads (dash, sh): with IUTF8 off, as on the SSM Agent's pty, it removes one *byte* of the
/// line each time while the terminal moves back one *character*. Three erases after `€`
/// leave the shell's line without the euro sign and the screen without two more characters
/// (`echo €⌫⌫⌫EUR` runs `echo EUR` and shows `echEUR`). The screen follows the shell.
/// A redraw that moved up before the terminal width was known. bash 5.1+ shows a paste
/// highlighted, then moves the cursor up to its start and writes it again plain; a paste
/// longer than a row, before any wrap marker, leaves the width unknown, so the rows moved up
/// could not be placed. The moves (up, to the row's start, right and left) are noted and
/// the text written after them held: it is text already on the line, so the one width that
/// puts the cursor where that text is, is the terminal's width. No such width, or more than
/// one: the moves are applied as before (the cursor has followed them, as if the line were
/// one row) and the line is flagged (`geometry_unknown`).
struct Guess {
    /// Where the cursor was when it first moved up.
    from: usize,
    up: usize,
    /// A carriage return came after: the row's start, then `right`.
    to_row_start: bool,
    right: isize,
    text: Vec<char>,
}

/// Widest terminal a redraw's width is looked for at, and the most text held for it.
const MAX_GUESSED_WIDTH: usize = 1024;
const MAX_GUESS_CHARS: usize = 4096;

#[derive(Clone, Copy, Default)]
enum EraseEcho {
    #[default]
    None,
    /// A BS moved back onto this cell, which held a multi-byte character.
    Back { cell: usize, ch: char },
    /// … and a space overwrote it.
    Blanked { cell: usize, ch: char },
}

struct State {
    /// One cell per column: a double-width character is its own cell and a [`WIDE_RIGHT`].
    line: Vec<char>,
    /// A double-width character was written in this session: lines may hold [`WIDE_RIGHT`].
    wide_seen: bool,
    /// What cells with characters of no width drawn on them hold.
    clusters: Clusters,
    /// Where the cursor is from the last submitted command's row.
    rows: Rows,
    /// The pen `ESC 7` saved with the cursor.
    saved_pen: Pen,
    /// How far a kernel erase echo over a multi-byte character has come, and a character it
    /// left partly erased (cell, bytes left of it).
    erase: EraseEcho,
    partial: Option<(usize, usize)>,
    pos: usize,
    insert_mode: bool,
    flags: LineFlags,
    /// Cells of the line where it was read as going on past the terminal's last line
    /// ([`LineFlags::joined_at_margin`]): nearly always none.
    joins: Vec<u16>,
    text: String,
    /// What the width is and how it is learned.
    wrap: Wrap,
    /// The line editor's region, while one is open.
    region: Region,
    /// Which screen, and whose input the markers mean.
    modes: Modes,
}

/// The terminal's width and readline's wraps, from which it is learned.
struct Wrap {
    width: Option<usize>,
    /// What the last action was: a pending wrap and readline's wrap marker depend on it.
    last: Last,
    /// A CR right after such a space, waiting for the next action to say if it was a wrap.
    candidate: Option<usize>,
    markers: usize,
    /// Where a line feed inside a wrapped input line put the cursor (see [`State::end_region`]).
    fed_down_to: Option<usize>,
    /// A redraw that moved up while the width was unknown (see [`Guess`]).
    guess: Option<Guess>,
}

/// The screen in use and how the line editor's markers are read on it.
struct Modes {
    /// Whether bracketed-paste toggles delimit the line editor (see [`Screen::ignore_markers`]).
    markers: bool,
    alternate: bool,
    /// On the alternate screen: the cursor was placed anywhere but home since the line editor
    /// region began, so the region is a full-screen program's (vim turns bracketed paste on
    /// too), not a shell reading a line.
    addressed: bool,
    /// On the alternate screen, a line editor submitted a plain line: a shell is there, so
    /// its lines are read as on the main screen until the alternate screen is left.
    shell_on_alternate: bool,
    /// Whether the full-screen program there showed bash's `fc` file: an editor on a
    /// command line (`fc`, Ctrl-X Ctrl-E, vi mode's `v`), told on leaving.
    fc_file: FcFileWatch,
    /// What the full-screen program there last drew from a `!`, told on leaving.
    program_line: ProgramLine,
    /// What colour sequences set: concealment, ink and background.
    pen: Pen,
    /// Text drawn now is not visible ([`Pen::unseen`], kept here: read for every character).
    concealed: bool,
    /// Auto-wrap is off (`CSI ? 7 l`).
    wrap_off: bool,
}

impl Default for Screen {
    fn default() -> Self {
        Self::new()
    }
}

impl Screen {
    /// A screen of unknown width, on the main screen, with no region open.
    pub fn new() -> Self {
        Screen {
            in_sequence: false,
            utf8: Vec::with_capacity(4),
            open_sequence: Vec::new(),
            open_sequence_applied: false,
            parser: vte::Parser::new(),
            state: State {
                line: Vec::with_capacity(256),
                wide_seen: false,
                clusters: Clusters::default(),
                rows: Rows::default(),
                saved_pen: Pen::default(),
                erase: EraseEcho::None,
                partial: None,
                pos: 0,
                insert_mode: false,
                flags: LineFlags::default(),
                joins: Vec::new(),
                text: String::with_capacity(256),
                wrap: Wrap {
                    width: None,
                    last: Last::Other,
                    candidate: None,
                    markers: 0,
                    fed_down_to: None,
                    guess: None,
                },
                region: Region::new(),
                modes: Modes {
                    markers: true,
                    alternate: false,
                    addressed: false,
                    shell_on_alternate: false,
                    fc_file: FcFileWatch::default(),
                    program_line: ProgramLine::default(),
                    pen: Pen::default(),
                    concealed: false,
                    wrap_off: false,
                },
            },
        }
    }

    /// Apply raw transcript bytes (any split, invalid UTF-8 included).
    ///
    /// Printable ASCII and C0 controls outside escape sequences (nearly every byte of a real
    /// transcript) are applied directly; escape sequences and non-ASCII text go through `vte`,
    /// which is stopped as soon as a sequence ends so the fast path can resume. The result is
    /// the same as feeding everything to `vte` (the tests compare chunkings byte by byte).
    pub fn advance<L: ScreenListener>(&mut self, bytes: &[u8], listener: &mut L) {
        let mut i = 0;
        if !self.utf8.is_empty() && !self.in_sequence {
            i = self.finish_character(bytes, listener);
        }
        while i < bytes.len() {
            if self.in_sequence {
                i += self.feed_vte(&bytes[i..], listener);
                continue;
            }
            if self.state.at_line_start() && !self.state.modes.concealed {
                let (n, whole) = self.state.plain_line(&bytes[i..], listener);
                i += n;
                if whole {
                    continue; // the next line may be plain too
                }
                if i == bytes.len() {
                    break;
                }
                // Stopped at what the fast path does not take: apply it below.
            }
            let byte = bytes[i];
            if (byte >= 0x80 || does_nothing(byte)) && i + 1 < bytes.len() {
                // Binary output, a run at a time. A lone byte (as when fed one at a time,
                // which the tests compare against) goes the character-by-character way.
                let used = self.state.append_run(&bytes[i..]);
                if used > 0 {
                    i += used;
                    continue;
                }
            }
            match byte {
                0x20..=0x7e => i += self.state.print_ascii_run(&bytes[i..]),
                0x1b => match short_sequence(&bytes[i..]) {
                    Some((n, Short::Inert)) => i += n,
                    Some((n, Short::Colour)) => {
                        self.state.colour(&bytes[i + 2..i + n - 1]);
                        i += n;
                    }
                    Some((n, Short::Title)) => {
                        listener.title(&title_text(&bytes[i..i + n]));
                        i += n;
                    }
                    Some((n, Short::PrivateMode(mode, on))) => {
                        self.state.csi(b"?", if on { 'h' } else { 'l' }, [mode, 0]);
                        self.state.set_private_mode(mode, on, listener);
                        i += n;
                    }
                    Some((n, Short::Csi(action, params))) => {
                        self.state.csi(b"", action, params);
                        i += n;
                    }
                    None => i += self.feed_vte(&bytes[i..], listener),
                },
                0x80..=0xff => i += self.character(&bytes[i..], listener),
                0x7f => i += 1, // DEL is ignored by terminals
                byte => {
                    self.state.execute(byte, listener);
                    i += 1;
                    if does_nothing(byte) {
                        // A run of them (the NULs of a binary file): the first one's effects
                        // (a pending wrap or guess resolved) are all the rest would have.
                        i += bytes[i..].iter().take_while(|&&b| does_nothing(b)).count();
                    }
                }
            }
        }
    }

    /// The non-ASCII character at the start of `bytes`, applied as `vte` applies a whole
    /// one: a C1 control (U+0080–U+009F, or a lone byte up to 0x9F) is executed, anything not
    /// UTF-8 prints U+FFFD. A character cut by the end of `bytes` waits for the next feed.
    /// Returns the bytes used.
    fn character<L: ScreenListener>(&mut self, bytes: &[u8], listener: &mut L) -> usize {
        match scan::decode_utf8(bytes) {
            scan::Utf8::Char(c, n) => {
                self.state.character(c, listener);
                n
            }
            scan::Utf8::Invalid(n) => {
                match bytes[0] {
                    c1 @ 0x80..=0x9f if n == 1 => self.state.execute(c1, listener),
                    _ => self.state.print(char::REPLACEMENT_CHARACTER),
                }
                n
            }
            scan::Utf8::Incomplete => {
                self.utf8.extend_from_slice(bytes);
                bytes.len()
            }
        }
    }

    /// Complete the character the last feed was cut inside of; returns the bytes of `bytes`
    /// that went into it.
    fn finish_character<L: ScreenListener>(&mut self, bytes: &[u8], listener: &mut L) -> usize {
        let have = self.utf8.len();
        let mut joined = std::mem::take(&mut self.utf8);
        joined.extend_from_slice(&bytes[..bytes.len().min(4 - have)]);
        let used = self.character(&joined, listener);
        if !self.utf8.is_empty() {
            return bytes.len(); // still cut: `character` kept the bytes for the next feed
        }
        // The cut bytes were a valid start, so what was applied covers at least them.
        used.saturating_sub(have)
    }

    /// Feed `vte` until a sequence ends; returns the bytes used.
    ///
    /// A sequence still open at a line feed was not one: an OSC, DCS or SOS/PM/APC string
    /// swallows everything up to a BEL or an ESC, so a person who prints `ESC ]` or `ESC P`
    /// at a shell without markers (dash) would hide the prompts and commands that follow,
    /// from the terminal and from this model. No real string (a title, a hyperlink, a colour
    /// query) holds a line feed. So the sequence is cancelled there (CAN) and its bytes after
    /// the introducer (`ESC ]`, `ESC P`, …) are applied again as text: the report shows what
    /// the terminal hid, a prompt at the start of its line where it was. The line
    /// feed itself is left for the caller, so the result is the same however the input is
    /// split.
    fn feed_vte<L: ScreenListener>(&mut self, bytes: &[u8], listener: &mut L) -> usize {
        const WINDOW: usize = 256; // nearly every sequence ends in its first window
        /// Kept of an open sequence's bytes: a line's worth (longer lines are cut anyway).
        const KEPT: usize = 4 * MAX_LINE_CHARS;
        let mut performer =
            Performer { s: &mut self.state, l: listener, sequence_done: false, applied: false };
        let (mut used, mut cut_at_line_feed, mut applied) = (0, false, false);
        while used < bytes.len() {
            let window = &bytes[used..bytes.len().min(used + WINDOW)];
            let stop = memchr::memchr(b'\n', window).unwrap_or(window.len());
            used += self.parser.advance_until_terminated(&mut performer, &window[..stop]);
            if performer.sequence_done {
                break;
            }
            if stop < window.len() {
                applied = performer.applied; // not the CAN's own execute
                self.parser.advance(&mut performer, &[0x18]); // CAN: back to the ground state
                performer.sequence_done = true;
                cut_at_line_feed = true;
                break;
            }
        }
        self.in_sequence = !performer.sequence_done;
        applied |= std::mem::take(&mut self.open_sequence_applied)
            || (performer.applied && !cut_at_line_feed);
        if self.in_sequence {
            self.open_sequence_applied = applied;
        }
        if self.in_sequence || (cut_at_line_feed && !applied) {
            self.open_sequence.extend_from_slice(&bytes[..used]);
            if self.open_sequence.len() > 2 * KEPT {
                let excess = self.open_sequence.len() - KEPT;
                self.open_sequence.drain(..excess); // its last line's worth
            }
        }
        if cut_at_line_feed && !applied {
            self.apply_cut_sequence(listener);
        } else if !self.in_sequence && !self.open_sequence.is_empty() {
            self.open_sequence.clear();
        }
        used
    }

    /// A sequence cut at a line feed: its bytes after the introducer, as text (see
    /// [`Self::feed_vte`]).
    #[cold]
    #[inline(never)]
    fn apply_cut_sequence<L: ScreenListener>(&mut self, listener: &mut L) {
        let text = std::mem::take(&mut self.open_sequence);
        // Holds no line feed: cannot come back here.
        self.advance(text.get(2..).unwrap_or_default(), listener);
        if !self.utf8.is_empty() {
            // A character cut by the line feed, as anywhere else.
            self.utf8.clear();
            self.state.print(char::REPLACEMENT_CHARACTER);
        }
        if self.open_sequence.is_empty() {
            self.open_sequence = text; // keep the allocation
            self.open_sequence.clear();
        }
    }

    /// Flush the last line (a transcript need not end with a newline).
    pub fn finish<L: ScreenListener>(&mut self, listener: &mut L) {
        if !std::mem::take(&mut self.utf8).is_empty() {
            self.state.print(char::REPLACEMENT_CHARACTER); // the input ended inside a character
        }
        let s = &mut self.state;
        s.resolve_guess();
        s.resolve_wrap_candidate(false);
        if s.region.open {
            s.region.open = false;
            s.end_region(listener);
        } else if !s.line.is_empty() {
            s.commit(listener);
        }
        s.tell_rows(listener);
    }

    /// Treat bracketed-paste and alternate-screen toggles as plain sequences. CloudWatch
    /// streaming events keep them on some lines and strip them from others (the agent's ANSI
    /// cleanup gives up on lines holding a BEL-terminated OSC), so they cannot delimit
    /// anything there: an "enter" kept and its "leave" stripped would hide the rest.
    pub fn ignore_markers(&mut self) {
        self.state.modes.markers = false;
    }

    /// Use a width the transcript states (util-linux 2.35+ `COLUMNS="…"` on the header).
    pub fn set_width_hint(&mut self, columns: usize) {
        if columns >= MIN_INFERRED_WIDTH {
            self.state.wrap.width = Some(columns);
        }
    }

    /// The terminal width inferred so far, if any.
    pub fn width(&self) -> Option<usize> {
        self.state.wrap.width
    }

    /// Whether a full-screen program is still on the alternate screen.
    pub fn in_alternate_screen(&self) -> bool {
        self.state.modes.alternate
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Other,
    Print,
    /// A space printed at the end of the line (half of readline's wrap marker).
    SpaceAtEnd,
    /// … then erased to the end of the row: readline's padding of the last column before a
    /// double-width character that does not fit there (it goes on the next row).
    PadErased,
}

impl State {
    /// On the alternate screen, text is kept only while a line editor may be reading a line
    /// there, or once a shell has been seen there; a full-screen program's screen is not.
    fn discarding(&self) -> bool {
        let line_editor_reading = self.region.open && !self.modes.addressed;
        self.modes.alternate && !self.modes.shell_on_alternate && !line_editor_reading
    }

    /// The last print filled the last column; xterm defers the wrap to the next print.
    fn pending_wrap(&self) -> bool {
        self.wrap.last != Last::Other
            && self.wrap.width.is_some_and(|w| self.pos > 0 && self.pos.is_multiple_of(w))
    }

    fn row_start(&self) -> usize {
        match self.wrap.width {
            Some(w) if self.pending_wrap() && self.pos >= w => self.pos - w,
            Some(w) => self.pos / w * w,
            None => 0,
        }
    }

    fn row_end(&self) -> usize {
        match self.wrap.width {
            Some(w) => self.row_start() + w,
            None => usize::MAX,
        }
    }

    /// Columns `from..to` were written (by a line editor, or by the terminal echoing what was
    /// typed to a shell without one): note what the terminal did not show there.
    fn note_unseen(&mut self, from: usize, to: usize) {
        if self.modes.concealed && to > from {
            let to = u8::try_from(to).unwrap_or(u8::MAX);
            self.flags.concealed_to = self.flags.concealed_to.max(to);
            self.flags.same_ink |= self.modes.pen.unseen() == Some(pen::Unseen::SameInk);
        }
        if self.modes.wrap_off && self.wrap.width.is_some_and(|w| to > w) {
            self.flags.past_margin = true;
        }
    }

    fn clear_line(&mut self) {
        self.line.clear();
        self.partial = None;
        self.pos = 0;
        self.wrap.last = Last::Other;
        self.wrap.candidate = None;
        self.wrap.markers = 0;
        self.wrap.fed_down_to = None;
        self.flags = LineFlags::default();
        self.joins.clear();
    }

    fn collect_text(&mut self, from: usize) {
        self.text.clear();
        let end = self.line.iter().rposition(|c| *c != ' ').map_or(0, |i| i + 1);
        let cells = &self.line[from.min(end)..end];
        // No early exit: one vectorisable pass.
        if cells.iter().fold(true, |ascii, c| ascii & c.is_ascii()) {
            // Nearly every line: narrow each cell to a byte in one vectorisable pass.
            let mut bytes = std::mem::take(&mut self.text).into_bytes();
            bytes.extend(cells.iter().map(|&c| c as u8));
            if self.wide_seen {
                // A right half whose character was erased, a margin's padding.
                bytes.retain(|&b| b > 1);
            }
            self.text = scan::ascii_string(bytes);
        } else if self.clusters.any() && cells.iter().any(|&c| is_handle(c)) {
            for &c in cells.iter().filter(|&&c| c != WIDE_RIGHT && c != PAD) {
                self.clusters.push_text(c, &mut self.text);
            }
        } else {
            self.text.extend(cells.iter().filter(|&&c| c != WIDE_RIGHT && c != PAD));
        }
    }

    fn commit<L: ScreenListener>(&mut self, listener: &mut L) {
        self.collect_text(0);
        let (input, flags) = (self.region.open, self.flags);
        self.tell_joins(&self.line, &self.joins, listener);
        self.clear_line();
        listener.line(&self.text, input, 0, flags);
    }

    /// Before a line collected from `cells` (at column 0) is sent: where it was read as
    /// going on past the terminal's last line, in columns of its text.
    fn tell_joins<L: ScreenListener>(&self, cells: &[char], joins: &[u16], listener: &mut L) {
        if joins.is_empty() {
            return;
        }
        let columns = text_columns(cells, joins, &self.clusters, self.text.chars().count());
        if !columns.is_empty() {
            listener.joined_at(&columns);
        }
    }

    /// Readline marks a soft wrap with "space, CR" at the right margin. A CR right after a
    /// trailing space is held until the next action shows whether it continued the line
    /// (a wrap: the next row starts where the space is) or redrew it (a plain CR).
    fn resolve_wrap_candidate(&mut self, continues_with_text: bool) {
        let Some(p) = self.wrap.candidate.take() else { return };
        if continues_with_text {
            self.wrap.markers += 1;
            let w = if p.is_multiple_of(self.wrap.markers) { p / self.wrap.markers } else { p };
            self.wrap.width = Some(w);
            self.pos = p;
            self.wrap.last = Last::Other;
        } else {
            self.pos = self.row_start();
            self.wrap.last = Last::Other;
        }
    }

    /// A decoded non-ASCII character: a C1 control (U+0080–U+009F) is executed, however the
    /// input was split; anything else is printed.
    fn character<L: ScreenListener>(&mut self, c: char, listener: &mut L) {
        match u8::try_from(c) {
            Ok(c1 @ 0x80..=0x9f) => self.execute(c1, listener),
            _ => self.print(c),
        }
    }

    #[inline]
    fn print(&mut self, mut c: char) {
        if c == '\x7f' || self.discarding() {
            if c != '\x7f' {
                self.modes.fc_file.watch(u8::try_from(c).unwrap_or(0));
                self.modes.program_line.push(c);
            }
            return;
        }
        if let Some(guess) = &mut self.wrap.guess {
            guess.text.push(c);
            if guess.text.len() >= MAX_GUESS_CHARS {
                self.resolve_guess();
            }
            return;
        }
        self.erase = match std::mem::take(&mut self.erase) {
            EraseEcho::Back { cell, ch } if c == ' ' && cell == self.pos => {
                EraseEcho::Blanked { cell, ch }
            }
            _ => EraseEcho::None,
        };
        if self.wrap.candidate.is_some() {
            // readline's own redraw prompts, "(reverse-i-search)", "(arg: 2)", start with '('.
            self.resolve_wrap_candidate(c != '(');
        }
        // Looked up once: most non-ASCII characters are narrow (U+FFFD for invalid bytes).
        let width = if c.is_ascii() { Some(1) } else { char_width(c) };
        if width == Some(0) && self.draw_on_cell_before(c) {
            return;
        }
        if is_handle(c) {
            c = self.clusters.own(c).unwrap_or(char::REPLACEMENT_CHARACTER);
        }
        if self.rows.up > 0 {
            self.rows.written();
        }
        if self.region.overwrite {
            self.past_bottom(c);
        }
        let (pos, padded) = (self.pos, self.wrap.last == Last::PadErased);
        if !self.put_cell(c) {
            return;
        }
        if width == Some(2) {
            if padded && self.wrap.width.is_none() && self.wrap.markers == 0 {
                // The padded column was the first row's last: this character starts the next.
                self.wrap.width = Some(pos).filter(|&w| w >= MIN_INFERRED_WIDTH);
            }
            if padded && self.wrap.width.is_some_and(|w| pos.is_multiple_of(w)) {
                // The padding is no text: the command has no space there.
                if let Some(pad) = self.line.get_mut(pos - 1).filter(|c| **c == ' ') {
                    *pad = PAD;
                } else if self.line.len() == pos - 1 {
                    self.line.insert(pos - 1, PAD);
                }
            }
            self.wide_seen = true;
            self.put_cell(WIDE_RIGHT);
        }
        if self.modes.concealed || self.modes.wrap_off {
            self.note_unseen(pos, self.pos);
        }
        self.wrap.last =
            if c == ' ' && self.pos == self.line.len() { Last::SpaceAtEnd } else { Last::Print };
    }

    /// Draw a character of no width on the cell before the cursor, as terminals do (see
    /// [`super::clusters`]); false when there is none (it then takes a cell: its text is kept).
    fn draw_on_cell_before(&mut self, mark: char) -> bool {
        let Some(mut at) = self.pos.checked_sub(1) else { return false };
        if at > 0 && self.line.get(at) == Some(&WIDE_RIGHT) {
            at -= 1;
        }
        let Some(&base) = self.line.get(at) else { return false };
        if let Some(cell) = self.clusters.join(base, mark) {
            self.line[at] = cell;
        } // else: no more are kept; it draws nothing, the text misses it
        true
    }

    /// Write one cell at the cursor and move past it; false when the line is full. Writing
    /// over half of a double-width character blanks its other half, as terminals do.
    #[inline]
    fn put_cell(&mut self, c: char) -> bool {
        let pos = self.pos;
        if pos == self.line.len() && pos < MAX_LINE_CHARS {
            self.line.push(c); // the common case: text appended at the end of the line
        } else if pos >= MAX_LINE_CHARS {
            self.flags.overflowed = true;
            return false;
        } else if pos > self.line.len() {
            self.line.resize(pos, ' ');
            self.line.push(c);
        } else if self.insert_mode {
            self.line.insert(pos, c);
            self.line.truncate(MAX_LINE_CHARS);
        } else {
            if self.wide_seen {
                if self.line[pos] == WIDE_RIGHT && c != WIDE_RIGHT && pos > 0 {
                    self.line[pos - 1] = ' ';
                }
                if let Some(right) = self.line.get_mut(pos + 1).filter(|r| **r == WIDE_RIGHT) {
                    *right = ' ';
                }
            }
            self.line[pos] = c;
        }
        self.pos = pos + 1;
        true
    }

    /// A fresh line: output, or the first row of a line-editor region (a prompt).
    fn at_line_start(&self) -> bool {
        !self.modes.alternate
            && self.rows.up == 0
            && self.pos == 0
            && self.line.is_empty()
            && self.wrap.candidate.is_none()
            && (!self.region.open || self.region.rows.is_empty())
    }

    /// Plain text at the start of `bytes` on a fresh line (see [`Self::at_line_start`]):
    /// printable ASCII and colours, as nearly every output line and prompt is. A whole line
    /// goes to the listener straight from the input: output ended by CRs and a line feed, or
    /// a prompt and what was typed, one row, ended by CRs, a line feed and the line editor
    /// stopping (`CSI ? 2004 l`). Otherwise the text is put on the line and the byte-by-byte
    /// path goes on from what ended it. Either way the state and what the listener hears are
    /// what applying the bytes one by one would have given (the chunking tests compare).
    /// Returns the bytes used and whether they were a whole line.
    fn plain_line<L: ScreenListener>(&mut self, bytes: &[u8], listener: &mut L) -> (usize, bool) {
        // The line is `bytes[..i]` itself until a colour is skipped (most output lines have
        // none: no copy); from then on it is gathered in `text`.
        let mut text = std::mem::take(&mut self.text).into_bytes();
        text.clear();
        let mut contiguous = true;
        let mut i = 0;
        let line_end = loop {
            let run = scan::printable_run(&bytes[i..]);
            if !contiguous {
                // Past the longest line kept, one more byte says it overflowed: the buffer
                // stays that small whatever the input.
                let keep = run.min((MAX_LINE_CHARS + 1).saturating_sub(text.len()));
                text.extend_from_slice(&bytes[i..i + keep]);
            }
            i += run;
            match bytes.get(i) {
                Some(0x1b) => match short_sequence(&bytes[i..]) {
                    // Nothing is hidden here (see the caller): a colour that hides text is
                    // applied on the byte-by-byte path, where each character is drawn with it.
                    Some((n, kind @ (Short::Inert | Short::Title | Short::Colour))) => {
                        match kind {
                            Short::Title => listener.title(&title_text(&bytes[i..i + n])),
                            Short::Colour => {
                                let mut pen = self.modes.pen;
                                pen.apply_typed(&bytes[i + 2..i + n - 1]);
                                if pen.unseen().is_some() {
                                    break None;
                                }
                                self.modes.pen = pen;
                            }
                            _ => {}
                        }
                        if contiguous {
                            contiguous = false;
                            text.extend_from_slice(&bytes[..i.min(MAX_LINE_CHARS + 1)]);
                        }
                        i += n;
                    }
                    _ => break None,
                },
                Some(b'\r' | b'\n') => {
                    let crs = bytes[i..].iter().position(|&b| b != b'\r').unwrap_or(0);
                    break (bytes.get(i + crs) == Some(&b'\n')).then_some(i + crs + 1);
                }
                _ => break None,
            }
        };
        let line = if contiguous { &bytes[..i.min(MAX_LINE_CHARS + 1)] } else { &text[..] };
        let line_end = line_end.filter(|_| line.len() <= MAX_LINE_CHARS);
        let whole = match line_end {
            Some(end) if self.region.open => {
                // One row that neither wraps nor ends in a space (readline's wrap marker),
                // then the line editor stops: the region is this line alone.
                let one_row = self.wrap.width.is_none_or(|w| line.len() < w);
                match bytes.get(end..).and_then(short_sequence) {
                    Some((n, Short::PrivateMode(2004, false)))
                        if one_row && line.last() != Some(&b' ') =>
                    {
                        Some(end + n)
                    }
                    _ => None,
                }
            }
            end => end,
        };
        let Some(end) = whole else {
            if !line.is_empty() {
                self.print_ascii_run(line);
            }
            text.clear();
            self.text = scan::ascii_string(text);
            return (i, false);
        };
        let kept = line.iter().rposition(|&b| b != b' ').map_or(0, |n| n + 1);
        let line = scan::ascii_str(&line[..kept]);
        let (flags, input, from) = (self.flags, self.region.open, self.region.from);
        self.clear_line();
        self.erase = EraseEcho::None;
        // The line feed's row (see `line_feed` and `end_region`).
        self.tell_rows(listener);
        let wrapped = self.wrap.width.filter(|_| !input).map_or(0, |w| (line.len().max(1) - 1) / w);
        self.rows.line_feed(wrapped as u64);
        if input {
            self.rows.submitted();
            // What the line feed (the row kept) and the end of the region would have done.
            self.region.open = false;
            self.region.row = 0;
            listener.line(line, true, from, flags);
            listener.input_end("");
        } else {
            listener.line(line, false, 0, flags);
        }
        text.clear();
        self.text = scan::ascii_string(text);
        (end, true)
    }

    /// A run of printable ASCII; returns its length. Appending at the end of the line, the
    /// common case by far, is one bulk copy.
    fn print_ascii_run(&mut self, bytes: &[u8]) -> usize {
        let run = scan::printable_run(bytes);
        let text = &bytes[..run];
        if self.discarding() {
            self.modes.fc_file.watch_run(text);
            self.modes.program_line.push_run(text);
            return run;
        }
        if self.rows.up > 0 {
            self.rows.written();
        }
        if self.wrap.candidate.is_some()
            || self.insert_mode
            || self.pos != self.line.len()
            || self.wrap.guess.is_some()
            || self.region.overwrite
        {
            text.iter().for_each(|&b| self.print(b as char));
            return run;
        }
        let take = run.min(MAX_LINE_CHARS.saturating_sub(self.pos));
        self.erase = EraseEcho::None;
        self.line.extend(text[..take].iter().map(|&b| b as char));
        self.pos += take;
        if self.modes.concealed || self.modes.wrap_off {
            self.note_unseen(self.pos - take, self.pos);
        }
        if take < run {
            self.flags.overflowed = true;
        }
        if take > 0 {
            self.wrap.last = if text[take - 1] == b' ' { Last::SpaceAtEnd } else { Last::Print };
        }
        run
    }

    /// Binary output (an ELF, a compressed file sent to the terminal) appended at the end of
    /// the line in one pass: printable ASCII, narrow characters, U+FFFD for each invalid
    /// sequence, and controls that move nothing (C0 such as NUL, C1, DEL). Each has the effect
    /// [`State::print`] or [`State::execute`] would give it when nothing is pending (no wrap
    /// guess or candidate, no erase echo, no watched rows, a pen that hides nothing), which is
    /// checked first; returns the bytes used, 0 when those do not hold. Stops before anything
    /// else: a line feed, an escape, a character of width 0 or 2, one cut by the end of `bytes`,
    /// a full line.
    fn append_run(&mut self, bytes: &[u8]) -> usize {
        let pending = self.wrap.candidate.is_some()
            || self.wrap.guess.is_some()
            || self.insert_mode
            || self.rows.up > 0
            || self.modes.concealed
            || self.modes.wrap_off
            || !matches!(self.erase, EraseEcho::None)
            || self.pos != self.line.len()
            || self.region.overwrite
            || self.discarding();
        if pending {
            return 0;
        }
        // The line only grows here, so the cursor stays at its end: kept in locals until done.
        let (line, mut last, mut i) = (&mut self.line, self.wrap.last, 0);
        while i < bytes.len() && line.len() < MAX_LINE_CHARS {
            let byte = bytes[i];
            let (cell, used) = match byte {
                // A binary's text is mostly a byte or two between others: looked at inline.
                0x20..=0x7e if !bytes.get(i + 1).is_some_and(|b| (0x20..=0x7e).contains(b)) => {
                    (Some(byte as char), 1)
                }
                0x20..=0x7e => {
                    let run = scan::printable_run(&bytes[i..]).min(MAX_LINE_CHARS - line.len());
                    line.extend(bytes[i..i + run].iter().map(|&b| b as char));
                    i += run;
                    last = if bytes[i - 1] == b' ' { Last::SpaceAtEnd } else { Last::Print };
                    continue;
                }
                0x7f => {
                    i += 1; // DEL changes nothing
                    continue;
                }
                // `None`: a control that moves nothing but ends a pending wrap, as `execute`.
                _ if does_nothing(byte) => (None, 1),
                0x00..=0x7f => break, // BS, HT, LF, VT, FF, CR, ESC
                // Bytes no UTF-8 character starts with (most of a binary's), without decoding:
                // C1 controls, then continuation and never-used bytes.
                0x80..=0x9f => (None, 1),
                0xa0..=0xc1 | 0xf5..=0xff => (Some(char::REPLACEMENT_CHARACTER), 1),
                _ => match scan::decode_utf8(&bytes[i..]) {
                    scan::Utf8::Invalid(n) => (Some(char::REPLACEMENT_CHARACTER), n),
                    scan::Utf8::Char(c, n) if u32::from(c) <= 0x9f => (None, n), // C1 as UTF-8
                    scan::Utf8::Char(c, n) if char_width(c) == Some(1) && !is_handle(c) => {
                        (Some(c), n)
                    }
                    _ => break,
                },
            };
            match cell {
                Some(c) => {
                    line.push(c);
                    last = if c == ' ' { Last::SpaceAtEnd } else { Last::Print };
                }
                None => last = Last::Other,
            }
            i += used;
        }
        self.pos = self.line.len();
        self.wrap.last = last;
        i
    }

    fn execute<L: ScreenListener>(&mut self, byte: u8, listener: &mut L) {
        if self.discarding() {
            match byte {
                b'\r' | b'\n' | 0x0b | 0x0c => self.modes.program_line.end_run(),
                0x08 => self.modes.program_line.back(),
                _ => {}
            }
        }
        match &mut self.wrap.guess {
            Some(guess) if byte == b'\r' && guess.text.is_empty() => {
                (guess.to_row_start, guess.right) = (true, 0);
            }
            Some(_) => self.resolve_guess(),
            None => {}
        }
        if byte != b'\r' {
            self.resolve_wrap_candidate(false);
            self.wrap.last = Last::Other;
            self.region.overwrite = false;
        }
        if !self.region.pushed_out.is_empty() {
            self.send_pushed_out(listener); // rows of a long region, after a line past the last
        }
        let erase = std::mem::take(&mut self.erase);
        match byte {
            b'\n' | 0x0b | 0x0c => self.line_feed(listener),
            b'\r' => self.carriage_return(),
            0x08 if !self.region.open => self.erase = self.erase_echo_backspace(erase),
            0x08 => self.backspace(),
            b'\t' => self.tab(),
            _ => {}
        }
    }

    fn carriage_return(&mut self) {
        if self.region.open && self.wrap.last == Last::SpaceAtEnd && !self.modes.alternate {
            let p = self.pos - 1;
            let already_a_row_start = self.wrap.width.is_some_and(|w| p.is_multiple_of(w));
            // readline's marker is a space past the margin, on the next row's first column: a
            // space in a row's last column with the wrap pending ends a full row (a wide line's
            // row past the last line that ends between two words), and teaches nothing.
            if p >= MIN_INFERRED_WIDTH && !already_a_row_start && !self.pending_wrap() {
                self.wrap.candidate = Some(p);
                self.wrap.last = Last::Other;
                return;
            }
        }
        let fed_row = self.region.open
            && self.region.row > 0
            && !self.region.arrived_up
            && !self.modes.alternate
            && self.pos > 0;
        // Only a row of a line-editor region reached by a line feed asks more (nearly every
        // carriage return is output's).
        if fed_row {
            let at_margin = self.pending_wrap() && self.pos == self.line.len();
            // Past the last line readline writes no row wider than the terminal: one that was
            // is the width of an earlier terminal (a resize), which must not join lines.
            let wider = self.wrap.width.is_some_and(|w| self.pos > self.region.segment_from + w);
            self.region.width_contradicted |= self.region.bottom.is_some() && wider;
            if at_margin && !self.region.width_contradicted {
                self.region.segment_from = self.pos;
                self.flags.joined_at_margin = true;
                // A column of the line: at most MAX_LINE_CHARS, and each once.
                let at = u16::try_from(self.pos).unwrap_or(u16::MAX);
                if self.joins.last() != Some(&at) {
                    self.joins.push(at);
                }
                self.wrap.last = Last::Other;
                // A full row and a CR past the terminal's last line: readline writes the line's
                // next row over that line (the terminal cannot line-feed there), so what
                // follows goes on this line. (A line ending exactly at the margin, followed by
                // the next, looks the same: read as one line, see the README.)
                self.region.overwrite = false;
                return;
            }
        }
        self.region.overwrite = fed_row;
        self.pos = self.row_start();
        self.region.segment_from = self.pos;
        self.wrap.last = Last::Other;
    }

    /// After [`State::carriage_return`] armed it: the character about to be printed differs
    /// from the one under the cursor, so this is not readline reprinting the row to move along
    /// it but the buffer's next line written over it. readline does that past the terminal's
    /// last line (a paste taller than the terminal): each further line is written over that
    /// line, without a line feed. The row is kept and the next one begun, holding what was
    /// reprinted so far (a row already there when readline redraws the paste again).
    fn past_bottom(&mut self, c: char) {
        if self.line.get(self.pos) == Some(&c) {
            return;
        }
        self.region.overwrite = false;
        // What was reprinted since the carriage return: from the start of the row it went to
        // (the line's last row, when it is wider than the terminal; while the check is armed
        // nothing but that carriage return has moved where the row's text began).
        let pos = self.pos.min(self.line.len());
        let from = self.region.segment_from.min(pos);
        let reprinted: Vec<char> = self.line[from..pos].to_vec();
        self.pos -= from;
        self.region.segment_from = 0;
        self.keep_row();
        self.region.bottom.get_or_insert(self.region.row);
        self.region.row += 1;
        if let Some(row) = self.region.rows.get(self.region.row) {
            self.line.extend_from_slice(&row.cells);
            self.joins.clone_from(&row.joins);
        }
        let keep = reprinted.len().min(self.line.len());
        self.line.splice(..keep, reprinted);
        self.wrap.candidate = None;
    }

    /// A BS on a line no line editor reads, given how far an erase echo had come (see
    /// [`EraseEcho`]); what to remember for the next byte.
    fn erase_echo_backspace(&mut self, erase: EraseEcho) -> EraseEcho {
        let before = self.pos;
        let under = before.checked_sub(1).and_then(|c| self.line.get(c).copied());
        self.backspace();
        match erase {
            EraseEcho::Blanked { cell, ch } if cell + 1 == before => {
                // BS SP BS done: the kernel removed one byte of `ch`, not all of it.
                let left = match self.partial {
                    Some((c, left)) if c == cell => left,
                    _ => ch.len_utf8(),
                } - 1;
                if left > 0 {
                    self.line[cell] = char::REPLACEMENT_CHARACTER; // bytes left of a character
                    self.pos = cell + 1;
                    self.partial = Some((cell, left));
                } else {
                    self.partial = None;
                }
                EraseEcho::None
            }
            _ => match under {
                Some(ch)
                    if self.pos + 1 == before
                        && (ch.len_utf8() > 1
                            || self.partial.is_some_and(|(c, _)| c == self.pos)) =>
                {
                    EraseEcho::Back { cell: self.pos, ch }
                }
                _ => EraseEcho::None,
            },
        }
    }

    fn backspace(&mut self) {
        if self.pending_wrap() {
            // xterm: the cursor sits on the last column, so one step left is column w-2.
            self.pos = self.pos.saturating_sub(2);
        } else if self.pos > self.row_start() {
            self.pos -= 1;
        }
        self.wrap.last = Last::Other;
    }

    fn tab(&mut self) {
        let start = self.row_start();
        let col = self.pos - start;
        let next = start + (col / TAB_STOP + 1) * TAB_STOP;
        self.pos = next.min(self.row_end().saturating_sub(1)).min(MAX_LINE_CHARS);
        if self.pos > self.line.len() {
            self.line.resize(self.pos, ' ');
        }
        self.wrap.last = Last::Other;
    }

    fn line_feed<L: ScreenListener>(&mut self, listener: &mut L) {
        if self.modes.alternate {
            if self.region.open && !self.modes.addressed {
                self.modes.shell_on_alternate = true;
            }
            if self.discarding() || (self.region.open && self.modes.addressed) {
                self.clear_line();
                return;
            }
            self.flags.alternate = true;
        } else {
            self.tell_rows(listener);
            let wrapped = match (self.region.open, self.wrap.width) {
                (false, Some(w)) => self.line.len().saturating_sub(1) / w,
                _ => 0,
            };
            self.rows.line_feed(wrapped as u64);
        }
        if let (true, Some(w)) = (self.region.open, self.wrap.width) {
            let last_row = self.line.len().saturating_sub(1) / w;
            if self.pos / w < last_row {
                self.pos += w; // readline moving down inside a wrapped line
                self.wrap.fed_down_to = Some(self.pos);
                return;
            }
        }
        if self.region.open {
            self.keep_row();
            self.send_pushed_out(listener);
            self.region.row += 1;
            self.region.arrived_up = false;
            // Moving down onto a row already there (a redraw): it is the line again.
            if let Some(row) = self.region.rows.get(self.region.row) {
                self.line.extend_from_slice(&row.cells);
                self.joins.clone_from(&row.joins);
            }
            self.pos = 0;
            self.region.segment_from = 0;
            self.wrap.last = Last::Other;
            self.wrap.candidate = None;
            return;
        }
        self.commit(listener);
    }

    /// Keep the current line as the region's row under the cursor.
    fn keep_row(&mut self) {
        let mut fresh = std::mem::take(&mut self.region.spare);
        fresh.clear();
        let kept = Row {
            cells: std::mem::replace(&mut self.line, fresh),
            flags: self.flags,
            joins: std::mem::take(&mut self.joins),
        };
        self.flags = LineFlags::default();
        self.region.keep(kept, self.modes.alternate);
    }

    /// Send the rows pushed out of a long region, as its first rows.
    fn send_pushed_out<L: ScreenListener>(&mut self, listener: &mut L) {
        if self.region.pushed_out.is_empty() {
            return;
        }
        let current = std::mem::take(&mut self.line);
        for Row { cells, flags, joins } in std::mem::take(&mut self.region.pushed_out) {
            self.line = cells;
            self.collect_text(0);
            let from = match self.region.sent {
                0 => text_column(&self.line, self.region.from, &self.clusters),
                _ => 0,
            };
            self.tell_joins(&self.line, &joins, listener);
            listener.line(&self.text, true, from, flags);
            self.region.sent += 1;
        }
        self.line = current;
    }

    /// The region ended: its rows, then what is left on the current line, to the listener.
    /// Tell what became of the last submitted command's row, if anything did.
    fn tell_rows<L: ScreenListener>(&mut self, listener: &mut L) {
        if let Some(what) = self.rows.found.take() {
            listener.submitted_row_hidden(what);
        }
    }

    fn end_region<L: ScreenListener>(&mut self, listener: &mut L) {
        self.tell_rows(listener);
        if self.submitted_at_the_margin() {
            // What a line feed past the end of the line does: the line is a row of the region.
            self.keep_row();
            self.region.row += 1;
        }
        self.send_pushed_out(listener);
        self.region.drop_redrawn_screenful(self.wrap.width);
        let current = std::mem::take(&mut self.line);
        let mut rows = std::mem::take(&mut self.region.rows);
        let (first_from, has_rows) = (self.region.from, !rows.is_empty());
        if has_rows && !self.modes.alternate {
            self.rows.submitted();
        }
        for (i, Row { cells, flags, joins }) in rows.drain(..).enumerate() {
            self.line = cells;
            self.collect_text(0);
            let first = i == 0 && self.region.sent == 0;
            let from = if first { text_column(&self.line, first_from, &self.clusters) } else { 0 };
            self.tell_joins(&self.line, &joins, listener);
            listener.line(&self.text, true, from, flags);
            self.region.spare = std::mem::take(&mut self.line);
        }
        self.region.rows = rows;
        self.region.cells = 0;
        self.line = current;
        self.collect_text(if has_rows { 0 } else { self.region.from });
        self.region.row = 0;
        self.region.sent = 0;
        self.clear_line();
        listener.input_end(&self.text);
    }

    /// A line that ends exactly at the right margin leaves readline's wrap marker (a space)
    /// on the row below, so the line spans that row too; Enter moves down onto it and the
    /// line editor stops there. The cursor is still where that line feed put it, on a row
    /// with nothing after it: the line was submitted, not abandoned (Ctrl-C leaves `^C`).
    fn submitted_at_the_margin(&self) -> bool {
        self.wrap.fed_down_to == Some(self.pos)
            && self.line.get(self.pos..).is_some_and(|rest| rest.iter().all(|&c| c == ' '))
            && self.line[..self.pos].iter().any(|&c| c != ' ')
    }

    fn move_rows(&mut self, down: bool, n: usize) {
        // Above the current line, in a region: back onto the rows it kept (readline redrawing
        // a multi-line buffer). The current line is one row while the width is unknown.
        let rows_above = self.wrap.width.map_or(0, |w| self.pos / w);
        if !self.modes.alternate {
            match down {
                false if n > rows_above => self.rows.up((n - rows_above) as u64),
                true => self.rows.down(n as u64),
                false => {}
            }
        }
        if !down && self.region.open && n > rows_above && self.region.row > 0 {
            let col = self.wrap.width.map_or(self.pos, |w| self.pos % w);
            self.keep_row();
            // Rows written past the terminal's last line were all on that line.
            if let Some(bottom) = self.region.bottom.filter(|&b| self.region.row > b) {
                self.region.row = bottom;
            }
            let up = (n - rows_above).min(self.region.row);
            self.region.row -= up;
            self.region.arrived_up = true;
            let row = &self.region.rows[self.region.row];
            self.line = row.cells.clone();
            self.joins.clone_from(&row.joins);
            let last_row_start =
                self.wrap.width.map_or(0, |w| self.line.len().saturating_sub(1) / w * w);
            self.pos = (last_row_start + col).min(MAX_LINE_CHARS);
            self.wrap.last = Last::Other;
            return;
        }
        match self.wrap.width {
            Some(w) if down => self.pos = (self.pos + n * w).min(MAX_LINE_CHARS),
            Some(w) => self.pos = self.pos.saturating_sub(n * w),
            None if !down && self.region.open && !self.modes.alternate && !self.line.is_empty() => {
                match &mut self.wrap.guess {
                    Some(guess) => guess.up += n,
                    None => {
                        let (from, text) = (self.pos, Vec::new());
                        self.wrap.guess =
                            Some(Guess { from, up: n, to_row_start: false, right: 0, text });
                    }
                }
            }
            None => self.flags.geometry_unknown = true,
        }
        self.wrap.last = Last::Other;
    }

    /// Place a redraw that moved up while the width was unknown (see [`Guess`]), then write
    /// its text.
    fn resolve_guess(&mut self) {
        let Some(guess) = self.wrap.guess.take() else { return };
        match self.width_of_redraw(&guess) {
            Some((width, at)) => {
                self.wrap.width = width.or(self.wrap.width);
                self.pos = at;
            }
            None => self.flags.geometry_unknown = true,
        }
        guess.text.into_iter().for_each(|c| self.print(c));
    }

    /// Where the guess's moves end on the line, when every width at which they end where the
    /// line already holds its text says the same place; and the width, when only one does.
    /// (Up a row and back to its start lands on the same cell at many widths.)
    fn width_of_redraw(&self, guess: &Guess) -> Option<(Option<usize>, usize)> {
        let (text, mut found): (_, Option<(Option<usize>, usize)>) = (&guess.text[..], None);
        if text.is_empty() || guess.up == 0 {
            return None;
        }
        for width in MIN_INFERRED_WIDTH..=MAX_GUESSED_WIDTH {
            let from = if guess.to_row_start { guess.from / width * width } else { guess.from };
            let row = from.checked_sub(guess.up * width);
            let Some(at) = row.and_then(|r| r.checked_add_signed(guess.right)) else { continue };
            if at < self.region.from || self.line.get(at..at + text.len()) != Some(text) {
                continue;
            }
            found = match found {
                None => Some((Some(width), at)),
                Some((_, place)) if place == at => Some((None, at)), // the width is not known
                Some(_) => return None, // text that repeats: no one place
            };
        }
        found
    }

    fn set_column(&mut self, col: usize) {
        let start = self.row_start();
        self.pos = (start + col).min(self.row_end().saturating_sub(1)).min(MAX_LINE_CHARS);
        self.wrap.last = Last::Other;
    }

    /// EL: erase in the cursor's row.
    fn erase_in_row(&mut self, mode: u16) {
        let (start, end) = (self.row_start(), self.row_end().min(self.line.len()));
        let (from, to) = match mode {
            0 => (self.pos, end),
            1 => (start, (self.pos + 1).min(end)),
            _ => (start, end),
        };
        self.blank(from, to);
    }

    /// Blank [from, to); blanks at the end of the line are dropped.
    fn blank(&mut self, from: usize, to: usize) {
        if from >= to || from >= self.line.len() {
            return;
        }
        if to >= self.line.len() {
            self.line.truncate(from);
        } else {
            self.line[from..to].iter_mut().for_each(|c| *c = ' ');
        }
    }

    fn delete_chars(&mut self, n: usize) {
        let end = self.row_end().min(self.line.len());
        if self.pos >= end {
            return;
        }
        let n = n.min(end - self.pos);
        self.line.drain(self.pos..self.pos + n);
        if end < self.line.len() + n {
            // Within a row that is not the last, the row keeps its width: pad its end.
            let row_end = end - n;
            if row_end < self.line.len() {
                for _ in 0..n {
                    self.line.insert(row_end, ' ');
                }
            }
        }
    }

    fn insert_blanks(&mut self, n: usize) {
        if self.pos >= self.line.len() {
            return;
        }
        let n = n.min(MAX_LINE_CHARS - self.line.len().min(MAX_LINE_CHARS));
        let end = self.row_end().min(self.line.len());
        for _ in 0..n {
            self.line.insert(self.pos, ' ');
        }
        if self.wrap.width.is_some() && end < self.line.len() - n {
            // Characters pushed past the right margin are lost, as on a terminal.
            self.line.drain(end..end + n);
        }
    }

    /// A CSI sequence other than a colour, with its first two parameters (0: left out), as
    /// xterm applies it; `vte`'s dispatch and the screen's own parser both come here. True
    /// for `CSI ? … h|l`, whose every parameter the caller then sets as a private mode.
    fn csi(&mut self, intermediates: &[u8], action: char, params: [u16; 2]) -> bool {
        let arg = |i: usize, default: u16| if params[i] == 0 { default } else { params[i] };
        self.region.overwrite &= action == 'm';
        let still_moving = intermediates.is_empty() && matches!(action, 'A' | 'C' | 'D');
        match &mut self.wrap.guess {
            Some(guess) if still_moving && guess.text.is_empty() => {
                let n = arg(0, 1) as isize;
                match action {
                    'C' => guess.right += n,
                    'D' => guess.right -= n,
                    _ => {}
                }
            }
            Some(_) => self.resolve_guess(),
            None => {}
        }
        self.resolve_wrap_candidate(false);
        let before = std::mem::replace(&mut self.wrap.last, Last::Other);
        self.erase = EraseEcho::None;
        if self.modes.alternate && !matches!(action, 'h' | 'l') {
            // Placing the cursor anywhere but home, or a scroll region: a full-screen
            // program drawing, not a line editor (readline moves by rows and columns).
            let home = arg(0, 1) == 1 && arg(1, 1) == 1;
            if matches!(action, 'H' | 'f') && !home || matches!(action, 'd' | 'r') {
                self.modes.addressed = true;
            }
            if self.discarding() && matches!(action, 'H' | 'f' | 'A'..='G' | 'd') {
                self.modes.program_line.end_run();
            }
            if self.discarding() || self.modes.addressed {
                return false;
            }
        }
        let n = arg(0, 1) as usize;
        match (intermediates, action) {
            (b"?", 'h' | 'l') => return true,
            ([], 'h' | 'l') if arg(0, 0) == 4 => self.insert_mode = action == 'h',
            ([], 'C' | 'a') => {
                self.pos = (self.pos + n).min(self.row_end().saturating_sub(1)).min(MAX_LINE_CHARS);
                self.wrap.last = Last::Other;
            }
            ([], 'D') => {
                self.pos = self.pos.saturating_sub(n).max(self.row_start());
                self.wrap.last = Last::Other;
            }
            ([], 'A') => self.move_rows(false, n),
            ([], 'B' | 'e') => self.move_rows(true, n),
            ([], 'E') => {
                self.move_rows(true, n);
                self.set_column(0);
            }
            ([], 'F') => {
                self.move_rows(false, n);
                self.set_column(0);
            }
            ([], 'G' | '`') => self.set_column(n - 1),
            ([], 'H' | 'f') => {
                self.rows.placed();
                self.set_column(arg(1, 1) as usize - 1);
            }
            ([], 'd') => self.rows.placed(),
            ([], 's') => self.rows.save(),
            ([], 'u') => self.rows.restore(),
            ([], 'K') => {
                if self.rows.up > 0 {
                    self.rows.erased(false);
                }
                let pending = before != Last::Other
                    && self.wrap.width.is_some_and(|w| self.pos > 0 && self.pos.is_multiple_of(w));
                if pending && arg(0, 0) == 0 {
                    // The cursor waits on the last column (a pending wrap): that cell alone,
                    // not the row below.
                    self.blank(self.pos - 1, self.pos);
                } else {
                    self.erase_in_row(arg(0, 0));
                }
                let at_end = (pending || self.pos >= self.line.len()) && arg(0, 0) == 0;
                if before == Last::SpaceAtEnd && at_end && self.region.open {
                    self.wrap.last = Last::PadErased;
                }
            }
            ([], 'J') => match arg(0, 0) {
                0 => {
                    if self.rows.up > 0 {
                        self.rows.erased(true);
                    }
                    self.blank(self.pos, self.line.len())
                }
                1 => self.blank(0, self.pos + 1),
                _ => {
                    self.rows.placed(); // the whole screen: `clear`
                    self.blank(0, self.line.len())
                }
            },
            ([], 'P') => self.delete_chars(n),
            ([], '@') => self.insert_blanks(n),
            ([], 'X') => self.blank(self.pos, self.pos + n),
            _ => {}
        }
        false
    }

    fn set_private_mode<L: ScreenListener>(&mut self, mode: u16, on: bool, listener: &mut L) {
        match mode {
            2004 if self.modes.markers => {
                if on && !self.region.open {
                    self.region.open = true;
                    self.modes.addressed = false;
                    self.region.from = self.pos;
                    self.region.clear_rows();
                    self.region.sent = 0;
                    self.region.bottom = None;
                    self.region.width_contradicted = false;
                    self.region.arrived_up = false;
                    self.region.overwrite = false;
                    listener.input_begin();
                } else if !on && self.region.open {
                    self.region.open = false;
                    if self.modes.alternate && self.modes.addressed {
                        // A full-screen program's bracketed paste, not a line editor.
                        self.region.clear_rows();
                        self.clear_line();
                        return;
                    }
                    self.end_region(listener);
                }
            }
            7 => self.modes.wrap_off = !on,
            47 | 1047 | 1049 if on != self.modes.alternate && self.modes.markers => {
                self.modes.alternate = on;
                self.modes.shell_on_alternate = false;
                self.modes.addressed = false;
                if self.modes.fc_file.take_shown() {
                    listener.history_edited();
                }
                let last_line = std::mem::take(&mut self.modes.program_line).take();
                if !on && !last_line.is_empty() {
                    listener.full_screen_left(&last_line);
                }
                // A prompt that switches screens is still being read: keep its region.
                if !self.region.open {
                    self.clear_line();
                }
                listener.alternate_screen(on);
            }
            _ => {}
        }
    }
}

struct Performer<'a, L> {
    s: &'a mut State,
    l: &'a mut L,
    /// A sequence just ended: the parser is in its ground state with nothing buffered.
    sequence_done: bool,
    /// `vte` printed or executed something (never inside a string).
    applied: bool,
}

/// The `i`-th parameter as `vte` parsed it, 0 when left out ([`State::csi`] applies defaults).
fn param(params: &Params, i: usize) -> u16 {
    params.iter().nth(i).and_then(|p| p.first().copied()).unwrap_or(0)
}

impl<L: ScreenListener> Perform for Performer<'_, L> {
    fn print(&mut self, c: char) {
        // `vte` prints a C1 control it carried across two feeds (it executes a whole one).
        self.applied = true;
        self.s.character(c, self.l);
    }

    fn execute(&mut self, byte: u8) {
        self.applied = true;
        self.s.execute(byte, self.l);
    }

    fn terminated(&self) -> bool {
        self.sequence_done
    }

    fn unhook(&mut self) {
        // Ended by ESC (ST's first byte, or a new sequence) `vte` is not in its ground state
        // yet: the sequence is done at the dispatch that follows. (Cancelled by CAN or SUB it
        // is, but `vte` may read on in its ground state before it asks again; the sequence
        // is done at the next dispatch then too.)
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, action: char) {
        self.sequence_done = true;
        if action == 'm' {
            // Colours: by far the most common sequence, and never content; whether they hide
            // text is what matters here.
            self.s.modes.pen.apply_groups(params.iter());
            self.s.pen_changed();
            return;
        }
        let first_two = [param(params, 0), param(params, 1)];
        if self.s.csi(intermediates, action, first_two) {
            for p in params.iter() {
                self.s.set_private_mode(p[0], action == 'h', self.l);
            }
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        self.sequence_done = true;
        self.s.region.overwrite = false;
        if intermediates.is_empty() {
            self.s.pen_escape(byte);
        }
        if intermediates.is_empty() && !self.s.modes.alternate {
            match byte {
                b'M' => self.s.rows.up(1), // reverse index
                b'7' => self.s.rows.save(),
                b'8' => self.s.rows.restore(),
                _ => {}
            }
        }
        if byte != b'\\' {
            // ST (`ESC \`) only ends a string, like the BEL it stands for.
            self.s.resolve_guess();
            self.s.resolve_wrap_candidate(false);
            self.s.wrap.last = Last::Other;
        }
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], bell_terminated: bool) {
        if let [b"0" | b"2", title, ..] = params {
            self.l.title(&lossy(title));
        }
        // Window titles and colour queries: never content. Does not disturb a pending wrap.
        // Ended by ESC, `vte` goes on to read an escape (ST's `\`, or a new sequence: the
        // markers at a prompt): not its ground state (see `unhook`).
        self.sequence_done = bell_terminated;
    }

    fn hook(&mut self, _params: &Params, _intermediates: &[u8], _ignore: bool, _action: char) {
        self.s.resolve_guess();
        self.s.resolve_wrap_candidate(false);
        self.s.wrap.last = Last::Other;
    }
}

#[cfg(test)]
mod tests;
