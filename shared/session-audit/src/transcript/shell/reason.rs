//! Why a command's confidence is below 1.0: each reason's words (what the report says) and
//! the confidence it leaves at most.

/// A reason a command is less certain, or seen where a person would not have seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    Pattern,
    Bare,
    Prompt,
    Overflow,
    Geometry,
    Glued,
    Takeover,
    Concealed,
    SameInk,
    PastMargin,
    TypedAhead,
    EchoedAhead,
    RowHidden,
    Edited,
    Alternate,
    JoinedAtMargin,
}

impl Reason {
    /// Every reason, for tests that look at all of them.
    #[cfg(test)]
    pub const ALL: [Reason; 16] = [
        Reason::Pattern,
        Reason::Bare,
        Reason::Prompt,
        Reason::Overflow,
        Reason::Geometry,
        Reason::Glued,
        Reason::Takeover,
        Reason::Concealed,
        Reason::SameInk,
        Reason::PastMargin,
        Reason::TypedAhead,
        Reason::EchoedAhead,
        Reason::RowHidden,
        Reason::Edited,
        Reason::Alternate,
        Reason::JoinedAtMargin,
    ];

    /// What the report says. No reason holds a `;`: a command's reasons are joined by it.
    pub fn text(self) -> &'static str {
        match self {
            Reason::Pattern => "no line-editor markers: command line recognised by its prompt",
            Reason::Bare => "bare '$'/'#' prompt: a line of output could look the same",
            Reason::Prompt => "prompt not recognised: the command may include prompt text",
            Reason::Overflow => "line longer than the kept maximum: its tail is missing",
            Reason::Geometry => "cursor moved between rows before the terminal width was known",
            Reason::Glued => "prompt found after output on its line (output without a final newline): the split is a guess",
            Reason::Takeover => "the line editor's markers stopped after a command that did not say it would stop them: read by prompt and echo",
            Reason::Concealed => "typed while the terminal concealed text (SGR 8): not shown on screen",
            Reason::SameInk => "typed in ink of the background's colour (the same or nearly): not visible on screen",
            Reason::PastMargin => "ran past the right margin with auto-wrap off: the terminal showed its last column overwritten",
            Reason::TypedAhead => "typed ahead: the terminal echoed it before the shell's first prompt, which read it without showing it (the agent writes the session preferences' shellProfile there)",
            Reason::EchoedAhead => "typed ahead: the terminal echoed it before the shell's first prompt too (the agent writes the session preferences' shellProfile there)",
            Reason::RowHidden => "its row was erased or written over after it was submitted (the cursor moved back onto it): the screen no longer showed it",
            Reason::Edited => "edited in an editor before it ran (bash's fc file): what bash echoed after the editor, not what was typed",
            Reason::Alternate => "typed on the alternate screen, which no full-screen program opened: hidden from scrollback",
            Reason::JoinedAtMargin => "pasted past the terminal's last line, where a row that filled the width was read as going on: readline writes a line ending exactly at the margin and the next line the same way, so this may be two commands",
        }
    }

    /// The confidence a command keeps at most for this reason.
    pub fn confidence(self) -> f32 {
        match self {
            Reason::Pattern => 0.8,
            Reason::Bare | Reason::Prompt | Reason::Overflow | Reason::Glued => 0.6,
            // The line editor read it: the text is exact, only where it was seen is unusual.
            Reason::Alternate
            | Reason::Concealed
            | Reason::SameInk
            | Reason::PastMargin
            | Reason::EchoedAhead
            | Reason::RowHidden => 1.0,
            Reason::Geometry
            | Reason::Takeover
            | Reason::TypedAhead
            | Reason::Edited
            | Reason::JoinedAtMargin => 0.7,
        }
    }
}
