//! Line diffs between two versions of a document: what an optimistic-concurrency refusal shows
//! (what the other lawyer saved against what this one tried to save) and what version history
//! shows.

use serde::Serialize;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "text", rename_all = "snake_case")]
pub enum Line {
    /// In both.
    Same(String),
    /// Only in the old version.
    Removed(String),
    /// Only in the new version.
    Added(String),
}

/// The line diff of `old` to `new` (longest common subsequence of lines; a document of a few
/// thousand lines diffs in milliseconds).
pub fn lines(old: &str, new: &str) -> Vec<Line> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Common prefix and suffix first: most edits touch a few lines.
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (n, m) = (ma.len(), mb.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if ma[i] == mb[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out: Vec<Line> = a[..pre].iter().map(|l| Line::Same((*l).into())).collect();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && ma[i] == mb[j] {
            out.push(Line::Same(ma[i].into()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(Line::Removed(ma[i].into()));
            i += 1;
        } else {
            out.push(Line::Added(mb[j].into()));
            j += 1;
        }
    }
    out.extend(a[a.len() - suf..].iter().map(|l| Line::Same((*l).into())));
    out
}

/// The changed lines only, as a unified-diff-like text (`- old`, `+ new`).
pub fn changes(old: &str, new: &str) -> String {
    lines(old, new)
        .into_iter()
        .filter_map(|l| match l {
            Line::Same(_) => None,
            Line::Removed(t) => Some(format!("- {t}")),
            Line::Added(t) => Some(format!("+ {t}")),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_removed_then_added() {
        let d = lines("a\nb\nc\n", "a\nB\nc\nd\n");
        assert_eq!(
            d,
            vec![
                Line::Same("a".into()),
                Line::Removed("b".into()),
                Line::Added("B".into()),
                Line::Same("c".into()),
                Line::Added("d".into()),
            ]
        );
        assert_eq!(changes("x\n", "x\n"), "");
    }
}
