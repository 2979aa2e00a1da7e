//! Why a command's confidence is below 1, or where it was seen: the reasons a command
//! carries (`; `-separated in its `reason`), and what each does to its confidence.

use super::Command;

pub(super) const REASON_PATTERN: &str =
    "no line-editor markers: command line recognised by its prompt";
pub(super) const REASON_BARE: &str = "bare '$'/'#' prompt: a line of output could look the same";
pub(super) const REASON_PROMPT: &str = "prompt not recognised: the command may include prompt text";
pub(super) const REASON_OVERFLOW: &str = "line longer than the kept maximum: its tail is missing";
pub(super) const REASON_GEOMETRY: &str =
    "cursor moved between rows before the terminal width was known";
pub(super) const REASON_GLUED: &str =
    "prompt found after output on its line (output without a final newline): the split is a guess";
pub(super) const REASON_TAKEOVER: &str =
    "the line editor's markers stopped after a command that did not say it would stop them: read by prompt and echo";
pub(super) const REASON_CONCEALED: &str =
    "typed while the terminal concealed text (SGR 8): not shown on screen";
pub(super) const REASON_SAME_INK: &str =
    "typed in ink of the background's colour (the same or nearly): not visible on screen";
pub(super) const REASON_PAST_MARGIN: &str =
    "ran past the right margin with auto-wrap off: the terminal showed its last column overwritten";
pub(super) const REASON_TYPED_AHEAD: &str =
    "typed ahead: the terminal echoed it before the shell's first prompt, which read it without showing it (the agent writes the session preferences' shellProfile there)";
pub(super) const REASON_ECHOED_AHEAD: &str =
    "typed ahead: the terminal echoed it before the shell's first prompt too (the agent writes the session preferences' shellProfile there)";
pub(super) const REASON_ROW_HIDDEN: &str =
    "its row was erased or written over after it was submitted (the cursor moved back onto it): the screen no longer showed it";
pub(super) const REASON_ALTERNATE: &str =
    "typed on the alternate screen, which no full-screen program opened: hidden from scrollback";

/// Lower `cmd`'s confidence for each reason that holds, and say why (each reason once).
pub(super) fn lower_confidence(cmd: &mut Command, reasons: &[(bool, &'static str)]) {
    for &(holds, reason) in reasons {
        if !holds {
            continue;
        }
        let value = match reason {
            REASON_PATTERN => 0.8,
            REASON_BARE | REASON_PROMPT | REASON_OVERFLOW | REASON_GLUED => 0.6,
            // The line editor read it: the text is exact, only where it was seen is unusual.
            REASON_ALTERNATE | REASON_CONCEALED | REASON_SAME_INK | REASON_PAST_MARGIN
            | REASON_ECHOED_AHEAD | REASON_ROW_HIDDEN => 1.0,
            _ => 0.7,
        };
        cmd.confidence = cmd.confidence.min(value);
        match &mut cmd.reason {
            // No reason holds a `;`, so they are told apart by it (a `str` search pattern
            // is built for each call: a fifth of the time of a session without markers).
            Some(r) if !r.split(';').any(|known| known.trim_start() == reason) => {
                r.push_str("; ");
                r.push_str(reason);
            }
            Some(_) => {}
            None => cmd.reason = Some(reason.to_string()),
        }
    }
}
