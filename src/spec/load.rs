//! Parsing YAML into `LabSpec`, turning parser errors into diagnostics.

use super::explain::explain;
use super::LabSpec;
use crate::diag::{Pos, Report};
use serde_saphyr::{budget::Budget, DuplicateKeyPolicy, Options};

/// The file could not be read as a lab.
#[derive(Debug, thiserror::Error)]
#[error("{file}: the lab file could not be parsed")]
pub struct LoadError {
    pub file: String,
    pub report: Report,
}

/// What topo reads at most from one file. docs/format.md lists these limits
/// ("Parsing rules"); messages name them in the file's terms.
pub fn budget() -> Budget {
    let mut budget = Budget::default();
    budget.max_depth = 64;
    // Lab files merge a handful of anchors; thousands is a bomb, and the
    // default limit lets one burn a quarter second before it trips.
    budget.max_merge_keys = 1_000;
    budget
}

/// Aliases replay events; a lab file replays few. A tenth of the default
/// stops an alias bomb buffered inside one value ten times sooner.
pub const MAX_REPLAYED_EVENTS: usize = 100_000;

/// Parses the text of a lab file. `file` names it in diagnostics.
pub fn load_str(file: &str, text: &str) -> Result<LabSpec, LoadError> {
    let mut options = Options::default();
    options.strict_booleans = true;
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    options.budget = Some(budget());
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    let mut spec = serde_saphyr::from_str_with_options::<LabSpec>(text, options).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos::from_location(&l))
            .unwrap_or_default();
        let diag = explain(&e, pos, text);
        LoadError {
            file: file.to_string(),
            report: Report {
                file: file.to_string(),
                source: text.to_string(),
                diagnostics: vec![diag],
            },
        }
    })?;
    let diagnostics = super::expand::expand(&mut spec);
    if !diagnostics.is_empty() {
        return Err(LoadError {
            file: file.to_string(),
            report: Report {
                file: file.to_string(),
                source: text.to_string(),
                diagnostics,
            },
        });
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;

    fn err(text: &str) -> Diagnostic {
        load_str("lab.yaml", text)
            .unwrap_err()
            .report
            .diagnostics
            .remove(0)
    }

    #[test]
    fn unknown_field_suggests_the_right_one() {
        let d = err(
            "name: x\nnodes:\n  red:\n    interfaces:\n      eth0: { adresses: [10.0.0.1/24] }\n",
        );
        assert_eq!(d.message, "unknown field `adresses`");
        assert!(
            d.help
                .clone()
                .unwrap()
                .starts_with("did you mean `addresses`?"),
            "{d:?}"
        );
        assert_eq!(d.pos.line, 5);
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let d = err("name: x\nnodes:\n  red: {}\n  red: {}\n");
        assert_eq!(d.message, "duplicate key `red`");
        assert_eq!(d.pos.line, 4);
    }

    #[test]
    fn wrong_type_names_the_line() {
        let d = err("name: x\nlinks: { endpoints: [a, b] }\n");
        assert_eq!(d.pos.line, 2, "{d:?}");
    }

    #[test]
    fn strict_booleans() {
        assert!(load_str("f", "name: x\nbridges:\n  b: { stp: yes }\n").is_err());
        assert!(load_str("f", "name: x\nbridges:\n  b: { stp: true }\n").is_ok());
    }
}
