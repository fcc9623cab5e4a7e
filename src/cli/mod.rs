//! The command line: clap definitions, one function per verb, and the exit
//! codes. Renderers of results live in `render`; the newer verbs each have a
//! file of their own (`exec`, `show`, `graph`, `gen` for completions and man
//! pages), and `progress` is the spinner of apply and destroy.

mod args;
pub(crate) mod exec;
mod fleet;
mod gen;
pub mod graph;
mod new;
mod outcome;
mod progress;
mod render;
pub mod show;
mod test;
mod validate;
mod watch;

pub use render::{plan_json, plan_markdown, plan_text};

use outcome::{exit_code, failed_json, finish, report_error};

use crate::machine::Machine;
use crate::Error;
pub use args::{exit, Cli, GraphFormat, HostArgs, PlanFormat, Verb};
use clap::Parser;
use std::io::IsTerminal;

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
    if cli.hosts.say_version {
        // First of all, before any input is read: what `--all-hosts`
        // checks before it sends this host anything (`remote::session`).
        println!("{}", crate::remote::version_line());
    }
    crate::input::set_framed(cli.hosts.framed);
    // Leaked once: every verb's output settings stay one small Copy value.
    let host: Option<&'static str> = cli
        .hosts
        .host
        .clone()
        .map(|h| &*Box::leak(h.into_boxed_str()));
    let out = Output {
        quiet: cli.quiet,
        host,
    };
    // exec replaces this process: it runs before any runtime thread exists.
    if let Verb::Exec {
        file,
        node,
        command,
    } = &cli.verb
    {
        return exec::run(file, node, command, &cli.hosts);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = if cli.hosts.all_hosts {
        fleet::run(cli.verb, &cli.hosts, out)
    } else {
        rt.block_on(run(cli.verb, out))
    };
    match result {
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
    /// `--host`: the host of a lab across machines this one is.
    host: Option<&'static str>,
}

impl Output {
    /// Reads a lab file as this machine runs it: with `hosts:`, the share
    /// of `--host`.
    pub(crate) fn load(&self, file: &str) -> Result<crate::Loaded, Error> {
        crate::load(file)?.for_host(self.host)
    }

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
        Verb::Validate {
            file,
            show_addresses,
        } => validate::run(&file, show_addresses, out),
        Verb::Plan {
            file,
            json,
            format,
            detailed_exitcode,
            out_file,
        } => {
            let l = out.load(&file)?;
            let s = prepare_with_warnings(&l, out).await?;
            if let Some(path) = &out_file {
                let doc = serde_json::to_string_pretty(&crate::save_plan(&s, &l.file))
                    .expect("saved plan serializes");
                if path == crate::STDIN_ARG {
                    println!("{doc}");
                    return Ok(exit::OK);
                }
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
            hold,
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
                    let l = Box::new(l.for_host(out.host)?);
                    let s = prepare_with_warnings(&l, out).await?;
                    if test {
                        lab = Some(l);
                    }
                    s
                }
            };
            // Kept for `--test` only: a second model is a few MiB at 1000 nodes.
            let model = test.then(|| s.model.clone());
            tracing::info!(lab = %s.plan.lab, actions = s.plan.actions.len(), "planned");
            if hold {
                crate::remote::hold::announce(&s.plan);
            }
            if hold && !crate::remote::hold::ask(crate::remote::hold::READY, "go") {
                eprintln!("error: not applied: another host of the lab could not apply; nothing was changed here");
                return Ok(exit::ERROR);
            }
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
                hold: hold.then_some(held as fn() -> bool),
                ..Default::default()
            };
            let report = crate::apply(s, options).await;
            drop(spinner);
            let report = report.inspect_err(|e| failed_json(e, json))?;
            finish(&report, json, "Apply");
            match (lab, model) {
                (Some(l), Some(model)) => {
                    let args = test::Args {
                        json,
                        junit,
                        jobs: crate::probe::DEFAULT_JOBS,
                        pingall: false,
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
            pingall,
        } => {
            let jobs = usize::from(jobs);
            let args = test::Args {
                json,
                junit,
                jobs,
                pingall,
            };
            test::run(&file, &args, out).await
        }
        Verb::Destroy { file, lab, json } => {
            let lab = match (file, lab) {
                (_, Some(lab)) => lab,
                (Some(file), None) => crate::lab_name_of(&out.load(&file)?)?,
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
        Verb::Watch {
            file,
            debounce_ms,
            max_repairs,
        } => {
            let args = watch::Args {
                file,
                debounce: std::time::Duration::from_millis(debounce_ms),
                max_repairs: max_repairs as usize,
            };
            watch::run(args, out).await
        }
        Verb::New { shape, name } => Ok(new::run(&shape, name.as_deref())),
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
        } => graph::run(&file, format, output.as_deref(), out.host),
        Verb::Completions { shell } => {
            gen::completions(shell);
            Ok(exit::OK)
        }
        Verb::Man { dir } => gen::man(dir.as_deref()),
        Verb::Exec { .. } => unreachable!("exec runs before the runtime starts"),
    }
}

/// A held apply (across hosts) keeps its result only on the coordinator's word.
fn held() -> bool {
    crate::remote::hold::ask(crate::remote::hold::HELD, "commit")
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
