//! One transcript analysed on two threads: the terminal on one; reading, the shell and what
//! judges its commands on the other.
//!
//! The screen never asks the shell layer anything (its listener's calls return nothing), so
//! its calls can be written down on one thread and played back, in order, on another: the
//! result is the one [`Engine`](super::Engine) gives on one thread (the tests compare them).
//! The two halves cost about the same, so a machine with two cores analyses a large
//! transcript in a little over half the time. Memory stays bounded: at most
//! [`IN_FLIGHT`] reads and logs wait, each log holding the lines of one read.

use std::io::{self, Read};
use std::sync::mpsc;

use super::{Framing, LineFlags, Lines, Preamble, PromptStyle, Reader, ScreenListener, ShellSink};
use super::{ReadFacts, TranscriptInfo};

/// Chunks read ahead of the screen, and logs written ahead of the shell, at most (besides the
/// one each thread is working on).
const IN_FLIGHT: usize = 2;

/// A call the screen made, with where its text ends in [`LineLog::text`]. Twelve bytes: a
/// log holds a few per line (`u32`: a log's text is the lines of one read, a few MiB at most).
#[derive(Debug, Clone, Copy)]
enum Call {
    Line { end: u32, input_from: u32, input: bool, flags: LineFlags },
    InputBegin,
    InputEnd { end: u32 },
    AlternateScreen(bool),
    Configure(PromptStyle, Preamble),
}

/// What the screen told its listener, in order, to be played to the shell layer later.
#[derive(Debug, Default)]
pub(crate) struct LineLog {
    text: String,
    calls: Vec<Call>,
}

impl ScreenListener for LineLog {
    fn line(&mut self, text: &str, input: bool, input_from: usize, flags: LineFlags) {
        self.text.push_str(text);
        let (end, input_from) = (self.end(), small(input_from));
        self.calls.push(Call::Line { end, input_from, input, flags });
    }
    fn input_begin(&mut self) {
        self.calls.push(Call::InputBegin);
    }
    fn input_end(&mut self, pending: &str) {
        self.text.push_str(pending);
        self.calls.push(Call::InputEnd { end: self.end() });
    }
    fn alternate_screen(&mut self, entered: bool) {
        self.calls.push(Call::AlternateScreen(entered));
    }
}

impl Lines for LineLog {
    fn configure(&mut self, style: PromptStyle, preamble: Preamble) {
        self.calls.push(Call::Configure(style, preamble));
    }
}

/// A length within one line or log (a line is at most `MAX_LINE_CHARS` characters).
fn small(n: usize) -> u32 {
    u32::try_from(n).expect("a log's text is far below 4 GiB")
}

impl LineLog {
    fn end(&self) -> u32 {
        small(self.text.len())
    }

    /// Make every call recorded on `to`, in order, and empty the log.
    fn play(&mut self, to: &mut impl Lines) {
        let mut start = 0;
        for call in self.calls.drain(..) {
            match call {
                Call::Line { end, input_from, input, flags } => {
                    let end = end as usize;
                    to.line(&self.text[start..end], input, input_from as usize, flags);
                    start = end;
                }
                Call::InputBegin => to.input_begin(),
                Call::InputEnd { end } => {
                    to.input_end(&self.text[start..end as usize]);
                    start = end as usize;
                }
                Call::AlternateScreen(entered) => to.alternate_screen(entered),
                Call::Configure(style, preamble) => to.configure(style, preamble),
            }
        }
        self.text.clear();
    }
}

/// A read's bytes (the buffer is handed back and forth, so reads allocate nothing).
struct Chunk {
    bytes: Vec<u8>,
    len: usize,
}

/// Analyse `input` as [`Engine`](super::Engine) does, in reads of `read_bytes`, with the screen
/// on a second thread; this one reads and runs the shell layer and `sink` (on this thread
/// alone when no thread can be started). After each log played, `go_on` is asked whether to
/// continue (a sink that cannot write stops the reading early; what it was given so far is
/// concluded as usual).
pub fn read_on_two_threads<R: Read, S: ShellSink>(
    mut input: R,
    sink: S,
    read_bytes: usize,
    mut go_on: impl FnMut(&S) -> bool,
) -> io::Result<(TranscriptInfo, S)> {
    let mut framing = Framing::new(sink);
    let (chunks, to_screen) = mpsc::sync_channel::<Chunk>(IN_FLIGHT);
    let (used_chunks, free_chunks) = mpsc::channel::<Chunk>();
    let (logs, from_screen) = mpsc::sync_channel::<LineLog>(IN_FLIGHT);
    let (played, free_logs) = mpsc::channel::<LineLog>();
    let outcome = std::thread::scope(|scope| {
        let screen = std::thread::Builder::new()
            .name("transcript-screen".into())
            .spawn_scoped(scope, move || screen_side(to_screen, used_chunks, logs, free_logs))
            .ok()?;
        let mut play = |mut log: LineLog| {
            log.play(&mut framing);
            let _ = played.send(log); // the screen may be done: then it is not needed
            go_on(&framing.shell.sink)
        };
        // Whether the whole input was read and every log so far wanted (else a read failed,
        // the sink stopped, or the screen thread ended early: it panicked).
        let mut failed = None;
        let read_all = 'reading: loop {
            let mut chunk = free_chunks
                .try_recv()
                .unwrap_or_else(|_| Chunk { bytes: vec![0; read_bytes], len: 0 });
            chunk.len = match input.read(&mut chunk.bytes) {
                Ok(0) => break true,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failed = Some(e);
                    break false;
                }
            };
            // Hand the chunk over; while the screen is behind, play what it has done.
            loop {
                match chunks.try_send(chunk) {
                    Ok(()) => break,
                    Err(mpsc::TrySendError::Full(back)) => chunk = back,
                    Err(mpsc::TrySendError::Disconnected(_)) => break 'reading false,
                }
                if !from_screen.recv().is_ok_and(&mut play) {
                    break 'reading false;
                }
            }
            while let Ok(log) = from_screen.try_recv() {
                if !play(log) {
                    break 'reading false;
                }
            }
        };
        drop(chunks); // the end of the input: the screen finishes and sends its last lines
        if read_all {
            for log in from_screen.iter() {
                if !play(log) {
                    break;
                }
            }
        }
        drop(from_screen); // a screen still sending stops
        match screen.join() {
            Ok(read) => Some((read, failed)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    match outcome {
        Some((_, Some(failed))) => Err(failed),
        Some((read, None)) => Ok(framing.conclude(read)),
        None => on_one_thread(input, framing, read_bytes, go_on),
    }
}

/// The screen thread: each chunk through the screen, its lines back as a log.
fn screen_side(
    to_screen: mpsc::Receiver<Chunk>,
    used_chunks: mpsc::Sender<Chunk>,
    logs: mpsc::SyncSender<LineLog>,
    free_logs: mpsc::Receiver<LineLog>,
) -> ReadFacts {
    let mut reader = Reader::new(LineLog::default());
    for chunk in to_screen {
        reader.feed(&chunk.bytes[..chunk.len]);
        let _ = used_chunks.send(chunk); // the reading may have stopped
                                         // A log for every chunk, even an empty one: the reading side, finding the chunks
                                         // queue full, waits for a log, and one must come.
        let next = free_logs.try_recv().unwrap_or_default();
        if logs.send(std::mem::replace(&mut reader.lines, next)).is_err() {
            break; // the shell side stopped: nothing more is wanted
        }
    }
    let (read, last) = reader.finish();
    let _ = logs.send(last); // fails only when the shell side stopped
    read
}

/// The same analysis on this thread alone.
fn on_one_thread<R: Read, S: ShellSink>(
    mut input: R,
    framing: Framing<S>,
    read_bytes: usize,
    mut go_on: impl FnMut(&S) -> bool,
) -> io::Result<(TranscriptInfo, S)> {
    let mut reader = Reader::new(framing);
    let mut buf = vec![0; read_bytes];
    while go_on(&reader.lines.shell.sink) {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reader.feed(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let (read, framing) = reader.finish();
    Ok(framing.conclude(read))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Command, Engine};

    /// What a shell layer hands on, in order.
    #[derive(Default, Debug, PartialEq)]
    struct Heard(Vec<String>);

    impl ShellSink for Heard {
        fn command(&mut self, c: &Command) {
            self.0.push(format!("{} {:?} {}", c.seq, c.prompt, c.text));
        }
        fn output(&mut self, seq: u64, line: &str) {
            self.0.push(format!("{seq} > {line}"));
        }
    }

    fn session(commands: usize) -> Vec<u8> {
        let mut t = b"Script started on 2026-11-27 10:00:00+00:00 [COMMAND=\"x\"]\n".to_vec();
        for i in 0..commands {
            t.extend(b"\x1b]0;t\x07\x1b[?2004h[ec2-user@ip-10-0-1-11 ~]$ ");
            t.extend(format!("echo {i}\x08\x08x {i}\r\r\n\x1b[?2004l\r{i}\r\n").as_bytes());
            if i % 7 == 0 {
                t.extend(
                    "\x1b[?1049hvi\tscreen\r\n\x1b[?1049lcafé \x1b[31m€\x1b[0m\r\n".as_bytes(),
                );
            }
        }
        t.extend(b"\nScript done on 2026-11-27 10:05:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
        t
    }

    #[test]
    fn one_thread_two_threads_and_the_engine_agree() {
        for commands in [0, 1, 40, 3000] {
            let bytes = session(commands);
            let mut engine = Engine::new(Heard::default());
            engine.feed(&bytes);
            let reference = engine.finish();
            // Reads of 3 bytes cut every line and sequence (slow over thousands of commands).
            let tiny = if commands < 100 { 3 } else { 61 };
            for read_bytes in [tiny, 1000, 64 << 10] {
                let two = read_on_two_threads(&bytes[..], Heard::default(), read_bytes, |_| true);
                let framing = Framing::new(Heard::default());
                let one = on_one_thread(&bytes[..], framing, read_bytes, |_| true);
                assert_eq!(two.unwrap(), reference, "{commands} commands, reads of {read_bytes}");
                assert_eq!(one.unwrap(), reference, "{commands} commands, reads of {read_bytes}");
            }
            assert!(reference.1 .0.len() >= commands * 2);
        }
    }

    #[test]
    fn a_log_holds_twelve_bytes_a_call() {
        assert_eq!(std::mem::size_of::<Call>(), 12);
    }
}
