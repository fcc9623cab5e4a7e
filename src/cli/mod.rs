//! The command line: clap definitions, one function per verb, and the exit
//! codes. Renderers of results live in `render`; the newer verbs each have a
//! file of their own (`exec`, `show`, `graph`, `gen` for completions and man
//! pages), and `progress` is the spinner of apply and destroy.

mod exec;
mod gen;
pub mod graph;
mod outcome;
mod progress;
mod render;
pub mod show;
mod test;

pub use render::{plan_json, plan_markdown, plan_text};

use outcome::{exit_code, failed_json, finish, report_error};

use crate::machine::Machine;
use crate::Error;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;

/// Exit codes (also in README and --help).
pub mod exit {
    /// Success; for `plan --detailed-exitcode`, no changes.
    pub const OK: i32 = 0;
    /// Invalid file, refused plan, or failed run.
    pub const ERROR: i32 = 1;
    /// `plan --detailed-exitcode`: changes are pending (never anything else).
    pub const CHANGES: i32 = 2;
    /// `exec`: topo itself failed before running the command (bad file,
    /// unknown node, missing namespace), as `env` and `docker run` do.
    pub const EXEC_FAILED: i32 = 125;
    /// `exec`: the command was found but could not be run.
    pub const EXEC_CANNOT_RUN: i32 = 126;
    /// `exec`: the command was not found.
    pub const EXEC_NOT_FOUND: i32 = 127;
}

const AFTER_HELP: &str = "\
Examples:
  topo validate lab.yaml            check the file, no kernel needed
  topo plan lab.yaml                show the changes apply would make
  topo plan --json lab.yaml         the same plan as a JSON document
  topo plan --format markdown lab.yaml   the plan as a pull-request comment
  topo apply lab.yaml               converge the kernel to the file
  gen-lab | topo apply -            the same, the lab read from standard input
  topo show lab.yaml                the lab as it is live, with drift
  topo test lab.yaml                run the file's tests: inside the live lab
  topo apply --test lab.yaml        apply, then test
  topo exec lab.yaml red -- ping -c1 10.0.0.2   run a command in node red
  topo graph lab.yaml --format svg -o lab.svg   draw the lab (Graphviz)
  topo destroy lab.yaml             remove everything the lab owns
  topo destroy --lab lab1           the same, without the file
  topo completions bash > /etc/bash_completion.d/topo
  topo man > topo.1                 the man page

Logging: -v (info), -vv (debug), -vvv (trace), -q (errors only), or
TOPO_LOG=<filter> (wins over -v/-q, e.g. TOPO_LOG=topo=debug). Logs go to
stderr; results, and every --json document, go to stdout.

Exit codes:
  0    success; plan --detailed-exitcode: no changes
  1    error: invalid file, plan refused, failed run, usage error
  2    plan --detailed-exitcode: changes are pending (nothing else)
  exec passes the command's exit code through (128+N when killed by signal N);
  125  exec: topo failed before running the command
  126  exec: the command cannot be run
  127  exec: the command was not found";

#[derive(Parser, Debug)]
#[command(name = "topo", version, about = "Declarative network labs for Linux: namespaces, bridges, veths, addresses, routes, sysctls", after_help = AFTER_HELP)]
pub struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr; apply and destroy print only their last line.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub verb: Verb,
}

/// How `plan` prints the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people, grouped by namespace (the default).
    Text,
    /// A versioned JSON document (schemas/plan.schema.json); same as --json.
    Json,
    /// A collapsed <details> block for a pull-request comment.
    Markdown,
}

/// What `graph` draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz source.
    Dot,
    /// A Mermaid flowchart (renders in GitHub markdown).
    Mermaid,
    /// SVG, drawn by Graphviz `dot`.
    Svg,
    /// PNG, drawn by Graphviz `dot`.
    Png,
}

#[derive(Subcommand, Debug)]
pub enum Verb {
    /// Check a lab file: every mistake with file, line and column.
    #[command(after_help = "Example: topo validate topologies/example.yaml")]
    Validate {
        /// The lab file; `-` reads it from standard input.
        file: String,
    },
    /// Show the ordered changes apply would make, without making them.
    #[command(after_help = "Examples:
  topo plan --detailed-exitcode topologies/example.yaml
  topo plan --format markdown topologies/example.yaml > plan.md")]
    Plan {
        /// The lab file; `-` reads it from standard input.
        file: String,
        /// Print the plan as a versioned JSON document (= --format json).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: PlanFormat,
        /// Exit 0 when there is nothing to do, 2 when changes are pending, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Also save the plan, with what it observed, for `topo apply FILE`.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out_file: Option<String>,
    },
    /// Converge the kernel to the file (or apply a saved plan exactly).
    #[command(after_help = "Example: topo apply topologies/example.yaml")]
    Apply {
        /// A lab file, or a plan saved by `topo plan -o`; `-` reads it from standard input.
        file: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// On failure, keep what was done instead of undoing it (for debugging).
        #[arg(long)]
        no_rollback: bool,
        /// Then run the file's tests (as `topo test`); exit 1 if one fails, the lab stays applied.
        #[arg(long, conflicts_with = "json")]
        test: bool,
        /// With --test: also write the test results as JUnit XML to this file.
        #[arg(long, value_name = "FILE", requires = "test")]
        junit: Option<String>,
    },
    /// Run the checks of the file's `tests:` inside the live lab: pings, TCP
    /// connects and UDP exchanges, with listeners that report what they see.
    #[command(after_help = "Examples:
  topo test topologies/example.yaml
  topo test --junit report.xml topologies/example.yaml   also JUnit XML for CI
  topo test --json topologies/example.yaml               a JSON document (schemas/test.schema.json)

Exit codes: 0 when every check passed, 1 when one failed or topo could not run them.")]
    Test {
        /// The lab file; `-` reads it from standard input.
        file: String,
        /// Print a JSON document instead of one line per check.
        #[arg(long)]
        json: bool,
        /// Also write the results as JUnit XML to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<String>,
        /// Checks in flight at once.
        #[arg(short, long, default_value_t = crate::probe::DEFAULT_JOBS as u16, value_parser = clap::value_parser!(u16).range(1..))]
        jobs: u16,
    },
    /// Remove everything the lab owns, and nothing else.
    #[command(
        after_help = "Example: topo destroy topologies/example.yaml  (or: topo destroy --lab example)"
    )]
    Destroy {
        /// The lab file; its `name:` selects the lab. `-` reads it from standard input.
        #[arg(required_unless_present = "lab", conflicts_with = "lab")]
        file: Option<String>,
        /// Destroy a lab by name, without its file.
        #[arg(long)]
        lab: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show the lab as it is live in the kernel: nodes, interfaces, NAT and
    /// filter rules, each with its status against the file.
    #[command(after_help = "Examples:
  topo show topologies/example.yaml         status: ok, drifted, missing or extra
  topo show --lab example                   without the file (status: present)
  topo show --json topologies/example.yaml")]
    Show {
        /// The lab file; statuses compare the kernel with it. `-` reads it from standard input.
        #[arg(required_unless_present = "lab", conflicts_with = "lab")]
        file: Option<String>,
        /// Show a lab by name, without its file.
        #[arg(long)]
        lab: Option<String>,
        /// Print a JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Run a command inside a node's network namespace, by node name.
    ///
    /// The command runs exactly as given (no shell); its exit code is topo's.
    #[command(after_help = "Examples:
  topo exec topologies/example.yaml red -- ping -c1 10.10.0.3
  topo exec topologies/example.yaml blue -- sh -c 'ip -br addr; ip route'

Exit codes: the command's own (128+N when killed by signal N); 125 when topo
fails before running it (invalid file, unknown node, missing namespace); 126
when it cannot be run; 127 when it is not found.")]
    Exec {
        /// The lab file; `-` reads it from standard input (which the command then finds at its end).
        file: String,
        /// A node of the lab.
        node: String,
        /// The command and its arguments, after `--`.
        #[arg(required = true, last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Draw the lab from the file: nodes, bridges, links with interface
    /// names and addresses. Needs no kernel.
    #[command(after_help = "Examples:
  topo graph topologies/example.yaml                   Graphviz source
  topo graph topologies/example.yaml --format mermaid  for a markdown file
  topo graph topologies/example.yaml --format svg -o lab.svg")]
    Graph {
        /// The lab file; `-` reads it from standard input.
        file: String,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        /// Write to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<String>,
    },
    /// Print the JSON Schema of the lab file.
    Schema,
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  topo completions bash > /etc/bash_completion.d/topo
  topo completions zsh > \"${fpath[1]}/_topo\"
  topo completions fish > ~/.config/fish/completions/topo.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, made from this command line's definition.
    #[command(after_help = "Examples:
  topo man | man -l -
  topo man --dir /usr/local/share/man/man1   one page per verb")]
    Man {
        /// Write topo.1 and one topo-VERB.1 per verb into this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<String>,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    // Usage errors exit 1, as Terraform's do: 2 always means "changes
    // pending" under `plan --detailed-exitcode`. Help and version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    let out = Output { quiet: cli.quiet };
    // exec replaces this process: it runs before any runtime thread exists.
    if let Verb::Exec {
        file,
        node,
        command,
    } = &cli.verb
    {
        return exec::run(file, node, command);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(cli.verb, out)) {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            exit_code(&e)
        }
    }
}

/// Logs on stderr: TOPO_LOG when set, else the level of -v/-q.
fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("TOPO_LOG").unwrap_or_else(|_| level.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// What the global flags say about output.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    quiet: bool,
}

impl Output {
    /// A notice about the run (a wait for the lab's lock), on stderr unless `-q`.
    pub(crate) fn notify(&self, msg: &str) {
        if !self.quiet {
            eprintln!("topo: {msg}");
        }
    }
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

async fn run(verb: Verb, out: Output) -> Result<i32, Error> {
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
                "{}: valid lab `{}` ({} nodes, {} objects)",
                l.file,
                v.model.lab,
                v.model.nodes.len(),
                v.model.state.len()
            );
            Ok(exit::OK)
        }
        Verb::Plan {
            file,
            json,
            format,
            detailed_exitcode,
            out_file,
        } => {
            let l = crate::load(&file)?;
            let s = prepare_with_warnings(&l, out).await?;
            if let Some(path) = &out_file {
                let doc = serde_json::to_string_pretty(&crate::save_plan(&s, &l.file))
                    .expect("saved plan serializes");
                std::fs::write(path, doc + "\n").map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                })?;
                eprintln!("Saved the plan to {path}: `topo apply {path}` applies exactly these actions, or refuses if the kernel has changed.");
            }
            tracing::info!(lab = %s.plan.lab, actions = s.plan.actions.len(), "planned");
            match if json { PlanFormat::Json } else { format } {
                PlanFormat::Json => println!("{}", plan_json(&s.plan)),
                PlanFormat::Text => print!("{}", plan_text(&s.plan, color())),
                PlanFormat::Markdown => print!("{}", plan_markdown(&s.plan)),
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
            test,
            junit,
        } => {
            let mut lab = None;
            let s = match crate::load_input(&file)? {
                crate::Input::Saved(_) if test => {
                    eprintln!("error: `--test` needs the lab file: a saved plan carries no tests\nhelp: topo apply {file} && topo test LAB.yaml");
                    return Ok(exit::ERROR);
                }
                crate::Input::Saved(saved) => {
                    crate::prepare_saved(&saved, &|m| out.notify(m)).await?
                }
                crate::Input::Lab(l) => {
                    let s = prepare_with_warnings(&l, out).await?;
                    lab = Some(l);
                    s
                }
            };
            let model = s.model.clone();
            tracing::info!(lab = %s.plan.lab, actions = s.plan.actions.len(), "planned");
            if !json && !out.quiet {
                print!("{}", plan_text(&s.plan, color()));
            }
            let spinner =
                progress::Spinner::start("Applying", s.plan.actions.len(), json || out.quiet);
            // A first SIGINT or SIGTERM stops the run after the step in
            // flight, with rollback and the usual summary.
            let mut s = s;
            s.machine.catch_signals();
            let options = crate::apply::Options {
                rollback: !no_rollback,
                verify: true,
                ..Default::default()
            };
            let report = crate::apply(s, options).await;
            drop(spinner);
            let report = report.inspect_err(|e| failed_json(e, json))?;
            finish(&report, json, "Apply");
            match lab {
                Some(l) if test => {
                    let args = test::Args {
                        json,
                        junit,
                        jobs: crate::probe::DEFAULT_JOBS,
                    };
                    test::after_apply(&l, &model, &args, out).await
                }
                _ => Ok(exit::OK),
            }
        }
        Verb::Test {
            file,
            json,
            junit,
            jobs,
        } => {
            let jobs = usize::from(jobs);
            test::run(&file, &test::Args { json, junit, jobs }, out).await
        }
        Verb::Destroy { file, lab, json } => {
            let lab = match (file, lab) {
                (_, Some(lab)) => lab,
                (Some(file), None) => crate::lab_name_of(&crate::load(&file)?)?,
                (None, None) => unreachable!("clap requires one"),
            };
            let s = crate::prepare_destroy(&lab, &|m| out.notify(m)).await?;
            tracing::info!(lab = %s.plan.lab, actions = s.plan.actions.len(), "planned");
            // Nothing of the lab here: say so, and succeed (destroy is idempotent).
            if crate::is_absent(&s.observed) && !json {
                drop(s);
                crate::forget_lab(&lab);
                println!("Nothing to destroy: no lab named `{lab}` on this machine.");
                return Ok(exit::OK);
            }
            if !json && !out.quiet {
                print!("{}", plan_text(&s.plan, color()));
            }
            let spinner =
                progress::Spinner::start("Destroying", s.plan.actions.len(), json || out.quiet);
            // Destroy keeps going forward: undoing a half-done destroy would
            // only rebuild what the user wants gone.
            let mut s = s;
            s.machine.catch_signals();
            let options = crate::apply::Options {
                rollback: false,
                verify: true,
                ..Default::default()
            };
            let report = crate::apply(s, options).await;
            drop(spinner);
            let report = report.inspect_err(|e| failed_json(e, json))?;
            crate::forget_lab(&lab);
            finish(&report, json, "Destroy");
            Ok(exit::OK)
        }
        Verb::Schema => {
            print!("{}", crate::spec::json_schema());
            Ok(exit::OK)
        }
        Verb::Show { file, lab, json } => {
            show::run(file.as_deref(), lab.as_deref(), json, out).await
        }
        Verb::Graph {
            file,
            format,
            output,
        } => graph::run(&file, format, output.as_deref()),
        Verb::Completions { shell } => {
            gen::completions(shell);
            Ok(exit::OK)
        }
        Verb::Man { dir } => gen::man(dir.as_deref()),
        Verb::Exec { .. } => unreachable!("exec runs before the runtime starts"),
    }
}

/// Locks, observes and plans; prints the file's warnings on stderr.
async fn prepare_with_warnings(l: &crate::Loaded, out: Output) -> Result<crate::Session, Error> {
    let mut s = crate::prepare(l, &|m| out.notify(m)).await?;
    let warnings = std::mem::take(&mut s.warnings);
    if !warnings.is_empty() {
        eprint!(
            "{}",
            l.report(warnings).render(std::io::stderr().is_terminal())
        );
    }
    Ok(s)
}
