//! Diagnostics that point into the lab file: file, line, column, what is
//! wrong and what to write instead. Rendered with miette, like rustc.

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Severity};
use serde_saphyr::Spanned;

/// A place in the lab file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
    pub offset: usize,
    pub len: usize,
}

impl Pos {
    pub fn of<T>(s: &Spanned<T>) -> Pos {
        Pos::from_location(&s.referenced)
    }

    pub fn from_location(l: &serde_saphyr::Location) -> Pos {
        let span = l.span();
        Pos {
            line: l.line() as u32,
            col: l.column() as u32,
            offset: span.byte_offset().unwrap_or(0) as usize,
            len: span.byte_len().unwrap_or(0) as usize,
        }
    }

    pub fn known(&self) -> bool {
        self.line > 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// One finding about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    pub pos: Pos,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Error, pos, message: message.into(), help: None }
    }
    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Warning, pos, message: message.into(), help: None }
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// All findings about one file, with the text they point into.
#[derive(Debug, Clone)]
pub struct Report {
    pub file: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    /// Renders every diagnostic like rustc: `file:line:col`, the source line,
    /// a caret under the span, and the help line.
    pub fn render(&self, color: bool) -> String {
        let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut out = String::new();
        for d in &self.diagnostics {
            let mut md = MietteDiagnostic::new(format!(
                "{}:{}:{}: {}",
                self.file, d.pos.line, d.pos.col, d.message
            ))
            .with_severity(match d.level {
                Level::Error => Severity::Error,
                Level::Warning => Severity::Warning,
            });
            if d.pos.known() {
                let len = d.pos.len.max(1).min(self.source.len().saturating_sub(d.pos.offset).max(0));
                md = md.with_label(LabeledSpan::at(d.pos.offset..d.pos.offset + len, "here"));
            }
            if let Some(h) = &d.help {
                md = md.with_help(h.clone());
            }
            let report = miette::Report::new(md)
                .with_source_code(NamedSource::new(&self.file, self.source.clone()));
            let _ = handler.render_report(&mut out, report.as_ref());
        }
        out
    }
}

/// The closest candidate to `word`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("adresses", ["addresses", "mtu", "mac"]), Some("addresses"));
        assert_eq!(did_you_mean("xyz", ["addresses", "mtu"]), None);
    }
}
