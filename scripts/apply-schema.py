#!/usr/bin/env python3
"""Writes schemas/apply.schema.json from schemas/plan.schema.json.

The result of `topo apply --json` and `topo destroy --json` is the plan
document with a status per action and three more fields, so its schema is
the plan schema's definitions plus `applied_action` (= `action` with
`status`). Run this after changing schemas/plan.schema.json:

    python3 scripts/apply-schema.py

tests/schema.rs (apply_schema_is_the_plan_schema_plus_a_status) fails when
the two have drifted apart.
"""
import copy
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
plan = json.loads((root / "schemas/plan.schema.json").read_text())

defs = copy.deepcopy(plan["$defs"])
applied = copy.deepcopy(plan["$defs"]["action"])
applied["description"] = "One step of the plan, with what became of it: the plan schema's `action` plus `status`."
applied["required"] = applied["required"] + ["status"]
applied["properties"]["status"] = {
    "description": "done; failed (the step that stopped the run, with the error on stderr); not attempted (after the failure).",
    "enum": ["done", "failed", "not attempted"],
}
defs["applied_action"] = applied

doc = {
    "$schema": plan["$schema"],
    "title": "topo apply result",
    "description": "The document `topo apply --json` and `topo destroy --json` print: the plan that was run, each action with its status, the kernel write requests sent, and after a failure what rollback undid. Printed on success (exit 0) and, with the error on stderr, after a failed run (exit 1). Made by scripts/apply-schema.py from plan.schema.json: its $defs are the plan schema's plus `applied_action` (= `action` with `status`), which tests/schema.rs checks. `format_version` is the plan document's.",
    "type": "object",
    "required": ["format_version", "lab", "actions", "summary", "writes", "undone", "not_undone", "not_ready"],
    "additionalProperties": False,
    "properties": {
        "format_version": plan["properties"]["format_version"],
        "lab": plan["properties"]["lab"],
        "actions": {
            "description": "The plan's steps, in the order they ran (or would have).",
            "type": "array",
            "items": {"$ref": "#/$defs/applied_action"},
        },
        "summary": {"$ref": "#/$defs/summary"},
        "writes": {
            "description": "Kernel write requests sent (netlink, namespace, sysctl, nft): 0 when the lab already matched the file.",
            "type": "integer",
            "minimum": 0,
        },
        "undone": {
            "description": "After a failure: the steps rollback undid, newest first. Empty after a success, and after `--no-rollback` or a destroy (which never rolls back).",
            "type": "array",
            "items": {"type": "string"},
        },
        "not_undone": {
            "description": "After a failure: the steps rollback could not undo, each with why.",
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step", "error"],
                "additionalProperties": False,
                "properties": {"step": {"type": "string"}, "error": {"type": "string"}},
            },
        },
        "not_ready": {
            "description": "Interfaces (`NS:NAME`) that carried no traffic yet when apply stopped waiting for them; the kernel matches the file all the same (a warning on stderr says so).",
            "type": "array",
            "items": {"type": "string"},
        },
    },
    "$defs": defs,
}
(root / "schemas/apply.schema.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
