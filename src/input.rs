//! Reading a verb's file: once, from a path or (`-`) standard input, and
//! telling a saved plan from a lab file by the text read.

use crate::{plan, spec, Error, Loaded};

/// The file argument that stands for standard input.
pub const STDIN_ARG: &str = "-";

/// What messages call standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// Reads a file argument, once: `-` is standard input. Returns the name
/// messages use for it and its text. Every verb reads its file through
/// this, exactly once, so a pipe or `/dev/stdin` works like a file.
pub fn read_input(path: &str) -> Result<(String, String), Error> {
    use std::io::Read;
    if path == STDIN_ARG {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| Error::Read {
                path: "standard input".to_string(),
                source,
            })?;
        return Ok((STDIN_NAME.to_string(), text));
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_string(),
        source,
    })?;
    Ok((path.to_string(), text))
}

/// Reads and parses a lab file (`-`: standard input).
pub fn load(path: &str) -> Result<Loaded, Error> {
    let (file, text) = read_input(path)?;
    load_text(file, text)
}

/// Parses the text of a lab file; `file` names it in messages.
pub fn load_text(file: String, text: String) -> Result<Loaded, Error> {
    let spec = spec::load_str(&file, &text).map_err(|e| Error::Invalid(e.report))?;
    Ok(Loaded { file, text, spec })
}

/// What `apply` was given: a lab file, or a plan saved by `topo plan -o`.
pub enum Input {
    Lab(Box<Loaded>),
    Saved(Box<plan::saved::SavedPlan>),
}

/// Reads `path` once and tells a saved plan from a lab file by its text.
pub fn load_input(path: &str) -> Result<Input, Error> {
    let (file, text) = read_input(path)?;
    match plan::saved::SavedPlan::parse(&text) {
        Some(Ok(saved)) => Ok(Input::Saved(Box::new(saved))),
        Some(Err(why)) => Err(Error::Read {
            path: file,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        }),
        None => load_text(file, text).map(|l| Input::Lab(Box::new(l))),
    }
}
