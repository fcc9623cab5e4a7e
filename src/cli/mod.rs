//! The command line: clap definitions, one function per verb, and the exit
//! codes. Renderers of results live in `render`.

mod render;

pub use render::{plan_json, plan_text};

use crate::{Error, Loaded};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;

/// Exit codes (also in README and --help).
pub mod exit {
    /// Success; for `plan --detailed-exitcode`, no changes.
    pub const OK: i32 = 0;
    /// Invalid file, refused plan, or failed run.
    pub const ERROR: i32 = 1;
    /// `plan --detailed-exitcode`: changes are pending.
    pub const CHANGES: i32 = 2;
}

const AFTER_HELP: &str = "\
Examples:
  topo validate lab.yaml          check the file, no kernel needed
  topo plan lab.yaml              show the changes apply would make
  topo plan --json lab.yaml       the same plan as a JSON document
  topo apply lab.yaml             converge the kernel to the file
  topo destroy lab.yaml           remove everything the lab owns
  topo destroy --lab lab1         the same, without the file

Exit codes: 0 success (plan --detailed-exitcode: no changes), 1 error, 2 changes pending (plan --detailed-exitcode).";

#[derive(Parser, Debug)]
#[command(name = "topo", version, about = "Declarative network labs for Linux: namespaces, bridges, veths, addresses, routes, sysctls", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Subcommand, Debug)]
pub enum Verb {
    /// Check a lab file: every mistake with file, line and column.
    #[command(after_help = "Example: topo validate topologies/example.yaml")]
    Validate { file: String },
    /// Show the ordered changes apply would make, without making them.
    #[command(after_help = "Example: topo plan --detailed-exitcode topologies/example.yaml")]
    Plan {
        file: String,
        /// Print the plan as a versioned JSON document.
        #[arg(long)]
        json: bool,
        /// Exit 0 when there is nothing to do, 2 when changes are pending, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Converge the kernel to the file; a second apply changes nothing.
    #[command(after_help = "Example: topo apply topologies/example.yaml")]
    Apply {
        file: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// On failure, keep what was done instead of undoing it (for debugging).
        #[arg(long)]
        no_rollback: bool,
    },
    /// Remove everything the lab owns, and nothing else.
    #[command(
        after_help = "Example: topo destroy topologies/example.yaml  (or: topo destroy --lab example)"
    )]
    Destroy {
        /// The lab file; its `name:` selects the lab.
        #[arg(required_unless_present = "lab", conflicts_with = "lab")]
        file: Option<String>,
        /// Destroy a lab by name, without its file.
        #[arg(long)]
        lab: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the lab file.
    Schema,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(cli.verb)) {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            exit::ERROR
        }
    }
}

fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("TOPO_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

async fn run(verb: Verb) -> Result<i32, Error> {
    match verb {
        Verb::Validate { file } => {
            let l = crate::load(&file)?;
            let v = crate::validate(&l, &Default::default())?;
            if !v.warnings.is_empty() {
                eprint!(
                    "{}",
                    l.report(v.warnings).render(std::io::stderr().is_terminal())
                );
            }
            println!(
                "{file}: valid lab `{}` ({} nodes, {} objects)",
                v.model.lab,
                v.model.nodes.len(),
                v.model.state.len()
            );
            Ok(exit::OK)
        }
        Verb::Plan {
            file,
            json,
            detailed_exitcode,
        } => {
            let l = load_with_warnings(&file)?;
            let s = crate::prepare(&l).await?;
            if json {
                println!("{}", plan_json(&s.plan));
            } else {
                print!("{}", plan_text(&s.plan, color()));
            }
            Ok(if detailed_exitcode && !s.plan.is_empty() {
                exit::CHANGES
            } else {
                exit::OK
            })
        }
        Verb::Apply {
            file,
            json,
            no_rollback,
        } => {
            let l = load_with_warnings(&file)?;
            let s = crate::prepare(&l).await?;
            if !json {
                print!("{}", plan_text(&s.plan, color()));
            }
            let report = crate::apply(
                s,
                crate::apply::Options {
                    rollback: !no_rollback,
                },
            )
            .await?;
            finish(&report, json, "Apply");
            Ok(exit::OK)
        }
        Verb::Destroy { file, lab, json } => {
            let lab = match (file, lab) {
                (_, Some(lab)) => lab,
                (Some(file), None) => crate::lab_name_of(&crate::load(&file)?)?,
                (None, None) => unreachable!("clap requires one"),
            };
            let s = crate::prepare_destroy(&lab).await?;
            if !json {
                print!("{}", plan_text(&s.plan, color()));
            }
            // Destroy keeps going forward: undoing a half-done destroy would
            // only rebuild what the user wants gone.
            let report = crate::apply(s, crate::apply::Options { rollback: false }).await?;
            crate::forget_lab(&lab);
            finish(&report, json, "Destroy");
            Ok(exit::OK)
        }
        Verb::Schema => {
            print!("{}", crate::spec::json_schema());
            Ok(exit::OK)
        }
    }
}

fn load_with_warnings(file: &str) -> Result<Loaded, Error> {
    let l = crate::load(file)?;
    let v = crate::validate(&l, &Default::default())?;
    if !v.warnings.is_empty() {
        eprint!(
            "{}",
            l.report(v.warnings).render(std::io::stderr().is_terminal())
        );
    }
    Ok(l)
}

fn finish(r: &crate::ApplyReport, json: bool, verb: &str) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::report_json(r)).expect("report serializes")
        );
    } else {
        let s = r.plan.summary();
        println!(
            "{verb} complete: {} added, {} changed, {} destroyed.",
            s.add, s.change, s.destroy
        );
    }
}

fn report_error(e: &Error) {
    let tty = std::io::stderr().is_terminal();
    match e {
        Error::Invalid(report) => eprint!("{}", report.render(tty)),
        Error::Plan(crate::plan::PlanError::Foreign(items)) => {
            eprintln!(
                "error: the lab's names are taken by objects it does not own; nothing was changed:"
            );
            for (_, m) in items {
                eprintln!("  - {m}");
            }
            eprintln!("help: rename the lab's objects in the file, or remove the other objects if they are leftovers you own");
        }
        Error::Apply {
            failed,
            error,
            report,
        } => {
            eprintln!("error: apply failed at `{failed}`: {error}");
            eprint!("{}", render::outcome_text(report));
        }
        Error::Verify(left) => {
            eprintln!("error: {e}");
            eprint!("{}", plan_text(left, false));
        }
        _ => eprintln!("error: {e}"),
    }
}
