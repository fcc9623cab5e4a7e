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
    if path == STDIN_ARG && FRAMED.load(std::sync::atomic::Ordering::Relaxed) {
        let text = crate::remote::read_frame().map_err(|source| Error::Read {
            path: "standard input".to_string(),
            source,
        })?;
        return Ok((STDIN_NAME.to_string(), text));
    }
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

/// Whether `-` is read as one frame (`--framed`), leaving the rest of
/// standard input to what comes after (a held apply's conversation, an
/// exec'd command).
static FRAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn set_framed(on: bool) {
    FRAMED.store(on, std::sync::atomic::Ordering::Relaxed);
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
    if crate::remote::saved::SavedPlans::parse(&text).is_some() {
        return Err(Error::Hosts(format!(
            "{file} holds the plans of every host of a lab across machines\nhelp: apply them all with `topo apply {file} --all-hosts`"
        )));
    }
    match plan::saved::SavedPlan::parse(&text) {
        Some(Ok(saved)) => Ok(Input::Saved(Box::new(saved))),
        Some(Err(why)) => Err(Error::Read {
            path: file,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        }),
        None => load_text(file, text).map(|l| Input::Lab(Box::new(l))),
    }
}

impl Loaded {
    /// The lab this machine runs of the file: the file itself, or, for a
    /// lab across machines (`hosts:`), the share of `host`.
    pub fn for_host(self, host: Option<&str>) -> Result<Loaded, Error> {
        let hosts = crate::model::hosts::host_names(&self.spec);
        match host {
            None if hosts.is_empty() => Ok(self),
            None => Err(host_unsaid(&self.spec)),
            Some(h) if hosts.is_empty() => Err(Error::Hosts(format!(
                "`--host {h}`: {} has no `hosts:`, so it runs on one machine\nhelp: leave out `--host`",
                self.file
            ))),
            Some(h) if !hosts.iter().any(|n| n == h) => Err(Error::Hosts(format!(
                "lab `{}` has no host `{h}`\nhelp: its hosts are {}",
                self.spec.name.value,
                hosts.join(", ")
            ))),
            Some(h) => {
                let p = crate::model::hosts::place(&self.spec)
                    .map_err(|d| Error::Invalid(self.report(d)))?;
                let spec = crate::model::hosts::share(&self.spec, &p, h);
                Ok(Loaded { spec, ..self })
            }
        }
    }
}

/// A lab across machines, run as if it were on one.
pub(crate) fn host_unsaid(spec: &spec::LabSpec) -> Error {
    let hosts = crate::model::hosts::host_names(spec);
    Error::Hosts(format!(
        "lab `{}` runs on hosts {}: say which this is\nhelp: `--host NAME` runs one host's share, here on that host; `--all-hosts` runs every share over ssh",
        spec.name.value,
        hosts.join(", ")
    ))
}

impl Loaded {
    /// Every lab the file is: itself, or for a lab across machines each
    /// host's share (host name first), in host order.
    pub fn shares(&self) -> Result<Vec<(Option<String>, Loaded)>, Error> {
        if self.spec.hosts.is_empty() {
            return Ok(vec![(None, self.clone())]);
        }
        let p =
            crate::model::hosts::place(&self.spec).map_err(|d| Error::Invalid(self.report(d)))?;
        Ok(p.hosts
            .keys()
            .map(|h| {
                let spec = crate::model::hosts::share(&self.spec, &p, h);
                let l = Loaded {
                    file: self.file.clone(),
                    text: self.text.clone(),
                    spec,
                };
                (Some(h.clone()), l)
            })
            .collect())
    }
}
