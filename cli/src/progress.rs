//! A one-line progress display on stderr, only on a terminal and only for several inputs.

use std::io::{IsTerminal, Write};

pub struct Progress {
    total: usize,
    done: usize,
    enabled: bool,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Progress { total, done: 0, enabled: total > 1 && std::io::stderr().is_terminal() }
    }

    pub fn tick(&mut self, name: &str) {
        self.done += 1;
        if self.enabled {
            let name: String =
                name.chars().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
            eprint!("\r\x1b[K[{}/{}] {name}", self.done, self.total);
            let _ = std::io::stderr().flush();
        }
    }

    pub fn done(&self) {
        if self.enabled {
            eprint!("\r\x1b[K");
        }
    }
}
