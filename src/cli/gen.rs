//! `topo completions` and `topo man`: both made from the clap definition, so
//! they never drift from the real command line.

use super::{exit, Cli};
use crate::Error;
use clap::CommandFactory;

/// Prints the completion script of `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "topo", &mut std::io::stdout());
}

/// Prints topo.1 to stdout, or writes topo.1 and topo-VERB.1 into `dir`.
pub fn man(dir: Option<&str>) -> Result<i32, Error> {
    let cmd = Cli::command();
    match dir {
        None => {
            let mut out = std::io::stdout();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|source| Error::Write {
                    path: "standard output".into(),
                    source,
                })?;
        }
        Some(dir) => {
            let res =
                std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir));
            res.map_err(|source| Error::Write {
                path: dir.to_string(),
                source,
            })?;
            eprintln!("wrote man pages into {dir}");
        }
    }
    Ok(exit::OK)
}
