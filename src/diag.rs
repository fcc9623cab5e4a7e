//! Diagnostics that point into the lab file: file, line, column, what is
//! wrong and what to write instead. Rendered with miette, like rustc.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, Severity, SourceCode, SourceSpan, SpanContents,
};
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
        Diagnostic {
            level: Level::Error,
            pos,
            message: message.into(),
            help: None,
        }
    }
    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Warning,
            pos,
            message: message.into(),
            help: None,
        }
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
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut out = String::new();
        // Each rendering scans the source: past a screenful, a count says more.
        for d in self.diagnostics.iter().take(RENDER_MAX) {
            let mut md = MietteDiagnostic::new(format!(
                "{}:{}:{}: {}",
                self.file, d.pos.line, d.pos.col, d.message
            ))
            .with_severity(match d.level {
                Level::Error => Severity::Error,
                Level::Warning => Severity::Warning,
            });
            if d.pos.known() {
                let (offset, len) = span_at(&self.source, &d.pos);
                md = md.with_label(LabeledSpan::at(offset..offset + len, "here"));
            }
            if let Some(h) = &d.help {
                md = md.with_help(h.clone());
            }
            let report = miette::Report::new(md).with_source_code(CharColumns {
                name: self.file.clone(),
                text: self.source.clone(),
            });
            let _ = handler.render_report(&mut out, report.as_ref());
        }
        if self.diagnostics.len() > RENDER_MAX {
            let more = self.diagnostics.len() - RENDER_MAX;
            out += &format!(
                "... and {more} more; fix these first, then run `topo validate {}` again\n",
                self.file
            );
        }
        out
    }
}

/// The lab file for miette, which counts columns in bytes: counted in
/// characters here, the `╭─[file:L:C]` over an excerpt names the place the
/// message names, on lines with non-ASCII text too.
struct CharColumns {
    name: String,
    text: String,
}

impl SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let c = self.text.read_span(span, before, after)?;
        // Without context lines the contents start at the span itself.
        let column = if before == 0 {
            let start = c.span().offset().min(self.text.len());
            let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
            self.text
                .get(line_start..start)
                .map_or(c.column(), |s| s.chars().count())
        } else {
            c.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            *c.span(),
            c.line(),
            column,
            c.line_count(),
        )))
    }
}

/// Where to underline `pos` in `source`: its span when that starts at the
/// line and column the message names, else one character there. (The parser
/// gives some errors, such as a tab in the indentation, a position without
/// a span.) Columns count characters, as the parser's do.
fn span_at(source: &str, pos: &Pos) -> (usize, usize) {
    let clamp = |offset: usize, len: usize| {
        let offset = offset.min(source.len());
        (offset, len.max(1).min(source.len() - offset))
    };
    if line_col(source, pos.offset) == Some((pos.line, pos.col)) {
        return clamp(pos.offset, pos.len);
    }
    let Some(start) = source
        .split_inclusive('\n')
        .scan(0, |at, l| {
            let here = *at;
            *at += l.len();
            Some(here)
        })
        .nth(pos.line as usize - 1)
    else {
        return clamp(pos.offset, pos.len);
    };
    let offset = source[start..]
        .char_indices()
        .take_while(|(_, c)| *c != '\n')
        .nth(pos.col.saturating_sub(1) as usize)
        .map_or_else(
            || start + source[start..].find('\n').unwrap_or(source.len() - start),
            |(i, _)| start + i,
        );
    let len = source[offset..].chars().next().map_or(1, char::len_utf8);
    clamp(offset, len)
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_col(source: &str, offset: usize) -> Option<(u32, u32)> {
    let before = source.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some((line as u32, col as u32))
}

/// Diagnostics rendered in full; the rest are counted.
pub const RENDER_MAX: usize = 50;

/// The closest candidate to `word`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein plus adjacent swaps, so
/// `rde` is one edit from `red`, as a typist would count it.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(source: &str, line: u32, col: u32, offset: usize) -> String {
        Report {
            file: "lab.yaml".into(),
            source: source.into(),
            diagnostics: vec![Diagnostic::error(
                Pos {
                    line,
                    col,
                    offset,
                    len: 3,
                },
                "wrong",
            )],
        }
        .render(false)
    }

    #[test]
    fn the_underline_is_where_the_message_says() {
        let text = "name: x\nnodes:\n\tred: {}\n";
        // A position without its span (offset 0): the underline follows the line and column.
        let out = report(text, 3, 2, 0);
        assert!(out.contains("lab.yaml:3:2: wrong"), "{out}");
        assert!(out.contains("[lab.yaml:3:2]"), "{out}");
        // A span that agrees with its position is kept, length and all.
        let out = report(text, 2, 1, 8);
        assert!(
            out.contains("[lab.yaml:2:1]") && out.contains("───"),
            "{out}"
        );
        // Past the end of a line: its end.
        let out = report(text, 1, 40, 0);
        assert!(out.contains("[lab.yaml:1:8]"), "{out}");
        // Columns count characters, not bytes, in the message and over the excerpt.
        let out = report(
            "name: x\nnodes:\n  rød: {}\n",
            3,
            8,
            "name: x\nnodes:\n  rød: ".len(),
        );
        assert!(
            out.contains("lab.yaml:3:8: wrong") && out.contains("[lab.yaml:3:8]"),
            "{out}"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("adresses", ["addresses", "mtu", "mac"]),
            Some("addresses")
        );
        assert_eq!(did_you_mean("xyz", ["addresses", "mtu"]), None);
        assert_eq!(did_you_mean("rde", ["red", "blue"]), Some("red"));
    }
}
