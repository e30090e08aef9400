//! Snapshots: export everything as JSON (`GET /_azemu/state`), import it
//! (`PUT /_azemu/state`), and `--state-file F`: loaded at start, saved at stop, and saved
//! every `--state-save-interval` while state changes, so a crash loses at most that interval
//! plus the time one save takes.
//!
//! The file holds cluster keys and tokens: it is written owner-only (0600), through a
//! temporary file in the same folder that is synced and renamed over it, so a reader (or a
//! crash) sees the old file or the new one, never half of one. Temporary files a crash left
//! behind are removed at start.

use crate::entra::Principal;
use crate::store::Record;
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub(crate) const FORMAT: &str = "azemu-state/1";

/// The deepest JSON a request body may nest. Azure's request schemas nest far less; the
/// bound keeps every stored body, once wrapped in a snapshot (records, record, body, and the
/// few levels providers add), well inside the 128 levels a snapshot may have when read back,
/// so whatever azemu accepted it can also load again.
pub(crate) const MAX_BODY_DEPTH: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub(crate) format: String,
    /// The clock when the snapshot was taken.
    pub(crate) time: String,
    pub(crate) records: Vec<Record>,
    pub(crate) principals: Vec<Principal>,
}

pub(crate) fn export(w: &World) -> Snapshot {
    let (records, principals) = w.export();
    Snapshot {
        format: FORMAT.to_string(),
        time: crate::arm::time::rfc3339(w.now()),
        records,
        principals,
    }
}

/// Replaces all state with `snap`. Running operations are forgotten.
pub(crate) fn import(w: &World, snap: Snapshot) -> Result<(), String> {
    if snap.format != FORMAT {
        return Err(format!(
            "unknown snapshot format '{}' (expected '{FORMAT}')",
            snap.format
        ));
    }
    check_records(&snap.records)?;
    w.import(snap.records, snap.principals);
    Ok(())
}

/// A snapshot's records must be ones azemu could have written: absolute ids of at least two
/// plain segments (no empty, `.`/`..` or control-character segment), subscriptions named by
/// GUIDs, a type, and each id once. Anything else would be a record no request can reach, or
/// one that breaks the code that reads ids.
fn check_records(records: &[Record]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    for r in records {
        let bad = |why: &str| {
            Err(format!(
                "record '{}': {why}",
                r.id.chars().take(200).collect::<String>()
            ))
        };
        let segs: Vec<&str> = r.id.split('/').skip(1).collect();
        if !r.id.starts_with('/') || segs.len() < 2 {
            return bad("an id is an absolute path of at least two segments");
        }
        if segs
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == ".." || s.chars().any(char::is_control))
        {
            return bad("an id has no empty, '.', '..' or control-character segment");
        }
        if segs[0].eq_ignore_ascii_case("subscriptions") && !crate::arm::id::is_guid(segs[1]) {
            return bad("a subscription id is a GUID");
        }
        if r.kind.trim().is_empty() {
            return bad("a record has a type");
        }
        if !seen.insert(crate::arm::id::key(&r.id)) {
            return bad("the id appears twice");
        }
    }
    Ok(())
}

/// How deep `bytes` (JSON) nests, counting arrays and objects outside strings. Stops counting
/// once past `limit` (the answer is then `limit + 1`).
pub(crate) fn json_depth(bytes: &[u8], limit: usize) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    max = depth;
                    if max > limit {
                        return limit + 1;
                    }
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Whether state changed since the last save, and one saver at a time.
#[derive(Default)]
pub(crate) struct Persistence {
    changes: AtomicU64,
    saved: AtomicU64,
    saving: Mutex<()>,
    /// A save waits for the write gate: writers hold back until it has it (a stream of
    /// back-to-back writes would otherwise starve it, and a crash would lose more than the
    /// interval).
    waiting: std::sync::atomic::AtomicBool,
}

impl Persistence {
    /// Notes that state may have changed.
    pub(crate) fn touch(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits (asynchronously) while a save is waiting for the write gate. Writers call it
    /// before they write.
    pub(crate) async fn let_saver_in(&self) {
        while self.waiting.load(Ordering::Acquire) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    fn dirty(&self) -> bool {
        self.changes.load(Ordering::Relaxed) != self.saved.load(Ordering::Relaxed)
    }
}

/// The temporary files of `path` (`.{name}.tmp-…` beside it).
fn tmp_prefix(path: &Path) -> String {
    format!(
        ".{}.tmp-",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    )
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` atomically and owner-only: a new temporary file (0600) in the same
/// folder, synced, renamed over `path`; on failure the temporary file is removed.
pub(crate) fn write_atomic_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = folder_of(path).join(format!(
        "{}{}-{}",
        tmp_prefix(path),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the folder is synced.
        if let Ok(dir) = std::fs::File::open(folder_of(path)) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Saves the whole state to `path` (see [`write_atomic_private`]).
pub(crate) fn save_to(w: &World, path: &Path) -> std::io::Result<()> {
    let _one = super::harness(w)
        .persistence
        .saving
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let t0 = std::time::Instant::now();
    let (snap, at) = {
        // A consistent cut: `export` holds the write gate, so no write is half-done in it.
        let at = super::harness(w).persistence.changes.load(Ordering::Relaxed);
        super::harness(w).persistence.waiting.store(true, Ordering::Release);
        let snap = export(w);
        super::harness(w).persistence.waiting.store(false, Ordering::Release);
        (snap, at)
    };
    let t1 = std::time::Instant::now();
    let text = serde_json::to_vec(&snap)?;
    let t2 = std::time::Instant::now();
    write_atomic_private(path, &text)?;
    tracing::debug!(
        export_ms = (t1 - t0).as_millis() as u64,
        serialize_ms = (t2 - t1).as_millis() as u64,
        write_ms = t2.elapsed().as_millis() as u64,
        bytes = text.len(),
        "state snapshot written"
    );
    super::harness(w).persistence.saved.store(at, Ordering::Relaxed);
    Ok(())
}

pub(crate) fn load_from(w: &World, path: &Path) -> std::io::Result<()> {
    let text = std::fs::read(path)?;
    let snap: Snapshot =
        serde_json::from_slice(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    import(w, snap).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Removes the temporary files an interrupted save of `path` left behind.
fn remove_stale_temporaries(path: &Path) {
    let prefix = tmp_prefix(path);
    if let Ok(entries) = std::fs::read_dir(folder_of(path)) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// `--state-file`: load it at start when it exists.
pub(crate) fn load_at_start(w: &World) -> std::io::Result<()> {
    match &w.config.state_file {
        Some(p) => {
            remove_stale_temporaries(p);
            if p.exists() {
                load_from(w, p)?;
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// `--state-file`: save it at stop.
pub(crate) fn save_at_stop(w: &World) {
    if let Some(p) = &w.config.state_file {
        if let Err(e) = save_to(w, p) {
            tracing::error!(error = %e, path = %p.display(), "could not save the state file");
        }
    }
}

/// `--state-file` with `--state-save-interval`: saves every interval while state changed,
/// until `stop` turns true.
pub(crate) async fn save_periodically(w: std::sync::Arc<World>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let (Some(path), ms) = (w.config.state_file.clone(), w.config.state_save_interval_ms) else {
        return;
    };
    if ms <= 0 {
        return;
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(ms as u64));
    // A save that took longer than the interval is followed by the next one at once.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if !super::harness(&w).persistence.dirty() {
            continue;
        }
        let (w2, p) = (w.clone(), path.clone());
        let r = tokio::task::spawn_blocking(move || save_to(&w2, &p)).await;
        if let Ok(Err(e)) = r {
            tracing::error!(error = %e, path = %path.display(), "could not save the state file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_nesting_outside_strings() {
        assert_eq!(json_depth(b"{}", 10), 1);
        assert_eq!(json_depth(br#"{"a":[{"b":"[[[{"}]}"#, 10), 3);
        assert_eq!(json_depth(br#"{"a":"\"[["}"#, 10), 1);
        assert_eq!(json_depth(b"[[[[[[", 3), 4);
        assert_eq!(json_depth(b"42", 3), 0);
    }
}
