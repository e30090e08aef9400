//! Snapshots: export everything as JSON (`GET /_azemu/state`), import it
//! (`PUT /_azemu/state`), and `--state-file F` (loaded at start, saved atomically at stop).

use crate::entra::Principal;
use crate::store::Record;
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FORMAT: &str = "azemu-state/1";

#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: String,
    /// The clock when the snapshot was taken.
    pub time: String,
    pub records: Vec<Record>,
    pub principals: Vec<Principal>,
}

pub fn export(w: &World) -> Snapshot {
    let (records, principals) = w.export();
    Snapshot {
        format: FORMAT.to_string(),
        time: crate::arm::time::rfc3339(w.now()),
        records,
        principals,
    }
}

/// Replaces all state with `snap`. Running operations are forgotten.
pub fn import(w: &World, snap: Snapshot) -> Result<(), String> {
    if snap.format != FORMAT {
        return Err(format!(
            "unknown snapshot format '{}' (expected '{FORMAT}')",
            snap.format
        ));
    }
    w.import(snap.records, snap.principals);
    Ok(())
}

/// Writes `path` atomically: a temporary file in the same folder, synced, then renamed.
pub fn save_to(w: &World, path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(&export(w))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

pub fn load_from(w: &World, path: &Path) -> std::io::Result<()> {
    let text = std::fs::read(path)?;
    let snap: Snapshot =
        serde_json::from_slice(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    import(w, snap).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// `--state-file`: load it at start when it exists.
pub fn load_at_start(w: &World) -> std::io::Result<()> {
    match &w.config.state_file {
        Some(p) if p.exists() => load_from(w, p),
        _ => Ok(()),
    }
}

/// `--state-file`: save it at stop.
pub fn save_at_stop(w: &World) {
    if let Some(p) = &w.config.state_file {
        if let Err(e) = save_to(w, p) {
            tracing::error!(error = %e, path = %p.display(), "could not save the state file");
        }
    }
}
