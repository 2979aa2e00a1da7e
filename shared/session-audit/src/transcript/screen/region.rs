//! The line editor's region: the rows of a multi-line buffer (a paste, a completion listing)
//! kept while readline may move back up to redraw them, within bounds, and what is known of
//! rows written past the terminal's last line.

use std::collections::VecDeque;

use super::listener::LineFlags;

/// Rows of one line-editor region kept until it ends (a multi-line buffer, a listing): more
/// than any terminal is high, as readline moves back up over all the rows a screen shows
/// to redraw a paste (a terminal 100 rows high redrew 90 rows of one).
const MAX_REGION_ROWS: usize = 1024;
/// Cells one region's rows hold allocated, at most (1 MiB): a region of long rows keeps
/// fewer (the analysis' heap stays within 4 MiB whatever the input: `tests/bounded_memory.rs`).
const MAX_REGION_CELLS: usize = 256 * 1024;

/// The tallest terminal a redrawn screenful is looked for in, in rows.
const MAX_SCREEN_ROWS: usize = 512;

/// When bash is done with a paste taller than the terminal, readline redraws its last
/// screenful (plain, after reverse video). Where that screenful starts past the terminal's
/// last line (`bottom`, the row of that line), the redraw writes each of its lines over that
/// line again, as the screen's `past_bottom` reads new lines: rows the same as the screenful
/// before them. They are kept once.
///
/// A screenful is as many screen rows as readline line-fed before it reached the last line
/// (the rows before `bottom`, each as many screen rows as it wrapped to at `width`), less one
/// at most. A row read as going on past the last line is a screen row more per place it went
/// on ([`Row::joins`]), or two where a line ended exactly at the margin (readline gives such
/// a line an empty row of its own): which it was is not known, so each counts up to two.
fn drop_redrawn_screenful(rows: &mut VecDeque<Row>, bottom: usize, width: Option<usize>) {
    let len = rows.len();
    let most = len.saturating_sub(bottom.min(len)) / 2;
    let wrapped = |row: &Row| {
        let end = row.cells.iter().rposition(|&c| c != ' ').map_or(0, |e| e + 1);
        width.map_or(1, |w| end.div_ceil(w).max(1))
    };
    let screenful = rows.range(..bottom.min(len)).map(wrapped).sum::<usize>().saturating_sub(1);
    // The screenful's first row may be the last rows of a line wider than the terminal:
    // the redraw's first line is then the end of the line it repeats.
    let same = |m: usize| {
        let (redrawn, before) = (rows.range(len - m + 1..), rows.range(len - 2 * m + 1..len - m));
        redrawn.zip(before).all(|(a, b)| a.cells == b.cells)
            && rows[len - 2 * m].cells.ends_with(&rows[len - m].cells)
    };
    let tall_enough = |m: usize| {
        rows.range(len - m..).map(|row| 1 + 2 * row.joins.len()).sum::<usize>() >= screenful
    };
    if let Some(m) = (1..=most.min(MAX_SCREEN_ROWS)).find(|&m| tall_enough(m) && same(m)) {
        rows.truncate(len - m);
    }
}

/// A row of a region: its cells and what is known of how they were written.
pub(super) struct Row {
    pub(super) cells: Vec<char>,
    pub(super) flags: LineFlags,
    /// Cells where the row was read as going on past the terminal's last line (see
    /// [`LineFlags::joined_at_margin`]), ascending: nearly always none (no allocation).
    pub(super) joins: Vec<u16>,
}

impl Row {
    /// What the row holds allocated, in cells (a join counts as half of one).
    fn size(&self) -> usize {
        self.cells.capacity() + self.joins.capacity() / 2
    }
}

/// A line-editor region (bracketed paste on) and the rows it spans.
pub(super) struct Region {
    /// A region is open: the line editor is reading a line.
    pub(super) open: bool,
    /// Rows of the open region ended by a line feed, kept until the region ends: readline
    /// moves back up into them to redraw a multi-line buffer (a paste).
    pub(super) rows: VecDeque<Row>,
    /// Cells `rows` hold allocated ([`Row::size`]).
    pub(super) cells: usize,
    /// Which of `rows` the cursor is on (`rows.len()`: a row below them).
    pub(super) row: usize,
    /// Where the region began on its first row.
    pub(super) from: usize,
    /// A row buffer handed back after a region, reused for the next (no allocation per line).
    pub(super) spare: Vec<char>,
    /// Rows of a region longer than [`MAX_REGION_ROWS`] (or [`MAX_REGION_CELLS`]) pushed out
    /// of `rows` (its oldest), to be sent on at once: that far above the cursor no terminal
    /// lets a redraw reach them.
    pub(super) pushed_out: Vec<Row>,
    /// Rows of the open region already sent to the listener.
    pub(super) sent: usize,
    /// The cursor came onto the current row by moving up (a redraw), not by a line feed.
    pub(super) arrived_up: bool,
    /// A carriage return on a row written since a line feed brought the cursor there: what is
    /// printed next may be the buffer's next line written over it (see the screen's
    /// `past_bottom`).
    pub(super) overwrite: bool,
    /// Where the text written since the last line feed or carriage return on a row began
    /// (after a carriage return that armed [`Region::overwrite`]: the start of the line's
    /// last row).
    pub(super) segment_from: usize,
    /// Past the terminal's last line, a row wider than the width learned was written: the
    /// width is an earlier terminal's (resized since), and a full row proves nothing.
    pub(super) width_contradicted: bool,
    /// The row of the terminal's last line, once readline wrote a line of the buffer over it:
    /// every row after it was shown on that line too.
    pub(super) bottom: Option<usize>,
}

impl Region {
    pub(super) fn new() -> Self {
        Region {
            open: false,
            rows: VecDeque::new(),
            cells: 0,
            row: 0,
            from: 0,
            spare: Vec::with_capacity(256),
            pushed_out: Vec::new(),
            sent: 0,
            arrived_up: false,
            overwrite: false,
            segment_from: 0,
            width_contradicted: false,
            bottom: None,
        }
    }

    /// Keep `kept` as the row under the cursor. A region longer than any screen (a long
    /// paste): its oldest rows are sent on (see [`Region::pushed_out`]) on the main screen;
    /// on the alternate one they are dropped (a full-screen program's, most likely, which
    /// only says so later).
    pub(super) fn keep(&mut self, kept: Row, alternate: bool) {
        self.cells += kept.size();
        if self.row < self.rows.len() {
            let old = std::mem::replace(&mut self.rows[self.row], kept);
            self.cells -= old.size();
        } else {
            self.rows.push_back(kept);
            self.row = self.rows.len() - 1;
        }
        while (self.rows.len() > MAX_REGION_ROWS || self.cells > MAX_REGION_CELLS) && self.row > 0 {
            let Some(oldest) = self.rows.pop_front() else { break };
            self.cells -= oldest.size();
            self.row -= 1;
            self.bottom = self.bottom.map(|b| b.saturating_sub(1));
            if !alternate {
                self.pushed_out.push(oldest);
            }
        }
    }

    /// Forget the rows kept (a region begun or given up).
    pub(super) fn clear_rows(&mut self) {
        self.rows.clear();
        self.cells = 0;
        self.row = 0;
    }

    /// At the region's end: a screenful redrawn past the terminal's last line is kept once
    /// (`width`: the terminal's, as learned).
    pub(super) fn drop_redrawn_screenful(&mut self, width: Option<usize>) {
        if let Some(bottom) = self.bottom.take() {
            // A width contradicted is an earlier terminal's: rows are not counted by it.
            let width = width.filter(|_| !self.width_contradicted);
            drop_redrawn_screenful(&mut self.rows, bottom, width);
        }
    }
}
