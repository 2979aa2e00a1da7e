//! Where a report's commands go as they finish: [`CommandWriter`], and the writers that keep
//! them in memory (all, or the first [`MARKDOWN_MAX_COMMANDS`] for the Markdown).

use std::io;

use super::model::ReportCommand;

/// Receives commands as they finish.
pub trait CommandWriter {
    /// Take one finished command.
    fn command(&mut self, command: &ReportCommand) -> io::Result<()>;
    /// A non-blank output line of command `seq`, as the screen showed it (not stored: a
    /// writer that compares channels looks at it).
    fn output(&mut self, _seq: u64, _line: &str) {}
}

/// Collects commands in memory (tests, Markdown, small reports).
impl CommandWriter for Vec<ReportCommand> {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        self.push(command.clone());
        Ok(())
    }
}

/// The Markdown report lists at most this many commands; the JSON has them all.
pub const MARKDOWN_MAX_COMMANDS: usize = 10_000;

/// Keeps the first [`MARKDOWN_MAX_COMMANDS`] commands (for Markdown) and counts the rest.
#[derive(Debug, Default)]
pub struct CappedCommands {
    /// The first [`MARKDOWN_MAX_COMMANDS`] commands.
    pub kept: Vec<ReportCommand>,
    /// Commands after them, counted.
    pub omitted: u64,
}

impl CommandWriter for CappedCommands {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        if self.kept.len() < MARKDOWN_MAX_COMMANDS {
            self.kept.push(command.clone());
        } else {
            self.omitted += 1;
        }
        Ok(())
    }
}

/// Both writers get every command (the JSON stream and the Markdown's capped list).
impl<A: CommandWriter, B: CommandWriter> CommandWriter for (A, B) {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        self.0.command(command)?;
        self.1.command(command)
    }
    fn output(&mut self, seq: u64, line: &str) {
        self.0.output(seq, line);
        self.1.output(seq, line);
    }
}
