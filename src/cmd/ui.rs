//! What people read on a terminal: the user's language (from the locale), colours only where
//! standard output is a terminal (and `NO_COLOR` is unset), aligned tables that count a Chinese
//! character as two columns, and the empty-state lines that say what is empty and what fills it.
//! Machines get `--json` instead; nothing here is used for that.

use std::io::IsTerminal;
use unicode_width::UnicodeWidthStr;

/// The language of the command line's human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (every locale that is not Chinese).
    En,
    /// Simplified Chinese (`LANG=zh_CN.UTF-8` and the like).
    Zh,
}

impl Lang {
    /// The user's language as the locale says: the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that
    /// is set and not empty, then the first entry of `LANGUAGE`; Chinese when it starts `zh`.
    pub fn from_env() -> Lang {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let locale = get("LC_ALL")
            .or_else(|| get("LC_MESSAGES"))
            .or_else(|| get("LANG"))
            .or_else(|| get("LANGUAGE").map(|l| l.split(':').next().unwrap_or("").to_string()))
            .unwrap_or_default();
        Lang::from_locale(&locale)
    }

    /// `zh_CN.UTF-8`, `zh_TW`, `zh` → Chinese; anything else → English.
    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// The code the library functions take (`en`, `zh`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// `en` or `zh`, whichever is the user's.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

/// Human output: the language and whether to colour.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// The user's language.
    pub lang: Lang,
    /// Colour (ANSI) on standard output.
    pub color: bool,
}

impl Ui {
    /// From the environment: the locale, and colour only on a terminal without `NO_COLOR`.
    pub fn from_env() -> Ui {
        Ui {
            lang: Lang::from_env(),
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// `en` or `zh`, whichever is the user's.
    pub fn t<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        self.lang.pick(en, zh)
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Bold.
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    /// Dim (secondary detail).
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }

    /// Green (passed, approved).
    pub fn good(&self, s: &str) -> String {
        self.paint("32", s)
    }

    /// Red (blocked, failed).
    pub fn bad(&self, s: &str) -> String {
        self.paint("31", s)
    }

    /// Yellow (pending, needs a person).
    pub fn warn(&self, s: &str) -> String {
        self.paint("33", s)
    }

    /// Prints an empty state: what is empty, then what fills it (a command or a page), on
    /// standard error so that a pipe reading standard output gets nothing.
    pub fn empty<S: AsRef<str>>(&self, what: (S, S), fill: (S, S)) {
        eprintln!("{}", self.t(what.0.as_ref(), what.1.as_ref()));
        eprintln!("  {}", self.t(fill.0.as_ref(), fill.1.as_ref()));
    }

    /// Prints `rows` under `headers`, each column as wide as its widest cell (a CJK character
    /// counts two), the header bold.
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) {
        print!("{}", self.render_table(headers, rows));
    }

    /// The text [`Ui::table`] prints.
    pub fn render_table(&self, headers: &[&str], rows: &[Vec<String>]) -> String {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
        for r in rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(c.width());
                }
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let last = cells.len().saturating_sub(1);
            let mut s = String::new();
            for (i, c) in cells.into_iter().enumerate() {
                s.push_str(c);
                if i < last {
                    s.push_str(&" ".repeat(widths[i] - c.width() + 2));
                }
            }
            s.trim_end().to_string()
        };
        let mut out = self.bold(&line(headers.to_vec()));
        out.push('\n');
        for r in rows {
            out.push_str(&line(r.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }

    /// `label  value` lines, the labels aligned.
    pub fn fields(&self, rows: &[(&str, String)]) {
        let w = rows.iter().map(|(l, _)| l.width()).max().unwrap_or(0);
        for (l, v) in rows {
            println!("  {}{}  {v}", self.dim(l), " ".repeat(w - l.width()));
        }
    }
}

/// A number with thousands separators and `decimals` decimals (`10,000,000.00`).
pub fn grouped(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if x < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locale_picks_the_language() {
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::Zh);
        assert_eq!(Lang::from_locale("zh"), Lang::Zh);
        assert_eq!(Lang::from_locale("en_GB.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale(""), Lang::En);
    }

    #[test]
    fn tables_align_chinese_as_two_columns() {
        let ui = Ui {
            lang: Lang::En,
            color: false,
        };
        let t = ui.render_table(
            &["ID", "CLIENT", "STATE"],
            &[
                vec!["a".into(), "演示客户".into(), "pending".into()],
                vec!["bbb".into(), "ACME".into(), "ok".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "ID   CLIENT    STATE");
        assert_eq!(lines[1], "a    演示客户  pending");
        assert_eq!(lines[2], "bbb  ACME      ok");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(10_000_000.0, 0), "10,000,000");
        assert_eq!(grouped(492_419.402, 2), "492,419.40");
        assert_eq!(grouped(-5_383_597.98, 0), "-5,383,598");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(-0.001, 0), "0");
    }
}
