//! A prompt of no usual shape learned from two lines a shell read (a theme's `λ ~ ❯ `,
//! `➜  ~ git:(main) ✗ `, set by a file sourced or an rc file, where no `PS1=` was typed).
//!
//! bash draws the same `PS1` before every line: two lines read at it start with the same
//! words, except the parts that change (the directory, a branch), and the prompt ends at a
//! word both lines have at the same place, drawn in symbols rather than letters (`❯`, `➜`,
//! `»`, `$`). What is typed after it may start with the same words too (`echo a`, `echo b`),
//! so the end is the last such symbol word, with no more than half the words before it
//! differing. Shell operators (`|`, `&&`, `>`) and paths are never taken for one: typed text
//! holds them.

/// Words a prompt is looked for in (a prompt is short).
const MAX_WORDS: usize = 8;

/// The prompt's length in `line`, learned from `earlier`, another line read at the same
/// prompt; `None` when they show none.
pub(super) fn prompt_len(earlier: &str, line: &str) -> Option<usize> {
    let a: Vec<(usize, &str)> = words(earlier).take(MAX_WORDS).collect();
    let b: Vec<(usize, &str)> = words(line).take(MAX_WORDS).collect();
    // The last word of the prompt is the k-th; a line holding only its prompt is one too.
    (1..=a.len().min(b.len())).rev().find_map(|k| {
        let (end_a, end_b) = (a[k - 1].1, b[k - 1].1);
        let varying = (0..k - 1).filter(|&i| a[i].1 != b[i].1).count();
        (end_a == end_b && ends_a_prompt(end_b) && varying * 2 < k).then(|| {
            let (at, word) = b[k - 1];
            let end = at + word.len();
            end + line[end..].bytes().take_while(|&c| c == b' ').count()
        })
    })
}

/// The prompt's length in `line` learned from the newest of `known` (prompts of no usual
/// shape, oldest first) that shows one.
pub(super) fn newest_prompt_len(known: &[String], line: &str) -> Option<usize> {
    known.iter().rev().find_map(|p| prompt_len(p, line))
}

/// Whether `line` may start with a prompt [`prompt_len`] can find: a word of symbols among
/// its first words, with more after it (output lines seldom have one).
pub(super) fn may_hold_prompt(line: &str) -> bool {
    let mut words = words(line).take(MAX_WORDS).peekable();
    while let Some((_, word)) = words.next() {
        if ends_a_prompt(word) {
            return true;
        }
        if words.peek().is_none() {
            break;
        }
    }
    false
}

/// Words (runs without spaces) with where they start.
fn words(line: &str) -> impl Iterator<Item = (usize, &str)> {
    line.split(' ')
        .scan(0, |at, word| {
            let start = *at;
            *at += word.len() + 1;
            Some((start, word))
        })
        .filter(|(_, word)| !word.is_empty())
}

/// Drawn in symbols, none of which typed text uses as an operator or in a path.
fn ends_a_prompt(word: &str) -> bool {
    word.chars().count() <= 3
        && word.chars().all(|c| !c.is_alphanumeric() && !"|&;<>()'\"`=/~.-*\\!,[]{}?+^".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt<'a>(earlier: &str, line: &'a str) -> Option<&'a str> {
        prompt_len(earlier, line).map(|n| &line[..n])
    }

    #[test]
    fn the_prompt_two_lines_share_ends_at_their_last_common_symbol_word() {
        assert_eq!(prompt("λ ~ ❯ echo themed", "λ ~ ❯ cd /tmp"), Some("λ ~ ❯ "));
        assert_eq!(prompt("λ ~ ❯ cd /tmp", "λ tmp ❯ ls -d /etc"), Some("λ tmp ❯ "), "dir");
        assert_eq!(prompt("λ ~ ❯ echo a", "λ ~ ❯ echo b"), Some("λ ~ ❯ "), "same first word");
        let zsh = "➜  ~ git:(main) ✗ ";
        assert_eq!(prompt("➜  ~ git:(main) ✗ ls", &format!("{zsh}cd x")), Some(zsh));
        assert_eq!(prompt("» ls", "» "), Some("» "), "nothing typed");
    }

    #[test]
    fn typed_operators_words_and_paths_are_not_prompts() {
        assert_eq!(prompt("a | b", "c | d"), None);
        assert_eq!(prompt("echo x > f", "echo y > g"), None);
        assert_eq!(prompt("cd ~", "cd ~"), None);
        assert_eq!(prompt("sqlite> select 1;", "sqlite> .tables"), None);
        assert_eq!(prompt("w x y z ❯ a", "a b c d ❯ a"), None, "most words differ");
        assert!(may_hold_prompt("λ ~ ❯ echo themed") && may_hold_prompt("» "));
        assert!(
            !may_hold_prompt("themed") && !may_hold_prompt("total 0") && !may_hold_prompt("a | b")
        );
    }
}
