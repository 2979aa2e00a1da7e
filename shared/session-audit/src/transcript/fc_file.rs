//! Whether a full-screen program showed the file bash opens an editor on for a command line
//! (`fc`, Ctrl-X Ctrl-E, vi mode's `v`): bash names it `bash-fc.` and six random characters,
//! and editors show the name. The screen feeds it what is drawn on the alternate screen and
//! asks on leaving; the line bash then echoes is what it runs, not what was typed.

/// The name's fixed part.
const NAME: &[u8] = b"bash-fc";

/// How much of the name the characters drawn so far spelled, whatever the chunks.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FcFileWatch {
    shown: bool,
    matched: u8,
}

impl FcFileWatch {
    /// One character drawn.
    pub fn watch(&mut self, b: u8) {
        let at = usize::from(self.matched);
        self.matched = match b {
            _ if NAME[at] == b && at + 1 == NAME.len() => {
                self.shown = true;
                0
            }
            _ if NAME[at] == b => self.matched + 1,
            b'b' => 1,
            _ => 0,
        };
    }

    /// A run of text, as [`Self::watch`] byte by byte but without a step per byte: a partial
    /// name is finished first, then only where a `b` is (the name has no other) is it looked
    /// at: a whole name, or the start of one the run ends with.
    pub fn watch_run(&mut self, text: &[u8]) {
        let mut i = 0;
        while self.matched > 0 && i < text.len() {
            self.watch(text[i]);
            i += 1;
        }
        let rest = &text[i..];
        for at in memchr::memchr_iter(b'b', rest) {
            let from = &rest[at..];
            if from.starts_with(NAME) {
                self.shown = true;
            } else if NAME.starts_with(from) {
                self.matched = from.len() as u8; // shorter than the name
            }
        }
    }

    /// Whether the name was shown since the last call; the watch starts over (a screen was
    /// entered or left).
    pub fn take_shown(&mut self) -> bool {
        std::mem::take(self).shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_seen_across_runs_and_bytes_alike() {
        let text = b"\"/tmp/bash-fc.Qx12ab\" 1L, 13B  bash-f";
        for cut in 0..=text.len() {
            let mut runs = FcFileWatch::default();
            runs.watch_run(&text[..cut]);
            runs.watch_run(&text[cut..]);
            let mut bytes = FcFileWatch::default();
            text.iter().for_each(|&b| bytes.watch(b));
            assert!(runs.shown && bytes.shown, "cut at {cut}");
            assert_eq!(runs.matched, bytes.matched, "cut at {cut}");
        }
        let mut watch = FcFileWatch::default();
        watch.watch_run(b"bash-f");
        assert!(!watch.take_shown());
        watch.watch_run(b"c.x"); // the partial name was forgotten when taken
        assert!(!watch.take_shown());
        watch.watch_run(b"bbash-fc.x");
        assert!(watch.take_shown());
    }
}
