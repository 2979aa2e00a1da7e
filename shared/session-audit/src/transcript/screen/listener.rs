//! What the screen tells the shell layer: a line at a time, the line editor's start and end,
//! the alternate screen, the title, and what became of the last submitted row.

use crate::transcript::rows::Unseen;

/// What the screen tells the shell layer.
pub trait ScreenListener {
    /// A logical line was completed by a line feed. `input` is true when the line editor
    /// (readline with bracketed paste) was reading it: prompt plus what the user typed.
    /// `input_from` is where the line editor's region starts in `text` (chars).
    fn line(&mut self, text: &str, input: bool, input_from: usize, flags: LineFlags);
    /// The line editor started (`CSI ? 2004 h`): a prompt follows.
    fn input_begin(&mut self);
    /// The line editor stopped (`CSI ? 2004 l`). `pending` is the text left on the line,
    /// when nothing was submitted with a line feed (Ctrl-C, EOF).
    fn input_end(&mut self, pending: &str);
    /// A full-screen program switched to (`true`) or from (`false`) the alternate screen.
    fn alternate_screen(&mut self, entered: bool);
    /// The window title was set (`OSC 0`/`OSC 2`): many shells set it before every prompt
    /// (RHEL's and Amazon Linux's `PROMPT_COMMAND`), on stdout, so it shows a prompt drawn
    /// even where the prompt itself went elsewhere. Its text up to the first `;`.
    fn title(&mut self, _text: &str) {}
    /// The row the last command was submitted on was erased or written over since (see
    /// [`crate::transcript::rows`]).
    fn submitted_row_hidden(&mut self, _what: Unseen) {}
    /// A full-screen program that showed bash's `fc` file (an editor on a command line) is
    /// leaving the alternate screen: bash echoes what it runs from that file next.
    fn history_edited(&mut self) {}
    /// Said just before [`ScreenListener::line`] of a line that was read as going on past
    /// the terminal's last line ([`LineFlags::joined_at_margin`]): the columns of that
    /// line's text (chars, ascending) where a row that filled the width was read as going on
    /// with the row written over it next. Each may be where one line ended and the next began.
    fn joined_at(&mut self, _columns: &[u16]) {}
    /// A full-screen program is leaving the alternate screen, and `last_line` is what it last
    /// drew from a `!` on a line: its command line when it leaves to run something (vim's
    /// `:!cmd`, less's `!cmd`), said before [`ScreenListener::alternate_screen`].
    fn full_screen_left(&mut self, _last_line: &str) {}
}

/// Facts about a line that lower confidence in what it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineFlags {
    /// Longer than [`MAX_LINE_CHARS`](super::MAX_LINE_CHARS): the tail was not kept.
    pub overflowed: bool,
    /// Cursor moved between rows while the terminal width was still unknown.
    pub geometry_unknown: bool,
    /// Seen on the alternate screen, where a line editor was reading lines like on the main
    /// screen: a shell hidden there by hand (`printf '\e[?1049h'`, a prompt that switches).
    pub alternate: bool,
    /// One past the last column written while the terminal concealed text (SGR 8,
    /// until 28 or a reset) or drew it in ink of the background's colour (`pen.rs`), at
    /// most 255 (prompts are shorter): 0 when none. What was typed there was not on the
    /// screen. A byte, so a line's facts stay small in a log of lines.
    pub concealed_to: u8,
    /// Some of those columns were hidden by ink of the background's colour, not by SGR 8.
    pub same_ink: bool,
    /// Auto-wrap was off (`CSI ? 7 l`) while a line editor's line ran past the right margin:
    /// the terminal kept overwriting its last column, so the text there was never shown.
    pub past_margin: bool,
    /// Past the terminal's last line, a row that filled the width was read as going on with
    /// the row written over it next: readline writes a wide line's rows and a line ending
    /// exactly at the margin followed by the next one the same way, so it may be two lines.
    pub joined_at_margin: bool,
}
