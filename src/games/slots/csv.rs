//! Reel strips as CSV, the layout of Stake Engine's math-sdk reel files: one column per reel, one row per
//! stop, a symbol name in each cell. Cells are trimmed; blank lines are skipped; an optional first row is a
//! header (`csv_header = true`). A shorter reel leaves its cells empty below its last stop. No quoting:
//! symbol names never contain commas.

use super::load::LoadError;

/// The strips of one file, one `Vec` of symbol ids per reel, top stop first.
pub(super) fn parse_reels(
    file: &str,
    text: &str,
    reels: usize,
    header: bool,
    symbol_id: impl Fn(&str) -> Option<u8>,
) -> Result<Vec<Vec<u8>>, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut strips: Vec<Vec<u8>> = vec![Vec::new(); reels];
    // Set once a reel has shown an empty cell: it has ended.
    let mut ended = vec![false; reels];
    let rows = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .skip(usize::from(header));
    for (index, line) in rows {
        let row = index + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != reels {
            return Err(csv_error(
                file,
                row,
                0,
                format!("{} columns, the grid has {reels} reels", cells.len()),
            ));
        }
        for (reel, cell) in cells.into_iter().enumerate() {
            let column = reel + 1;
            if cell.is_empty() {
                ended[reel] = true;
                continue;
            }
            if ended[reel] {
                return Err(csv_error(file, row, column, "a stop below an empty cell".to_string()));
            }
            let id = symbol_id(cell).ok_or_else(|| LoadError::UnknownSymbol {
                file: file.to_string(),
                row,
                column,
                symbol: cell.to_string(),
            })?;
            strips[reel].push(id);
        }
    }
    Ok(strips)
}

fn csv_error(file: &str, row: usize, column: usize, message: String) -> LoadError {
    LoadError::Csv {
        file: file.to_string(),
        row,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(name: &str) -> Option<u8> {
        ["A", "B", "W"]
            .iter()
            .position(|known| *known == name)
            .map(|id| id as u8)
    }

    #[test]
    fn columns_are_reels_and_rows_are_stops() {
        // Whitespace, a BOM, CRLF line ends, a blank line and a shorter third reel are all fine.
        let text = "\u{feff}A, B ,W\r\nB,B,A\r\n\r\nW,A,\n";
        let strips = parse_reels("r.csv", text, 3, false, ids).unwrap();
        assert_eq!(strips, vec![vec![0, 1, 2], vec![1, 1, 0], vec![2, 0]]);
    }

    #[test]
    fn an_optional_header_row_is_skipped() {
        // With csv_header the first non-blank row names the reels and is not a stop.
        let strips = parse_reels("r.csv", "reel1,reel2\nA,B\n", 2, true, ids).unwrap();
        assert_eq!(strips, vec![vec![0], vec![1]]);
    }

    #[test]
    fn an_unknown_symbol_names_file_row_and_column() {
        // The third line's second cell is not a symbol of the game.
        let error = parse_reels("base.csv", "A,B\nB,A\nA,Q\n", 2, false, ids).unwrap_err();
        assert!(
            matches!(&error, LoadError::UnknownSymbol { file, row: 3, column: 2, symbol } if file == "base.csv" && symbol == "Q"),
            "{error}"
        );
        assert_eq!(error.to_string(), "base.csv row 3 column 2: unknown symbol \"Q\"");
    }

    #[test]
    fn wrong_column_counts_and_gaps_are_refused() {
        // Two cells on a three-reel grid; a stop below an empty cell.
        let error = parse_reels("r.csv", "A,B,W\nA,B\n", 3, false, ids).unwrap_err();
        assert!(matches!(error, LoadError::Csv { row: 2, .. }), "{error}");
        let error = parse_reels("r.csv", "A,B\nA,\nA,B\n", 2, false, ids).unwrap_err();
        assert!(matches!(error, LoadError::Csv { row: 3, column: 2, .. }), "{error}");
    }
}
