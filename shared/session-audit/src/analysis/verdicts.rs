//! What a session's commands were judged to be, kept for the commands it repeats.
//!
//! Admin sessions type the same few commands over and over (`ls`, `cd ..`, the same `tail`,
//! `systemctl status` after every change). Matching ~35 command rules and the redaction
//! prefilter on every repeat is most of the per-command cost, so each distinct text is judged
//! once and looked up after that. The table is bounded: long texts are never kept, and a full
//! table starts over.

use std::collections::HashMap;

/// Texts longer than this (bytes) are judged every time: long lines rarely repeat.
const MAX_TEXT_BYTES: usize = 256;
/// Distinct texts kept at once (a few hundred KiB at most).
const MAX_ENTRIES: usize = 4096;

/// The judgement of one command text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Indexes into the rule pack's rules, in pack order.
    pub rules: Vec<usize>,
    /// The text with its secrets replaced; `None` when nothing was redacted.
    pub redacted: Option<Box<str>>,
}

/// Verdicts by command text (see the module docs).
///
/// The texts are chosen by the person audited: std's hash is seeded at random per table, so
/// colliding texts cannot be prepared to slow the table down.
#[derive(Debug, Default)]
pub struct Verdicts {
    seen: HashMap<Box<str>, Verdict>,
}

impl Verdicts {
    /// The verdict for `text`: remembered, or from `judge` (and remembered).
    pub fn get(&mut self, text: &str, judge: impl FnOnce(&str) -> Verdict) -> Verdict {
        if text.len() > MAX_TEXT_BYTES {
            return judge(text);
        }
        if let Some(known) = self.seen.get(text) {
            return known.clone();
        }
        if self.seen.len() == MAX_ENTRIES {
            self.seen.clear();
        }
        let verdict = judge(text);
        self.seen.insert(text.into(), verdict.clone());
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(text: &str) -> Verdict {
        Verdict { rules: vec![text.len()], redacted: None }
    }

    #[test]
    fn a_repeated_text_is_judged_once_and_gets_the_same_verdict() {
        let mut verdicts = Verdicts::default();
        let mut calls = 0;
        for _ in 0..3 {
            let v = verdicts.get("ls -la", |t| {
                calls += 1;
                judged(t)
            });
            assert_eq!(v, judged("ls -la"));
        }
        assert_eq!(calls, 1);
    }

    #[test]
    fn long_texts_are_not_kept_and_the_table_stays_bounded() {
        let mut verdicts = Verdicts::default();
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        verdicts.get(&long, judged);
        assert!(verdicts.seen.is_empty());
        for i in 0..MAX_ENTRIES * 2 + 5 {
            let text = format!("echo {i}");
            assert_eq!(verdicts.get(&text, judged), judged(&text));
            assert!(verdicts.seen.len() <= MAX_ENTRIES);
        }
    }
}
