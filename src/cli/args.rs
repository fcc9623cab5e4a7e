//! The command line's definition (clap derive): verbs, flags, exit codes.

use clap::{Parser, Subcommand, ValueEnum};

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
    #[command(flatten)]
    pub hosts: HostArgs,
    #[command(subcommand)]
    pub verb: Verb,
}

/// Which machines of a lab across several (a file with `hosts:`) a verb
/// runs on.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HostArgs {
    /// A lab across machines: run the share of host HOST, here (on HOST itself).
    #[arg(long, global = true, value_name = "HOST")]
    pub host: Option<String>,
    /// A lab across machines: run every host's share over ssh, all at once (apply: everywhere or nowhere).
    #[arg(long, global = true, conflicts_with = "host")]
    pub all_hosts: bool,
    /// With --all-hosts: the ssh client configuration (`ssh -F FILE`); the user's own by default.
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_config: Option<std::path::PathBuf>,
    /// A file argument `-` is one frame (its length on a line, then the
    /// text), so standard input goes on after it (used by --all-hosts).
    #[arg(long, global = true, hide = true)]
    pub framed: bool,
    /// Print the `--version` line on standard output before anything
    /// else (used by --all-hosts to check each host's topo in the
    /// session that does the work).
    #[arg(long, global = true, hide = true)]
    pub say_version: bool,
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
    #[command(after_help = "Examples:
  topo validate topologies/example.yaml
  topo validate --show-addresses topologies/ring-3-routers.yaml   every address, and where it comes from")]
    Validate {
        /// The lab file; `-` reads it from standard input.
        file: String,
        /// Also print every address of the lab, written or allocated (networks, pools), as a fresh apply would give them.
        #[arg(long)]
        show_addresses: bool,
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
        /// Also save the plan, with what it observed, for `topo apply FILE`; `-o -` prints only that.
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
        /// Across hosts: wait for the coordinator's word before applying,
        /// and again before keeping the result (`remote::hold`).
        #[arg(
            long,
            hide = true,
            requires = "host",
            requires = "framed",
            requires = "json"
        )]
        hold: bool,
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
        /// Also ping from every node to every other (each to its first
        /// address), as Mininet's `pingall`: no list to write.
        #[arg(long)]
        pingall: bool,
    },
    /// Apply, then keep the lab as the file says: drift repaired as it
    /// happens, edits of the file applied. Stops on SIGINT/SIGTERM, leaving
    /// the lab applied.
    #[command(after_help = "Examples:
  topo watch topologies/example.yaml
  topo watch --debounce-ms 500 lab.yaml     wait longer for quiet after a change

It holds no lab lock while idle: `topo plan` and `topo show` run beside it,
and a `topo apply` of the same lab waits for a repair in flight, then runs.
docs/watch.md has a systemd unit.")]
    Watch {
        /// The lab file (a path: it is read again when it changes).
        file: String,
        /// How long the lab must be quiet after a change before the repair.
        #[arg(long, default_value_t = 200, value_name = "MS")]
        debounce_ms: u64,
        /// An object changed back more than this many times in a minute is left alone.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
        max_repairs: u64,
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
    /// Write a lab file of a common shape to standard output (Mininet's and
    /// netlab's), written with ranges, address pools, roles and derived routes.
    #[command(after_help = "Examples:
  topo new tree --depth 2 --fanout 3 > tree.yaml    Mininet's --topo tree,depth=2,fanout=3
  topo new ring --nodes 5 > ring.yaml && topo apply --test ring.yaml")]
    New {
        #[command(subcommand)]
        shape: Shape,
        /// The lab's name (default: the shape and its sizes, e.g. tree-2-3).
        #[arg(long, global = true)]
        name: Option<String>,
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

/// The shapes `topo new` writes. Sizes are bounded so that the lab stays
/// within what one machine holds (a bridge takes 1024 ports), and so that
/// there are two hosts to ping each other.
#[derive(Subcommand, Debug, Clone)]
pub enum Shape {
    /// One switch with N hosts (Mininet's single,N).
    Single {
        /// Hosts on the switch.
        #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1000))]
        nodes: u32,
    },
    /// N switches in a line, a host on each (Mininet's linear,N).
    Linear {
        /// Switches, and hosts (one on each).
        #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1000))]
        nodes: u32,
    },
    /// Switches in a tree, FANOUT children each, hosts under the last level (Mininet's tree,depth=D,fanout=F).
    Tree {
        /// Levels of switches.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=12))]
        depth: u32,
        /// Children of every switch: switches, or hosts under the last level.
        #[arg(long, value_parser = clap::value_parser!(u32).range(2..=64))]
        fanout: u32,
    },
    /// N routers in a ring, a host on each; static routes derived.
    Ring {
        /// Routers in the ring (a host on each).
        #[arg(long, value_parser = clap::value_parser!(u32).range(3..=500))]
        nodes: u32,
    },
    /// One router with N hosts, each on its own link.
    Star {
        /// Hosts around the router.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
        nodes: u32,
    },
    /// Leaf and spine: every leaf linked to every spine, HOSTS on each leaf's bridge; static routes derived.
    Clos {
        /// Spine routers.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
        spines: u32,
        /// Leaf routers, each linked to every spine.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
        leaves: u32,
        /// Hosts on each leaf's bridge.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=250))]
        hosts: u32,
    },
}
