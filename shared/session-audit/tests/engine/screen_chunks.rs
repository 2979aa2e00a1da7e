//! The screen's fast paths (a whole plain line or prompt taken at once) tell the shell layer
//! exactly what applying the same bytes one at a time does: every call, in order, with the
//! same text, region start and flags, however the input is split.

use proptest::prelude::*;
use session_audit::transcript::{LineFlags, Screen, ScreenListener};

#[derive(Debug, Clone, PartialEq)]
enum Heard {
    Line { text: String, input: bool, from: usize, flags: LineFlags },
    Begin,
    End(String),
    Alternate(bool),
    Title(String),
    HistoryEdited,
}

#[derive(Default)]
struct Log(Vec<Heard>);

impl ScreenListener for Log {
    fn line(&mut self, text: &str, input: bool, from: usize, flags: LineFlags) {
        self.0.push(Heard::Line { text: text.to_string(), input, from, flags });
    }
    fn input_begin(&mut self) {
        self.0.push(Heard::Begin);
    }
    fn input_end(&mut self, pending: &str) {
        self.0.push(Heard::End(pending.to_string()));
    }
    fn alternate_screen(&mut self, entered: bool) {
        self.0.push(Heard::Alternate(entered));
    }
    fn title(&mut self, text: &str) {
        self.0.push(Heard::Title(text.to_string()));
    }
    fn history_edited(&mut self) {
        self.0.push(Heard::HistoryEdited);
    }
}

/// What the screen says about `bytes` fed in pieces of `chunk` bytes, and the width it ends with.
fn heard(bytes: &[u8], chunk: usize) -> (Vec<Heard>, Option<usize>) {
    let mut screen = Screen::new();
    let mut log = Log::default();
    for piece in bytes.chunks(chunk.max(1)) {
        screen.advance(piece, &mut log);
    }
    screen.finish(&mut log);
    (log.0, screen.width())
}

/// Pieces of real prompts and output, chosen to start, break and end the fast paths, and
/// UTF-8 characters, C1 controls and stray bytes for the splits to cut.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\x1b]0;ec2-user@ip-10-0-1-11:~\x07".to_vec()),
        Just(b"\x1b]2;t;x\x1b\\".to_vec()),
        Just(b"\x1b]0;caf\xc3\xa9\x07".to_vec()),
        Just("e\u{301}\u{323}".as_bytes().to_vec()),
        Just("\u{2764}\u{fe0f}\u{1f468}\u{200d}\u{1f469}".as_bytes().to_vec()),
        Just(b"\x1b[?2004h".to_vec()),
        Just(b"\x1b[?1049h\"/tmp/bash-fc.Qx\"\x1b[?1049l".to_vec()),
        Just(b"bash-f".to_vec()),
        Just(b"\x1b[?2004l\r".to_vec()),
        Just(b"\x1b[?2004l".to_vec()),
        Just(b"\x1b[01;32m[ec2-user@ip-10-0-1-11\x1b[00m ~]$ ".to_vec()),
        Just(b"sh-5.2$ ".to_vec()),
        Just(b"\r\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b" \r".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\x08".to_vec()),
        Just(b"\x08 \x08".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\x7f".to_vec()),
        Just(b"\x1b[K".to_vec()),
        Just(b"\x1b[1P".to_vec()),
        Just(b"\x1b[2@".to_vec()),
        Just(b"\x1b[4h".to_vec()),
        Just(b"\x1b[4l".to_vec()),
        Just(b"\x1b[A".to_vec()),
        Just(b"\x1b[C".to_vec()),
        Just(b"\x1b[0m".to_vec()),
        Just(b"\x1b[01;34m".to_vec()),
        // Colours that hide text (ink of the background's, concealed) and show it again.
        Just(b"\x1b[30;40m".to_vec()),
        Just(b"\x1b[30m".to_vec()),
        Just(b"\x1b[40m".to_vec()),
        Just(b"\x1b[8m".to_vec()),
        Just(b"\x1b[38;5;16;48;5;0m".to_vec()),
        Just(b"\x1b[38:5:0m".to_vec()),
        Just(b"\x1b[m".to_vec()),
        Just(b"\x1b7".to_vec()),
        Just(b"\x1b8".to_vec()),
        Just(b"\x1bc".to_vec()),
        Just(b"\x1b[?1049h".to_vec()),
        Just(b"\x1b[?1049l".to_vec()),
        Just(b"\x1b[?25l".to_vec()),
        Just(b"\x1b[".to_vec()),
        // Strings: ended by BEL, by ST, by a new sequence, cancelled, or left open up to a
        // line feed (which cancels them and applies their bytes as text).
        Just(b"\x1b]0;t".to_vec()),
        Just(b"\x1bP1$r".to_vec()),
        Just(b"\x1b_".to_vec()),
        Just(b"\x1b\\".to_vec()),
        Just(b"\x07".to_vec()),
        Just(b"\x18".to_vec()),
        // Cursor moves and edits with up to three parameters, empty or past u16 (the screen
        // parses up to two itself, `vte` the rest).
        (
            "[0-9]{0,6}(;[0-9]{0,6}){0,2}",
            prop::sample::select(vec![
                'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'P', 'X', '@', '`', 'a', 'd',
                'e', 'f', 'h', 'l', 'r', 'm', 'q', 'S',
            ]),
        )
            .prop_map(|(params, action)| format!("\x1b[{params}{action}").into_bytes()),
        Just("é€".as_bytes().to_vec()),
        Just("\u{80}\u{9b}".as_bytes().to_vec()), // C1 controls written as UTF-8
        Just(b"x".repeat(81)),
        "[a-z /|;&=-]{0,30}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..8),
        // Binary output: NULs, C1 controls, invalid and valid UTF-8, mostly without line feeds.
        prop::collection::vec(
            prop_oneof![Just(0u8), 0x80u8..=0xff, 0x20u8..0x7f, any::<u8>()],
            0..64
        ),
        Just(b"\x7fELF\x02\x01\x01\0\0\0\xc3\xa9\xc2\x85\xe2\x82\xac\xf0\x9f".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn fast_paths_say_what_byte_by_byte_says(
        tokens in prop::collection::vec(token(), 0..120),
        chunk in 2usize..200,
    ) {
        let bytes: Vec<u8> = tokens.concat();
        let one_by_one = heard(&bytes, 1);
        prop_assert_eq!(&heard(&bytes, bytes.len()), &one_by_one);
        prop_assert_eq!(&heard(&bytes, chunk), &one_by_one);
    }
}

#[test]
fn a_plain_prompt_and_output_are_heard_as_byte_by_byte() {
    let bytes = b"\x1b]0;t\x07\x1b[?2004h\x1b[01;32m[u@h\x1b[00m ~]$ ls -la\r\r\n\x1b[?2004l\rtotal 0\r\r\n\x1b[01;34mdir\x1b[0m\r\n";
    let (whole, _) = heard(bytes, bytes.len());
    assert_eq!(whole, heard(bytes, 1).0);
    assert_eq!(
        whole,
        vec![
            Heard::Title("t".into()),
            Heard::Begin,
            Heard::Line {
                text: "[u@h ~]$ ls -la".into(),
                input: true,
                from: 0,
                flags: LineFlags::default()
            },
            Heard::End(String::new()),
            Heard::Line {
                text: "total 0".into(),
                input: false,
                from: 0,
                flags: LineFlags::default()
            },
            Heard::Line { text: "dir".into(), input: false, from: 0, flags: LineFlags::default() },
        ]
    );
}

#[test]
fn a_character_split_between_reads_keeps_what_follows_it() {
    // `vte` alone lost the line feed here when the read ended inside `é`: two lines became one.
    let bytes = "echo café\n€ ok\n".as_bytes();
    let (whole, _) = heard(bytes, bytes.len());
    assert_eq!(whole.len(), 2);
    for cut in 0..=bytes.len() {
        let mut screen = Screen::new();
        let mut log = Log::default();
        screen.advance(&bytes[..cut], &mut log);
        screen.advance(&bytes[cut..], &mut log);
        screen.finish(&mut log);
        assert_eq!(log.0, whole, "split at {cut}");
    }
}

#[test]
fn a_line_past_the_longest_kept_is_cut_and_flagged_the_same_way() {
    for end in ["\r\n", "\x08x\r\n", ""] {
        let mut bytes = b"\x1b[01;34m".to_vec();
        bytes.extend("x".repeat(20_000).as_bytes());
        bytes.extend(b"\x1b[0m");
        bytes.extend("y".repeat(20_000).as_bytes());
        bytes.extend(end.as_bytes());
        bytes.extend(b"next\r\n");
        let (whole, _) = heard(&bytes, bytes.len());
        assert_eq!(whole, heard(&bytes, 1).0);
        assert_eq!(whole, heard(&bytes, 4096).0);
        let Heard::Line { text, flags, .. } = &whole[0] else { panic!("{whole:?}") };
        assert!(
            flags.overflowed && text.len() == session_audit::transcript::screen::MAX_LINE_CHARS
        );
    }
}

#[test]
fn a_mode_switch_between_erase_echoes_is_the_same_however_split() {
    // Found by the property test: `CSI ? 1049 l` parsed by hand did not end an erase echo
    // over `€` the way `vte` did, so a split sequence left `é` and a whole one `é�`.
    let bytes = "\x1b[?2004l\ré€\x08\x1b[?1049l \x08".as_bytes();
    let (whole, _) = heard(bytes, bytes.len());
    for chunk in 1..bytes.len() {
        assert_eq!(heard(bytes, chunk).0, whole, "chunks of {chunk}");
    }
}

/// The plain lines the screen completes (not a line editor's), however `bytes` is split.
fn plain_lines(bytes: &[u8]) -> Vec<String> {
    let (whole, _) = heard(bytes, bytes.len());
    for chunk in 1..bytes.len() {
        assert_eq!(heard(bytes, chunk).0, whole, "chunks of {chunk}");
    }
    whole
        .into_iter()
        .filter_map(|h| match h {
            Heard::Line { text, input: false, .. } => Some(text),
            _ => None,
        })
        .collect()
}

#[test]
fn a_string_left_open_up_to_a_line_feed_hides_nothing_after_it() {
    // `printf '\033P'` at dash: on a terminal the prompt and command after it vanish (a DCS
    // string swallows them); here the line feed cancels the string and its text is applied.
    assert_eq!(plain_lines(b"\x1bP$ id -u\r\r\n1001\r\r\n"), ["$ id -u", "1001"]);
    assert_eq!(plain_lines(b"$ x\r\n\x1b]0;t$ rm -rf /d\r\nok\r\n")[1], "0;t$ rm -rf /d");
    assert_eq!(plain_lines(b"\x1b_\x1b]junk\r\n$ id\r\n"), ["junk", "$ id"]);
    // Ended by BEL or ST, a title is no text; neither is a string cancelled by CAN.
    assert_eq!(plain_lines(b"\x1b]0;t\x07$ id\r\n\x1b]0;t\x1b\\$ ls\r\n"), ["$ id", "$ ls"]);
    assert_eq!(plain_lines(b"\x1b]0;t\x18$ id\r\n"), ["$ id"]);
}

#[test]
fn a_string_ended_by_the_next_sequence_leaves_that_sequence_whole() {
    // `printf '\033]0;title'` in bash: the prompt's own `ESC [ ? 2004 h` ends the title, and
    // is the marker it is (it was printed as `[?2004h` text, and the command was lost).
    let bytes = b"\x1b]0;title\x1b[?2004hsh-5.2$ id -u\r\r\n\x1b[?2004l\r1001\r\n";
    let (whole, _) = heard(bytes, bytes.len());
    for chunk in 1..bytes.len() {
        assert_eq!(heard(bytes, chunk).0, whole, "chunks of {chunk}");
    }
    assert_eq!(whole[..2], [Heard::Title("title".into()), Heard::Begin]);
    assert!(matches!(&whole[2], Heard::Line { text, input: true, .. } if text == "sh-5.2$ id -u"));
}

/// The input line and its flags, however `bytes` is split, and the width learned.
fn input_line(bytes: &[u8]) -> (String, LineFlags, Option<usize>) {
    let (whole, width) = heard(bytes, bytes.len());
    for chunk in 1..bytes.len() {
        assert_eq!(heard(bytes, chunk), (whole.clone(), width), "chunks of {chunk}");
    }
    whole
        .into_iter()
        .find_map(|h| match h {
            Heard::Line { text, input: true, flags, .. } => Some((text, flags, width)),
            _ => None,
        })
        .expect("an input line")
}

#[test]
fn a_redraw_before_the_width_is_known_teaches_it_when_one_width_fits() {
    // bash 5.2 after a paste of 155 characters behind an 8-column prompt, 80 columns: the
    // cursor (row 2, column 3) goes up two rows and right five, to where the paste starts,
    // and writes it again. Only 80 columns put that text where it already is. bash's other
    // way back, up a row, to its start and right past the prompt, lands on the same cell at
    // every width from 53 to 105 columns: placed, the width still unknown.
    let long = format!("echo {}", "p".repeat(150));
    let short = "aws s3 cp s3://my-bucket/some/long/prefix/path/to/object.tar.gz /tmp/o.tar.gz --no-progress";
    let back = |moves: &str, right: usize| format!("{moves}{}", "\x1b[C".repeat(right));
    for (paste, moves, learned) in
        [(long.as_str(), back("\x1b[A\x1b[A", 5), Some(80)), (short, back("\x1b[A\r", 8), None)]
    {
        let bytes =
            format!("\x1b[?2004hsh-5.2$ \x1b[7m{paste}\x1b[27m{moves}{paste}\r\r\n\x1b[?2004l\r");
        let (text, flags, width) = input_line(bytes.as_bytes());
        assert_eq!(text, format!("sh-5.2$ {paste}"));
        assert!(!flags.geometry_unknown, "{paste}");
        assert_eq!(width, learned);
    }
    // Text that repeats fits at many widths: none is taken, the line is flagged as before.
    let bytes = format!("\x1b[?2004hsh-5.2$ {}\x1b[Axx\r\r\n\x1b[?2004l\r", "x".repeat(100));
    let (_, flags, width) = input_line(bytes.as_bytes());
    assert!(flags.geometry_unknown);
    assert_eq!(width, None);
}

#[test]
fn binary_output_next_to_edits_and_wraps_is_heard_as_byte_by_byte() {
    // Binary runs are applied a run at a time; what they leave (the last cell written, a
    // control that moved nothing) decides what a following CR, BS or wrap means.
    let prefixes: [&[u8]; 5] =
        [b"", b"\x1b[?2004h$ ", b"\x1b[?2004h$ abc ", b"\x1b[8m", b"\x1b[?2004h$ abc\x08"];
    let runs: [&[u8]; 10] = [
        b"\0\0",
        b"\x85",
        b"\x9b\x9c",
        b"\xc2\x85",
        b"\xff\xfe",
        "é".as_bytes(),
        "€".as_bytes(),
        b"\xe2\x82",
        b"\x7f",
        "\u{4e2d}".as_bytes(),
    ];
    let suffixes: [&[u8]; 7] = [b"\r", b"\rz", b"\x08", b"\x08 \x08", b"\r\n", b" \r", b"\x1b[K"];
    let mut wide = b"\x1b[?2004h$ ".to_vec();
    wide.extend(b"x".repeat(77));
    for prefix in prefixes.iter().copied().chain([&wide[..]]) {
        for run in runs {
            for suffix in suffixes {
                let mut bytes = prefix.to_vec();
                for part in [run, b" ", run, suffix, run, suffix, b"x\r\n\x1b[?2004l\r"] {
                    bytes.extend(part);
                }
                bytes.extend(b"done\r\n");
                let (whole, _) = heard(&bytes, bytes.len());
                assert_eq!(whole, heard(&bytes, 1).0, "{:?}", String::from_utf8_lossy(&bytes));
            }
        }
    }
}
