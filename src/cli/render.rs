//! Plans and results for people (text) and for programs (JSON).

use crate::model::{Ns, Res};
use crate::plan::{Action, Op, Plan};
use crate::ApplyReport;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Version of the JSON plan document; bumped on incompatible changes
/// (2: a MAC is the text `aa:bb:cc:dd:ee:ff`, no longer a list of bytes).
pub const PLAN_FORMAT_VERSION: u32 = 2;

fn sigil(op: Op) -> &'static str {
    match op {
        Op::Create => "+",
        Op::Update => "~",
        Op::Replace => "-/+",
        Op::Delete => "-",
    }
}

fn paint(s: &str, op: Op, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match op {
        Op::Create => "32",
        Op::Update => "33",
        Op::Replace => "35",
        Op::Delete => "31",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// What follows an action's head: the object in a few words, why it is
/// replaced, and whether the difference was made outside topo.
fn notes(a: &Action, res: &str) -> String {
    let mut s = String::new();
    if !res.is_empty() && a.op != Op::Update {
        s += &format!("  ({res})");
    }
    match (&a.reason, a.op) {
        (Some(r), Op::Replace) => s += &format!("  [replace: {r}]"),
        (Some(r), _) => s += &format!("  [{r}]"),
        (None, _) => {}
    }
    if a.drift {
        s += "  [drift: changed outside topo]";
    }
    s
}

/// The plan for people: grouped by namespace, `+` create, `-` delete,
/// `~` change with `attr: before → after`, `-/+` replace with the reason,
/// and a closing summary line.
pub fn plan_text(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(out, "No changes. Lab `{}` matches the file.", plan.lab);
        return out;
    }
    let _ = writeln!(out, "Plan for lab `{}`:", plan.lab);
    let mut groups: BTreeMap<Ns, Vec<&Action>> = BTreeMap::new();
    for a in &plan.actions {
        groups.entry(a.id().ns()).or_default().push(a);
    }
    for (ns, actions) in groups {
        let _ = writeln!(
            out,
            "\n  {}",
            if ns == Ns::Host {
                "host".to_string()
            } else {
                format!("node {ns}")
            }
        );
        for a in actions {
            let res = describe(a);
            let head = format!("{:>3} {}", sigil(a.op), a.id());
            let line = paint(&head, a.op, color) + &notes(a, &res);
            let _ = writeln!(out, "    {line}");
            for c in &a.changes {
                let _ = writeln!(out, "          {}: {} → {}", c.attr, c.before, c.after);
            }
        }
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "\nPlan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    );
    out
}

/// What the object will be (or was), in a few words.
fn describe(a: &Action) -> String {
    a.after()
        .or_else(|| a.before())
        .map(|r| r.describe())
        .unwrap_or_default()
}

/// One action as a line: sigil, object, and what it will be (or why it is
/// replaced); then one line per changed attribute.
fn action_lines(a: &Action, sigil: &str) -> Vec<String> {
    let res = describe(a);
    let line = format!("{sigil} {}", a.id()) + &notes(a, &res);
    let mut out = vec![line];
    for c in &a.changes {
        out.push(format!("      {}: {} → {}", c.attr, c.before, c.after));
    }
    out
}

/// The plan as a pull-request comment: a summary line that stays visible and
/// the actions in a collapsed `<details>` block, one `diff` code block per
/// namespace, so creates show green and deletes red. Changes in place are
/// marked `!` (highlighted as a change), replaces `-/+` (a delete first).
pub fn plan_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "**topo plan** for lab `{}`: no changes. The lab matches the file.",
            plan.lab
        );
        return out;
    }
    let s = plan.summary();
    let destroy = if s.destroy > 0 {
        format!("<b>{} to destroy</b>", s.destroy)
    } else {
        "0 to destroy".to_string()
    };
    let _ = writeln!(out, "<details>");
    let _ = writeln!(
        out,
        "<summary><b>topo plan</b> for lab <code>{}</code>: {} to add, {} to change, {destroy}</summary>",
        html_escape(&plan.lab),
        s.add,
        s.change,
    );
    let mut groups: BTreeMap<Ns, Vec<&Action>> = BTreeMap::new();
    for a in &plan.actions {
        groups.entry(a.id().ns()).or_default().push(a);
    }
    for (ns, actions) in groups {
        let title = if ns == Ns::Host {
            "host".to_string()
        } else {
            format!("node `{ns}`")
        };
        let _ = writeln!(out, "\n#### {title}\n\n```diff");
        for a in actions {
            let sigil = match a.op {
                Op::Update => "!",
                op => sigil(op),
            };
            for l in action_lines(a, sigil) {
                let _ = writeln!(out, "{l}");
            }
        }
        let _ = writeln!(out, "```");
    }
    let _ = writeln!(
        out,
        "\n`+` create, `-` delete, `!` change in place, `-/+` replace. Actions run in plan order, deletes first.\n</details>"
    );
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A resource as JSON; a rule's statements (kept as text) become JSON again,
/// and `null` where only the kernel's copy, compared by comment, is known.
fn res_json(r: &Option<Res>) -> Value {
    r.as_ref().map_or(Value::Null, Res::to_json)
}

pub(crate) fn action_json(a: &Action) -> Value {
    json!({
        "op": a.op,
        "kind": a.id().kind(),
        "namespace": a.id().ns().label(),
        "address": a.id().to_string(),
        "id": a.id(),
        "before": res_json(&a.before()),
        "after": res_json(&a.after()),
        "changes": a.changes,
        "reason": a.reason,
        "drift": a.drift,
    })
}

/// The plan for programs: versioned, actions in execution order.
pub fn plan_json(plan: &Plan) -> String {
    // `{:#}` prints a JSON value as `to_string_pretty` does, and cannot fail.
    format!("{:#}", plan_doc(plan))
}

/// The plan document `plan_json` prints.
pub fn plan_doc(plan: &Plan) -> serde_json::Value {
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "lab": plan.lab,
        "actions": plan.actions.iter().map(action_json).collect::<Vec<_>>(),
        "summary": plan.summary(),
    })
}

pub(crate) fn report_json(r: &ApplyReport) -> Value {
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "lab": r.plan.lab,
        "actions": r.plan.actions.iter().enumerate().map(|(i, a)| {
            let mut v = action_json(a);
            v["status"] = json!(status(r, i));
            v
        }).collect::<Vec<_>>(),
        "summary": r.plan.summary(),
        "writes": r.writes,
        "undone": r.undone,
        "not_undone": r.not_undone.iter().map(|(w, e)| json!({"step": w, "error": e})).collect::<Vec<_>>(),
        "not_ready": r.not_ready,
    })
}

fn status(r: &ApplyReport, i: usize) -> &'static str {
    if r.done.contains(&i) {
        "done"
    } else if r.failed == Some(i) {
        "failed"
    } else {
        "not attempted"
    }
}

/// After a failed run: which actions succeeded, failed, or were not tried,
/// and what rollback undid or could not undo.
pub(crate) fn outcome_text(r: &ApplyReport) -> String {
    let mut out = String::new();
    for (i, a) in r.plan.actions.iter().enumerate() {
        let _ = writeln!(out, "  {:<14} {} {}", status(r, i), sigil(a.op), a.id());
    }
    if !r.undone.is_empty() || !r.not_undone.is_empty() {
        let _ = writeln!(out, "Rollback:");
        for u in &r.undone {
            let _ = writeln!(out, "  undone         {u}");
        }
        for (u, why) in &r.not_undone {
            let _ = writeln!(out, "  NOT undone     {u}: {why}");
        }
    } else if !r.done.is_empty() {
        let _ = writeln!(out, "Nothing was rolled back: the done steps stay.");
    }
    out
}
