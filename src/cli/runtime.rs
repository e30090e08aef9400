//! What a running azemu leaves in its data dir: `azemu.json` (its URL, CA, port, tenant and
//! process id, so `azemu env` and the other client commands find it, `--port 0` included) and
//! `azemu.lock`, held for the process's life so a second azemu cannot share the data dir's
//! keys. A `--state-file F` is guarded the same way by `F.lock`.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

pub(crate) const FILE: &str = "azemu.json";
pub(crate) const LOCK: &str = "azemu.lock";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Runtime {
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) ca: Option<PathBuf>,
    pub(crate) pid: u32,
    pub(crate) port: u16,
    pub(crate) tenant_id: String,
    pub(crate) subscription_id: String,
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) state_file: Option<PathBuf>,
}

/// The runtime file of `data_dir`, when there is a readable one.
pub(crate) fn read(data_dir: &Path) -> Option<Runtime> {
    let text = std::fs::read(data_dir.join(FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes the runtime file (atomically).
pub(crate) fn write(data_dir: &Path, rt: &Runtime) -> std::io::Result<()> {
    let path = data_dir.join(FILE);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(rt)?)?;
    std::fs::rename(tmp, path)
}

/// Removes the runtime file if it is still this process's.
pub(crate) fn remove(data_dir: &Path) {
    if read(data_dir).is_some_and(|r| r.pid == std::process::id()) {
        let _ = std::fs::remove_file(data_dir.join(FILE));
    }
}

/// An exclusive lock, released when dropped (or when the process ends, however it ends).
pub(crate) struct Lock {
    _file: File,
}

/// Why a lock was not taken.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another process holds it; what it wrote into the lock file (its pid and URL).
    Held(String),
    /// The lock file could not be opened or locked.
    Io(String),
}

/// Takes the lock file `path` without waiting, and writes `note` into it.
pub(crate) fn try_lock(path: &Path, note: &str) -> Result<Lock, LockError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| LockError::Io(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {
            use std::io::{Seek, Write};
            let mut f = &file;
            let _ = f.set_len(0);
            let _ = f.seek(std::io::SeekFrom::Start(0));
            let _ = f.write_all(note.as_bytes());
            Ok(Lock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(path).unwrap_or_default();
            Err(LockError::Held(holder.trim().to_string()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(LockError::Io(format!("cannot lock {}: {e}", path.display()))),
    }
}

/// `F.lock` beside a state file `F`.
pub(crate) fn state_lock_path(state_file: &Path) -> PathBuf {
    let mut name = state_file.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state_file.with_file_name(name)
}
