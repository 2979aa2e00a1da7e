//! A row of a line-editor region as the shell layer keeps it until the region ends, with
//! where the screen read it as going on past the terminal's last line.

use crate::transcript::screen::LineFlags;

/// A row of the open region: what the line editor showed from where its region starts.
#[derive(Debug)]
pub(super) struct RegionRow {
    pub(super) text: String,
    pub(super) flags: LineFlags,
    /// Bytes of `text` (ascending) where a row that filled the width was read as going on
    /// past the terminal's last line: nearly always none (no allocation).
    pub(super) joins: Vec<u32>,
}

/// `columns` of `line` (chars, ascending, as the screen tells them) as bytes of the row that
/// starts at byte `from` of it: those inside the row, past its first byte.
pub(super) fn row_joins(line: &str, from: usize, columns: &[u16]) -> Vec<u32> {
    let mut joins = Vec::with_capacity(columns.len());
    let mut chars = line.char_indices().map(|(at, _)| at).enumerate();
    let ascii = line.is_ascii();
    for &column in columns {
        let at = if ascii {
            usize::from(column)
        } else {
            match chars.find(|&(n, _)| n == usize::from(column)) {
                Some((_, at)) => at,
                None => break,
            }
        };
        if at > from && at < line.len() {
            joins.push(u32::try_from(at - from).expect("a row is far below 4 GiB"));
        }
    }
    joins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_become_bytes_of_the_row_past_its_start() {
        assert_eq!(row_joins("$ abcdefgh", 2, &[2, 4, 8, 10]), vec![2, 6]);
        // Wide and multi-byte characters before a column move its byte.
        assert_eq!(row_joins("$ 한국ab", 2, &[3, 4, 5]), vec![3, 6, 7]);
        assert_eq!(row_joins("$ é", 0, &[9]), Vec::<u32>::new());
    }
}
