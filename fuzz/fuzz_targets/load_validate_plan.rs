//! Any text through the kernel-free half of topo: load (parse) → validate
//! (build the model) → plan against an empty kernel → render as text and
//! JSON. None of it may panic, whatever the input; errors are fine.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Lab files are read with read_to_string: non-UTF-8 never gets further.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let spec = match topo::spec::load_str("fuzz.yaml", text) {
        Ok(s) => s,
        Err(e) => {
            // The diagnostics are rendered for the user: that must not panic either.
            let _ = e.report.render(false);
            return;
        }
    };
    let model = match topo::model::build(&spec, &topo::model::Prior::new()) {
        Ok(v) => v.model,
        Err(diagnostics) => {
            let report = topo::diag::Report {
                file: "fuzz.yaml".into(),
                source: text.into(),
                diagnostics,
            };
            let _ = report.render(false);
            return;
        }
    };
    let plan = match topo::plan::diff(
        &model.lab,
        &model.state,
        &topo::observe::Observed::default(),
    ) {
        Ok(p) => p,
        Err(_) => return,
    };
    let _ = topo::cli::plan_text(&plan, false);
    let _ = topo::cli::plan_json(&plan);
});
