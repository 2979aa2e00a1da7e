//! Whether the row a command was submitted on is erased or written over afterwards. The screen
//! model reads a line when it is done and forgets it; a prompt (or anything) that moves the
//! cursor back up onto that row and erases it (`PS1='\[\e[1A\e[2K\]$ '`) or draws over it
//! (a cursor saved before the command and restored by the next prompt) leaves the command in
//! the transcript's bytes but not on the screen. Rows are counted from the session's start:
//! line feeds move the bottom down; relative moves up (`CSI A`, `CSI F`, `ESC M`) and a
//! restored cursor (`ESC 7`/`ESC 8`, `CSI s`/`CSI u`) move the cursor above it. Placing the
//! cursor by its row number (`clear`'s `CSI H`, a full-screen program) says nothing about
//! where the command's row went, so it ends the watch: a whole-screen erase is `clear`.

/// What happened to the submitted command's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unseen {
    /// Erased (`CSI K` on it, `CSI J` from above it).
    Erased,
    /// Written over.
    Overwritten,
}

impl Unseen {
    /// As the report's `seen_in` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Unseen::Erased => "erased_after_submit",
            Unseen::Overwritten => "overwritten_after_submit",
        }
    }
}

/// The cursor's row and the last submitted command's, counted from the session's start.
#[derive(Debug, Default)]
pub(super) struct Rows {
    /// The lowest row reached.
    bottom: u64,
    /// How far above the bottom the cursor is (0 nearly always).
    pub up: u64,
    /// The row the last command was submitted on, while it is watched.
    command: Option<u64>,
    saved: Option<u64>,
    /// Found, not yet told.
    pub found: Option<Unseen>,
}

impl Rows {
    fn cursor(&self) -> u64 {
        self.bottom - self.up
    }

    /// A line feed, after `wrapped` rows the line took beyond its first.
    pub fn line_feed(&mut self, wrapped: u64) {
        if self.up > 0 {
            self.up -= 1;
        } else {
            self.bottom += 1 + wrapped;
        }
    }

    /// A command was submitted on the row above the cursor.
    pub fn submitted(&mut self) {
        self.command = self.cursor().checked_sub(1);
    }

    /// The cursor moved up `n` rows past the current line's first.
    pub fn up(&mut self, n: u64) {
        self.up = (self.up + n).min(self.bottom);
    }

    pub fn down(&mut self, n: u64) {
        self.up = self.up.saturating_sub(n);
    }

    /// The cursor was placed by row number: where the command's row went is unknown.
    pub fn placed(&mut self) {
        self.up = 0;
        self.command = None;
        self.saved = None;
    }

    pub fn save(&mut self) {
        self.saved = Some(self.cursor());
    }

    pub fn restore(&mut self) {
        if let Some(row) = self.saved {
            self.up = self.bottom.saturating_sub(row);
        }
    }

    /// Something was written at the cursor (gated by the caller on `up > 0`).
    pub fn written(&mut self) {
        if self.command == Some(self.cursor()) {
            self.hit(Unseen::Overwritten);
        }
    }

    /// The cursor's row was erased, and (`below`) every row under it.
    pub fn erased(&mut self, below: bool) {
        let hit = match self.command {
            Some(row) if below => self.cursor() <= row,
            Some(row) => self.cursor() == row,
            None => false,
        };
        if hit {
            self.hit(Unseen::Erased);
        }
    }

    fn hit(&mut self, what: Unseen) {
        self.found = Some(what);
        self.command = None; // told once
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after_a_command() -> Rows {
        let mut rows = Rows::default();
        rows.line_feed(0);
        rows.line_feed(0); // the command's row, submitted
        rows.submitted();
        rows
    }

    #[test]
    fn moving_back_onto_the_commands_row_and_erasing_it_is_found() {
        let mut rows = after_a_command();
        rows.up(1);
        rows.erased(false);
        assert_eq!(rows.found, Some(Unseen::Erased));
        // Output below the command: erasing it leaves the command's row.
        let mut rows = after_a_command();
        rows.line_feed(0);
        rows.up(1);
        rows.erased(false);
        rows.written();
        assert_eq!(rows.found, None);
        rows.up(5);
        rows.erased(true); // from above it, everything below
        assert_eq!(rows.found, Some(Unseen::Erased));
    }

    #[test]
    fn a_cursor_restored_onto_the_commands_row_and_written_over_is_found() {
        let mut rows = Rows::default();
        rows.line_feed(0);
        rows.save(); // where the prompt was drawn
        rows.line_feed(0);
        rows.submitted();
        rows.restore();
        assert_eq!(rows.up, 1);
        rows.written();
        assert_eq!(rows.found, Some(Unseen::Overwritten));
        // Placed by row number (`clear`): nothing is watched any more.
        let mut rows = after_a_command();
        rows.placed();
        rows.up(1);
        rows.erased(true);
        assert_eq!(rows.found, None);
    }
}
