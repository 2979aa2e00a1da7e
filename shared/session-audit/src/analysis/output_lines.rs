//! Output lines judged in batches.
//!
//! Nearly every output line matches no output rule, and asking the rule set about each line
//! pays a search's setup per line: most of the time of an output-heavy session. Lines are
//! gathered, joined by `\n`, and searched once with [`RulePack::output_scan`]; only a line
//! where a match starts is judged on its own, so the findings are those of judging every line.
//!
//! [`RulePack::output_scan`]: crate::rules::RulePack::output_scan

use regex::Regex;

/// A batch is judged once it holds this much text (and before a tamper finding and at the
/// end; the report sorts findings back into line-by-line order).
const BATCH_BYTES: usize = 64 * 1024;

/// Output lines waiting to be judged.
#[derive(Debug, Default)]
pub struct OutputBatch {
    text: String,
    /// Each line's command number and where it starts in `text`.
    lines: Vec<(u64, usize)>,
}

impl OutputBatch {
    /// Add a line; true when the batch is full and should be judged.
    pub fn push(&mut self, seq: u64, line: &str) -> bool {
        self.lines.push((seq, self.text.len()));
        self.text.push_str(line);
        self.text.push('\n');
        self.text.len() >= BATCH_BYTES
    }

    /// Hand `judge` every line where `scan` finds a match starting, each once and in order,
    /// then empty the batch.
    pub fn judge_with(&mut self, scan: &Regex, mut judge: impl FnMut(u64, &str)) {
        let mut from = 0;
        while from < self.text.len() {
            let Some(m) = scan.find_at(&self.text, from) else { break };
            // The line the match starts in (a match at a line's `\n` is its `$`).
            let i = self.lines.partition_point(|&(_, start)| start <= m.start()) - 1;
            let (seq, start) = self.lines[i];
            let end = self.lines.get(i + 1).map_or(self.text.len(), |&(_, next)| next) - 1;
            judge(seq, &self.text[start..end]);
            from = end + 1;
        }
        self.text.clear();
        self.lines.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The lines a batch judges, for `pattern` over `lines`.
    fn judged(pattern: &str, lines: &[&str]) -> Vec<(u64, String)> {
        let scan = Regex::new(&format!("(?m:{pattern})")).unwrap();
        let mut batch = OutputBatch::default();
        for (seq, line) in lines.iter().enumerate() {
            batch.push(seq as u64, line);
        }
        let mut out = Vec::new();
        batch.judge_with(&scan, |seq, line| out.push((seq, line.to_string())));
        out
    }

    /// Every line the pattern matches on its own is judged (perhaps with a few more).
    fn covers(pattern: &str, lines: &[&str]) {
        let alone = Regex::new(pattern).unwrap();
        let judged = judged(pattern, lines);
        assert!(judged.windows(2).all(|w| w[0].0 < w[1].0), "each line once, in order");
        for (seq, line) in lines.iter().enumerate() {
            if alone.is_match(line) {
                assert!(judged.contains(&(seq as u64, line.to_string())), "{pattern} on {line:?}");
            }
        }
    }

    #[test]
    fn anchors_word_boundaries_and_matches_across_lines() {
        let lines = ["root:x:0:0", "sudo: 3 incorrect password attempts", "", "x", "tail root:"];
        covers("^root:", &lines);
        covers("attempts$", &lines);
        covers(r"\bx\b", &lines);
        covers(r"0\s+sudo", &lines); // spans two lines in the batch: judged, not matched
        covers("", &lines);
        assert_eq!(judged("^root:", &lines), vec![(0, "root:x:0:0".to_string())]);
        assert_eq!(judged("nothing", &lines), vec![]);
    }

    proptest! {
        #[test]
        fn every_line_a_rule_matches_is_judged(
            lines in prop::collection::vec("[a-c :\\-]{0,12}", 0..40),
            pattern in prop::sample::select(vec![
                "^a", "b$", r"\bc\b", "a b", "^$", r"\s-", "(?i)C:", "[^a]+$", "ab|^c", r"a\s*b",
            ]),
        ) {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            covers(pattern, &lines);
        }
    }
}
