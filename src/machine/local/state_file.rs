//! What the kernel cannot hold for a lab: which host routes it added and the
//! values sysctls had before the lab changed them. /run/topo/LAB/state.json.

use crate::machine::LabState;
use std::io;
use std::path::PathBuf;

/// Where lab state and locks live; overridable for tests with TOPO_RUN_DIR.
pub fn run_dir() -> PathBuf {
    std::env::var_os("TOPO_RUN_DIR").map_or_else(|| PathBuf::from("/run/topo"), PathBuf::from)
}

fn file(lab: &str) -> PathBuf {
    run_dir().join(lab).join("state.json")
}

pub fn load(lab: &str) -> io::Result<LabState> {
    match std::fs::read(file(lab)) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", file(lab).display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LabState::default()),
        Err(e) => Err(e),
    }
}

/// Writes atomically (temp file + rename); removes the file when empty.
pub fn save(lab: &str, st: &LabState) -> io::Result<()> {
    let path = file(lab);
    if st.is_empty() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // The lab's folder goes with its last record (it may hold other
        // files: then it stays).
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().expect("state file has a folder"))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(st).expect("state serializes"),
    )?;
    std::fs::rename(tmp, path)
}

/// Labs with records here, in name order.
pub fn labs() -> Vec<String> {
    let mut labs: Vec<String> = std::fs::read_dir(run_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("state.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    labs.sort();
    labs
}
