//! Most frequent commands in bounded memory.
//!
//! Exact while at most `capacity` distinct commands have been seen (the usual case: people
//! repeat a small vocabulary). Beyond that it becomes the Misra–Gries frequent-items sketch:
//! when a new command arrives and the table is full, every count drops by one and zeros are
//! removed. Any command run more than `total / capacity` times is still listed, counts are
//! then lower bounds, and the cost stays amortised O(1) per command.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Commands longer than this are counted by their first characters.
const MAX_KEY_CHARS: usize = 120;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandCounter {
    counts: HashMap<String, u64>,
    capacity: usize,
    approximate: bool,
}

impl CommandCounter {
    pub fn new(capacity: usize) -> Self {
        CommandCounter { counts: HashMap::new(), capacity: capacity.max(1), approximate: false }
    }

    pub fn add(&mut self, command: &str) {
        let command = command.trim();
        if command.is_empty() {
            return;
        }
        let key = match command.char_indices().nth(MAX_KEY_CHARS) {
            Some((cut, _)) => &command[..cut],
            None => command,
        };
        if let Some(n) = self.counts.get_mut(key) {
            *n += 1;
        } else if self.counts.len() < self.capacity {
            self.counts.insert(key.to_string(), 1);
        } else {
            self.approximate = true;
            self.counts.retain(|_, n| {
                *n -= 1;
                *n > 0
            });
        }
    }

    /// Add another counter's counts (the Misra–Gries merge): exact while the union fits;
    /// beyond it every count drops by the (capacity+1)-th largest and what falls to zero goes,
    /// so counts stay lower bounds and a frequent command is still listed.
    pub fn merge(&mut self, other: CommandCounter) {
        self.approximate |= other.approximate;
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        if self.counts.len() > self.capacity {
            let mut sizes: Vec<u64> = self.counts.values().copied().collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            let cut = sizes[self.capacity];
            self.counts.retain(|_, n| {
                *n = n.saturating_sub(cut);
                *n > 0
            });
            self.approximate = true;
        }
    }

    /// The `n` most frequent, highest first (ties by text), and whether counts are bounds.
    pub fn top(&self, n: usize) -> (Vec<(String, u64)>, bool) {
        let mut all: Vec<(String, u64)> =
            self.counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        (all, self.approximate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_while_the_vocabulary_fits() {
        let mut c = CommandCounter::new(10);
        for cmd in ["ls", "ls", " ls ", "df -h", "", "sudo su -"] {
            c.add(cmd);
        }
        let (top, approx) = c.top(2);
        assert_eq!(top, vec![("ls".to_string(), 3), ("df -h".to_string(), 1)]);
        assert!(!approx);
    }

    #[test]
    fn frequent_commands_survive_a_flood_of_unique_ones_in_bounded_memory() {
        let mut c = CommandCounter::new(50);
        for i in 0..100_000 {
            c.add(&format!("echo {i}"));
            if i % 10 == 0 {
                c.add("systemctl status nginx");
            }
        }
        assert!(c.counts.len() <= 50);
        let (top, approx) = c.top(1);
        assert!(approx);
        assert_eq!(top[0].0, "systemctl status nginx");
        assert!(top[0].1 <= 10_000, "a lower bound, never an over-count");
    }

    #[test]
    fn merged_counters_count_as_one_counter_would() {
        let (mut a, mut b, mut both) =
            (CommandCounter::new(10), CommandCounter::new(10), CommandCounter::new(10));
        for cmd in ["ls", "ls", "df -h"] {
            a.add(cmd);
            both.add(cmd);
        }
        for cmd in ["ls", "uptime"] {
            b.add(cmd);
            both.add(cmd);
        }
        a.merge(b);
        assert_eq!(a, both, "exact while the union fits");

        let (mut a, mut b) = (CommandCounter::new(3), CommandCounter::new(3));
        for _ in 0..5 {
            a.add("systemctl status nginx");
            b.add("systemctl status nginx");
        }
        for cmd in ["a", "b"] {
            a.add(cmd);
        }
        for cmd in ["c", "d"] {
            b.add(cmd);
        }
        a.merge(b);
        let (top, approximate) = a.top(1);
        assert!(approximate && a.counts.len() <= 3);
        assert_eq!(top[0].0, "systemctl status nginx");
        assert!(top[0].1 <= 10, "a lower bound");
    }

    #[test]
    fn long_commands_are_counted_by_their_start() {
        let mut c = CommandCounter::new(4);
        c.add(&format!("{}é", "x".repeat(200)));
        c.add(&format!("{}y", "x".repeat(200)));
        assert_eq!(c.top(5).0, vec![("x".repeat(120), 2)]);
    }
}
