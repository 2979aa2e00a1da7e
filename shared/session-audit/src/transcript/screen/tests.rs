use super::*;

#[derive(Default)]
struct Recorder {
    lines: Vec<(String, bool)>,
    inputs: Vec<bool>,
    flags: Vec<LineFlags>,
    ends: Vec<String>,
    alt: Vec<bool>,
    edits: Vec<usize>,
}

impl ScreenListener for Recorder {
    fn line(&mut self, text: &str, input: bool, _from: usize, flags: LineFlags) {
        self.lines.push((text.to_string(), input));
        self.inputs.push(input);
        self.flags.push(flags);
    }
    fn input_begin(&mut self) {}
    fn input_end(&mut self, pending: &str) {
        self.ends.push(pending.to_string());
    }
    fn alternate_screen(&mut self, entered: bool) {
        self.alt.push(entered);
    }
    fn history_edited(&mut self) {
        self.edits.push(self.alt.len());
    }
}

fn run(bytes: &[u8]) -> Recorder {
    let mut screen = Screen::new();
    let mut rec = Recorder::default();
    screen.advance(bytes, &mut rec);
    screen.finish(&mut rec);
    rec
}

fn texts(r: &Recorder) -> Vec<&str> {
    r.lines.iter().map(|(t, _)| t.as_str()).collect()
}

#[test]
fn text_drawn_unseen_is_flagged_with_what_hid_it() {
    // Typed text concealed after a visible prompt; shown again after the reset.
    let r = run(
        b"\x1b[?2004h$ \x1b[8msecret\r\r\n\x1b[?2004l\r\x1b[0m\x1b[?2004h$ ok\r\r\n\x1b[?2004l\r",
    );
    assert_eq!(texts(&r)[..2], ["$ secret", "$ ok"]);
    assert_eq!((r.flags[0].concealed_to, r.flags[1].concealed_to), (8, 0));
    assert!(!r.flags[0].same_ink);
    // Ink set on one line and the background on the next (on the plain-line fast path),
    // then typed text; a colour in the `:` form (read by `vte`) shows it again.
    let r = run(b"\x1b[38;5;16mout\r\n\x1b[48;5;0mmore\r\n\x1b[?2004h$ secret\r\r\n\x1b[?2004l\r\x1b[38:2::200:200:200m\x1b[?2004h$ ok\r\r\n\x1b[?2004l\r");
    assert_eq!(texts(&r), ["out", "more", "$ secret", "$ ok"]);
    assert_eq!((r.flags[2].concealed_to, r.flags[2].same_ink), (8, true));
    assert_eq!(r.flags[3].concealed_to, 0);
    // A hiding pen saved with the cursor comes back with it; `reset` (`ESC c`) clears it.
    let r = run(b"\x1b[30;40m\x1b7\x1b[0m\x1b8\x1b[?2004h$ back\r\r\n\x1b[?2004l\r\x1bc\x1b[?2004h$ reset\r\r\n\x1b[?2004l\r");
    assert_eq!(texts(&r), ["$ back", "$ reset"]);
    assert_eq!((r.flags[0].concealed_to, r.flags[0].same_ink), (6, true));
    assert_eq!(r.flags[1], LineFlags::default());
    // Colours on an output line that differ, as `ls` draws them: nothing hidden.
    let r =
        run(b"\x1b[30;42mdir\x1b[0m \x1b[01;34mbin\x1b[0m\r\n\x1b[?2004h$ ls\r\r\n\x1b[?2004l\r");
    assert_eq!(texts(&r), ["dir bin", "$ ls"]);
    assert_eq!(r.flags[1], LineFlags::default());
}

#[test]
fn a_double_width_character_takes_two_cells() {
    // Two backspaces and an erase remove one wide character; the right half is no text.
    let r = run(b"\x1b[?2004h$ a\xe5\xad\x97b\x08\x08\x08\x1b[Kc\r\r\n\x1b[?2004l\r");
    assert_eq!(texts(&r)[0], "$ ac");
    // Overwriting half of one blanks its other half.
    let r = run(b"\x1b[?2004h$ \xe5\xad\x97\x08x\r\r\n\x1b[?2004l\r");
    assert_eq!(texts(&r)[0], "$  x");
}

#[test]
fn backspace_and_overwrite_recover_the_edited_line() {
    // dash in cooked mode echoes an erase as BS SP BS.
    let r = run(b"$ ip\x08 \x08\x08 \x08pwd\r\r\n");
    assert_eq!(texts(&r), ["$ pwd"]);
}

#[test]
fn the_kernel_erases_multi_byte_characters_a_byte_at_a_time() {
    // IUTF8 off: three erases take the euro sign's three bytes, not "o €".
    let r = run("$ echo €\x08 \x08\x08 \x08\x08 \x08EUR\r\r\n".as_bytes());
    assert_eq!(texts(&r), ["$ echo EUR"]);
    // One erase of a two-byte é leaves a byte the shell received: shown as U+FFFD.
    let r = run("$ echo é\x08 \x08!\r\r\n".as_bytes());
    assert_eq!(texts(&r), ["$ echo \u{fffd}!"]);
    // Inside a line editor's region the erase is the editor's: characters, as drawn.
    let r = run("\x1b[?2004hsh-5.2$ echo €\x08 \x08x\r\r\n\x1b[?2004l".as_bytes());
    assert_eq!(texts(&r), ["sh-5.2$ echo x"]);
}

#[test]
fn readline_insert_and_delete_chars() {
    // "echo wrld", 3 x left, insert 'o' by rewriting the tail, then reposition.
    let r = run(b"$ echo wrld\x08\x08\x08orld\x08\x08\x08\r\r\n");
    assert_eq!(texts(&r), ["$ echo world"]);
    let r = run(b"$ echo 42\x08\x08\x08\x08\x08\x08\x08\x1b[1@\"x\x1b[3P\r\n");
    assert_eq!(texts(&r), ["$ \"x 42"]);
}

#[test]
fn readline_wrap_marker_teaches_the_width() {
    let mut line = b"\x1b[?2004hsh-5.2$ echo ".to_vec();
    line.extend(b"012345678901234567890123456 \r");
    line.extend(b"89\x08\x08X\r\x1b[C\x1b[CY\r\r\n\x1b[?2004l\r");
    let mut screen = Screen::new();
    let mut rec = Recorder::default();
    screen.advance(&line, &mut rec);
    assert_eq!(screen.width(), Some(40));
    // The CR after the edit returns to the start of the second row, not of the line.
    assert_eq!(texts(&rec), ["sh-5.2$ echo 012345678901234567890123456X9Y"]);
    assert!(rec.lines[0].1, "a line the editor read");
}

/// Once the width is known, a space in a row's last column and a CR is a full row ended
/// between two words (past the terminal's last line, a wide line's row), not readline's wrap
/// marker: it once taught widths such as 6,719 and 3,379 (the line so far, over the markers
/// counted), and the lines after it were read at that width.
#[test]
fn a_space_in_the_last_column_of_a_full_row_teaches_no_width() {
    let mut line = b"\x1b[?2004h$ echo ".to_vec();
    line.extend(b"012345678901234567890123456789012 \rtail\r\r\n\x1b[?2004l\r");
    line.extend(b"\x1b[?2004h$ echo 01234567890123456789012345678901 \rmore\r\r\n\x1b[?2004l\r");
    let mut screen = Screen::new();
    let mut rec = Recorder::default();
    screen.advance(&line, &mut rec);
    assert_eq!(screen.width(), Some(40), "from the first line's marker only");
    assert_eq!(texts(&rec)[1], "moreho 01234567890123456789012345678901");
}

#[test]
fn reverse_search_redraw_is_not_a_wrap() {
    let mut bytes = b"\x1b[?2004h[ec2-user@ip-10-0-1-11 ~]$ \r(reverse-i-search)`w': ".to_vec();
    bytes.extend(b"\x1b[7mw\x1b[27mhoami\r\x1b[40P[ec2-user@ip-10-0-1-11 ~]$ whoami\r\r\n");
    let r = run(&bytes);
    assert_eq!(texts(&r), ["[ec2-user@ip-10-0-1-11 ~]$ whoami"]);
}

#[test]
fn ctrl_c_leaves_pending_text_and_no_line() {
    let r = run(b"\x1b[?2004hsh-5.2$ shutdown -h now^C\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r\r\r\n");
    assert_eq!(r.ends[0], "sh-5.2$ shutdown -h now^C");
    assert_eq!(texts(&r), [""]);
}

#[test]
fn alternate_screen_content_is_not_output() {
    // A pager's screen, and an editor that turns bracketed paste on and places the cursor.
    let r = run(b"$ less f\r\n\x1b[?1049hroot:x:0\r\n\x1b[?2004h\x1b[1;24r\x1b[2;1Hjunk\r\n\x1b[?2004l\x1b[?1049l$ ok\r\n");
    assert_eq!(texts(&r), ["$ less f", "$ ok"]);
    assert_eq!(r.alt, [true, false]);
}

#[test]
fn an_editor_on_bashs_fc_file_is_told_as_it_closes() {
    // vim on the file Ctrl-X Ctrl-E made (its status line names it), then bash's echo.
    let edit = b"$ echo a\r\n\x1b[?1049h\x1b[H\x1b[2Jecho a\x1b[24;1H\"/tmp/bash-fc.qgDyZs\" 1L\x1b[?1049lecho b\r\nb\r\n";
    let r = run(edit);
    assert_eq!((&r.alt[..], &r.edits[..]), (&[true, false][..], &[1][..]), "before leaving");
    assert_eq!(texts(&r), ["$ echo a", "echo b", "b"]);
    // Another file, or the name printed on the main screen: nothing told.
    assert!(run(b"$ git commit\r\n\x1b[?1049h\"COMMIT_EDITMSG\"\x1b[?1049lok\r\n")
        .edits
        .is_empty());
    assert!(run(b"$ ls /tmp\r\nbash-fc.x\r\n\x1b[?1049h\x1b[?1049l").edits.is_empty());
}

#[test]
fn a_shell_hidden_on_the_alternate_screen_is_still_read() {
    // `printf '\e[?1049h'`, then a line editor reading lines there as on the main screen.
    let r = run(b"\x1b[?1049h\x1b[?2004hsh-5.2$ id\r\r\n\x1b[?2004l\ruid=0\r\r\n\x1b[?1049l");
    assert_eq!(texts(&r), ["sh-5.2$ id", "uid=0"]);
    assert_eq!(r.inputs, [true, false]);
    assert!(r.flags.iter().all(|f| f.alternate), "{:?}", r.flags);
}

#[test]
fn erase_and_tabs() {
    let r = run(b"abcdef\x08\x08\x1b[K\r\n\ta\tb\r\nxyz\r\x1b[2K\r\n");
    assert_eq!(texts(&r), ["abcd", "        a       b", ""]);
}

#[test]
fn huge_line_is_capped_and_flagged() {
    let mut screen = Screen::new();
    let mut rec = Recorder::default();
    let chunk = vec![b'a'; 1 << 20];
    screen.advance(&chunk, &mut rec);
    screen.advance(b"\r\n", &mut rec);
    assert_eq!(rec.lines[0].0.len(), MAX_LINE_CHARS);
}
