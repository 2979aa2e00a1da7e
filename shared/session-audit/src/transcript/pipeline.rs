//! One transcript analysed on two threads: the terminal on one; reading, the shell and what
//! judges its commands on the other.
//!
//! The screen never asks the shell layer anything (its listener's calls return nothing), so
//! its calls can be written down on one thread and played back, in order, on another: the
//! result is the one [`Engine`](super::Engine) gives on one thread (the tests compare them).
//! On two cores a large transcript takes about two thirds of the time (output-heavy, where
//! the halves cost about the same; where commands are dense the shell's half is the larger).
//! Memory stays bounded: at most [`IN_FLIGHT`] reads and logs wait, each log holding the
//! lines of one read.

use std::io::{self, Read};
use std::sync::mpsc;

use super::{Framing, LineFlags, Lines, Preamble, PromptStyle, Reader, ScreenListener, ShellSink};
use super::{ReadFacts, TranscriptInfo};

/// Chunks read ahead of the screen, and logs written ahead of the shell, at most (besides the
/// one each thread is working on).
const IN_FLIGHT: usize = 2;

/// A call the screen made, with where its text ends in [`LineLog::text`]. At most sixteen
/// bytes: a log holds a few per line (`u32`: a log's text is the lines of one read, a few MiB
/// at most).
#[derive(Debug, Clone, Copy)]
enum Call {
    Line {
        end: u32,
        input_from: u16,
        input: bool,
        flags: LineFlags,
    },
    InputBegin,
    InputEnd {
        end: u32,
    },
    AlternateScreen(bool),
    Title {
        end: u32,
    },
    RowHidden(super::rows::Unseen),
    HistoryEdited,
    Configure(PromptStyle, Preamble),
    /// The next `count` of [`LineLog::joins`].
    JoinedAt {
        count: u16,
    },
    FullScreenLeft {
        end: u32,
    },
}

/// What the screen told its listener, in order, to be played to the shell layer later.
#[derive(Debug, Default)]
pub(crate) struct LineLog {
    text: String,
    calls: Vec<Call>,
    /// The columns of every [`Call::JoinedAt`], in order (rare: pastes past the last line).
    joins: Vec<u16>,
}

impl ScreenListener for LineLog {
    fn line(&mut self, text: &str, input: bool, input_from: usize, flags: LineFlags) {
        self.text.push_str(text);
        // A column: at most MAX_LINE_CHARS, which fits.
        let input_from = u16::try_from(input_from).expect("a column below 64 Ki");
        let end = self.end();
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
    fn title(&mut self, text: &str) {
        self.text.push_str(text);
        self.calls.push(Call::Title { end: self.end() });
    }
    fn history_edited(&mut self) {
        self.calls.push(Call::HistoryEdited);
    }
    fn submitted_row_hidden(&mut self, what: super::rows::Unseen) {
        self.calls.push(Call::RowHidden(what));
    }
    fn full_screen_left(&mut self, last_line: &str) {
        self.text.push_str(last_line);
        self.calls.push(Call::FullScreenLeft { end: self.end() });
    }
    fn joined_at(&mut self, columns: &[u16]) {
        // At most one per column of a line (below 64 Ki).
        let count = u16::try_from(columns.len()).expect("fewer joins than columns");
        self.joins.extend_from_slice(columns);
        self.calls.push(Call::JoinedAt { count });
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
        let (mut start, mut joins) = (0, 0);
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
                Call::RowHidden(what) => to.submitted_row_hidden(what),
                Call::HistoryEdited => to.history_edited(),
                Call::Title { end } => {
                    to.title(&self.text[start..end as usize]);
                    start = end as usize;
                }
                Call::Configure(style, preamble) => to.configure(style, preamble),
                Call::FullScreenLeft { end } => {
                    to.full_screen_left(&self.text[start..end as usize]);
                    start = end as usize;
                }
                Call::JoinedAt { count } => {
                    let end = joins + usize::from(count);
                    to.joined_at(&self.joins[joins..end]);
                    joins = end;
                }
            }
        }
        self.text.clear();
        self.joins.clear();
    }
}

/// A read's bytes (the buffer is handed back and forth, so reads allocate nothing).
struct Chunk {
    bytes: Vec<u8>,
    len: usize,
}

/// Analyse `input` as [`Engine`](super::Engine) does, in reads of `read_bytes`: on this
/// thread for the first `one_thread_bytes` (a session transcript is usually far smaller, and
/// starting a thread costs more than it saves there), then with the screen on a second thread
/// (this one reads and runs the shell layer and `sink`; it goes on alone when no thread can
/// be started). `go_on` is asked before each read, and after each log played, whether to
/// continue (a sink that cannot write stops the reading early; what it was given so far is
/// concluded as usual).
pub fn read_on_two_threads<R: Read, S: ShellSink>(
    mut input: R,
    sink: S,
    read_bytes: usize,
    one_thread_bytes: u64,
    mut go_on: impl FnMut(&S) -> bool,
) -> io::Result<(TranscriptInfo, S)> {
    let mut reader = Reader::new(Framing::new(sink));
    let mut buf = vec![0; read_bytes];
    if read_here(&mut input, &mut reader, &mut buf, one_thread_bytes, &mut go_on)? {
        reader = match on_two_threads(&mut input, reader, read_bytes, &mut go_on) {
            TwoThreads::Done(done) => return done,
            TwoThreads::NoThread(reader) => reader,
        };
        read_here(&mut input, &mut reader, &mut buf, u64::MAX, &mut go_on)?;
    }
    let (read, framing) = reader.finish();
    Ok(framing.conclude(read))
}

/// Read into `reader` on this thread until the input ends or `go_on` says stop (false), or
/// `limit` bytes were read (true: there is more).
fn read_here<R: Read, S: ShellSink>(
    input: &mut R,
    reader: &mut Reader<Framing<S>>,
    buf: &mut [u8],
    limit: u64,
    go_on: &mut impl FnMut(&S) -> bool,
) -> io::Result<bool> {
    let mut read = 0u64;
    while read < limit {
        if !go_on(&reader.lines.shell.sink) {
            return Ok(false);
        }
        let n = read_retrying(input, buf)?;
        if n == 0 {
            return Ok(false);
        }
        reader.feed(&buf[..n]);
        read += n as u64;
    }
    Ok(true)
}

/// One read, tried again when a signal interrupted it; 0 at the end of the input.
fn read_retrying(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            read => return read,
        }
    }
}

/// How [`on_two_threads`] ended. One value per analysis, moved once: the size of the
/// reader's variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum TwoThreads<S: ShellSink> {
    Done(io::Result<(TranscriptInfo, S)>),
    /// No thread could be started: the reader, as it was.
    NoThread(Reader<Framing<S>>),
}

/// The rest of `input` with `reader`'s screen on a thread of its own.
fn on_two_threads<R: Read, S: ShellSink>(
    input: &mut R,
    reader: Reader<Framing<S>>,
    read_bytes: usize,
    go_on: &mut impl FnMut(&S) -> bool,
) -> TwoThreads<S> {
    let (screen_reader, mut framing) = reader.replace_lines(LineLog::default());
    let mut screen_reader = Some(screen_reader); // handed over once the thread runs
    let (hand_over, handed) = mpsc::sync_channel::<Reader<LineLog>>(1);
    let (chunks, to_screen) = mpsc::sync_channel::<Chunk>(IN_FLIGHT);
    let (used_chunks, free_chunks) = mpsc::channel::<Chunk>();
    let (logs, from_screen) = mpsc::sync_channel::<LineLog>(IN_FLIGHT);
    let (played, free_logs) = mpsc::channel::<LineLog>();
    let outcome = std::thread::scope(|scope| {
        let screen = std::thread::Builder::new().name("transcript-screen".into()).spawn_scoped(
            scope,
            move || {
                // Handed over once the thread runs (kept by the caller if it never does).
                let reader = handed.recv().ok()?;
                Some(screen_side(reader, to_screen, used_chunks, logs, free_logs))
            },
        );
        let Ok(screen) = screen else { return None };
        let reader = screen_reader.take().expect("not handed over yet");
        hand_over.send(reader).expect("the screen thread waits for its reader");
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
            chunk.len = match read_retrying(input, &mut chunk.bytes) {
                Ok(0) => break true,
                Ok(n) => n,
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
            Ok(read) => Some((read.expect("the reader was handed over"), failed)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    match outcome {
        Some((_, Some(failed))) => TwoThreads::Done(Err(failed)),
        Some((read, None)) => TwoThreads::Done(Ok(framing.conclude(read))),
        None => {
            let reader = screen_reader.expect("kept: no thread started");
            TwoThreads::NoThread(reader.replace_lines(framing).0)
        }
    }
}

/// The screen thread: each chunk through the screen, its lines back as a log.
fn screen_side(
    mut reader: Reader<LineLog>,
    to_screen: mpsc::Receiver<Chunk>,
    used_chunks: mpsc::Sender<Chunk>,
    logs: mpsc::SyncSender<LineLog>,
    free_logs: mpsc::Receiver<LineLog>,
) -> ReadFacts {
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
        fn command_joins(&mut self, joins: &[u32]) {
            self.0.push(format!("joins {joins:?}"));
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

    /// The engine's result for `bytes`, and the pipeline's on one thread, on two from the
    /// start and on two from half way, in reads of `read_bytes`.
    fn agree(name: &str, bytes: &[u8], read_bytes: usize) {
        let mut engine = Engine::new(Heard::default());
        engine.feed(bytes);
        let reference = engine.finish();
        let half = bytes.len() as u64 / 2;
        for one_thread_bytes in [u64::MAX, 0, half] {
            let run =
                read_on_two_threads(bytes, Heard::default(), read_bytes, one_thread_bytes, |_| {
                    true
                });
            assert_eq!(
                run.unwrap(),
                reference,
                "{name}: reads of {read_bytes}, {one_thread_bytes} on one thread"
            );
        }
    }

    #[test]
    fn one_thread_two_threads_and_the_engine_agree() {
        for commands in [0, 1, 40, 3000] {
            // Reads of 3 bytes cut every line and sequence (slow over thousands of commands).
            let tiny = if commands < 100 { 3 } else { 61 };
            for read_bytes in [tiny, 1000, 64 << 10] {
                agree(&format!("{commands} commands"), &session(commands), read_bytes);
            }
        }
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut seen = 0;
        for dir in ["recorded", "public"] {
            for entry in std::fs::read_dir(fixtures.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.display().to_string();
                if name.ends_with(".log") || name.ends_with(".bin") {
                    let bytes = std::fs::read(&path).unwrap();
                    agree(&name, &bytes, 7);
                    agree(&name, &bytes, 4093);
                    seen += 1;
                }
            }
        }
        assert!(seen > 20, "the recorded sessions were found");
        // Where rows were read as going on past the last line travels with the lines too.
        let bytes = std::fs::read(fixtures.join("recorded/i32_paste_past_bottom_wide_known.log"));
        let mut engine = Engine::new(Heard::default());
        engine.feed(&bytes.unwrap());
        let (_, heard) = engine.finish();
        assert!(heard.0.iter().any(|line| line.starts_with("joins [") && line != "joins []"));
    }

    #[test]
    fn a_reader_handed_to_another_listener_and_back_reads_on() {
        let bytes = session(40);
        let (first, rest) = bytes.split_at(bytes.len() / 3);
        let mut engine = Engine::new(Heard::default());
        engine.feed(&bytes);
        let reference = engine.finish();
        let mut reader = Reader::new(Framing::new(Heard::default()));
        reader.feed(first);
        let (elsewhere, framing) = reader.replace_lines(LineLog::default());
        let (mut reader, log) = elsewhere.replace_lines(framing);
        assert!(log.calls.is_empty(), "nothing was said meanwhile");
        reader.feed(rest);
        let (read, framing) = reader.finish();
        assert_eq!(framing.conclude(read), reference);
    }

    #[test]
    fn a_log_holds_at_most_sixteen_bytes_a_call() {
        // A read of 64 KiB of short lines logs thousands of calls; a line's facts are bytes.
        assert!(std::mem::size_of::<Call>() <= 16);
    }
}
