//! The one way vmemdiet writes files (`report --out`, `man --out`): whole files, each written
//! to a temporary file in the destination directory and renamed over its name, so a reader
//! never sees half a file and a failed or interrupted run leaves none. Nothing in the directory
//! that vmemdiet did not write is touched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, PoisonError};

use anyhow::Context;

/// Temporary files being written, removed by the signal watcher before the process ends.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A directory vmemdiet writes its own files into.
#[derive(Debug)]
pub struct OutDir {
    path: PathBuf,
}

impl OutDir {
    /// `path` as an output directory, created (with its parents) if missing. A path that
    /// exists and is not a directory (a file, a device node) is refused and left as it is.
    /// Also starts the watcher that cleans up on SIGINT/SIGTERM, so a run stopped from here on
    /// leaves no temporary file.
    pub fn create(flag: &str, path: &Path) -> anyhow::Result<OutDir> {
        let shown = path.display();
        if std::fs::symlink_metadata(path).is_ok() && !path.is_dir() {
            anyhow::bail!("{flag} {shown}: exists and is not a directory");
        }
        std::fs::create_dir_all(path)
            .with_context(|| format!("{flag} {shown}: cannot create the directory"))?;
        watch_signals();
        Ok(OutDir {
            path: path.to_path_buf(),
        })
    }

    /// Writes `body` as the file `name` in the directory, atomically: a temporary file beside
    /// it, synced, then renamed over `name`. On failure nothing is left behind.
    pub fn write(&self, name: &str, body: &[u8]) -> anyhow::Result<()> {
        let dest = self.path.join(name);
        let fail = || format!("writing {}", dest.display());
        let mut tmp = {
            // Registered under the lock it was created under: the watcher either runs before
            // the file exists or sees it listed.
            let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
            let tmp = temp_builder().tempfile_in(&self.path).with_context(fail)?;
            pending.push(tmp.path().to_path_buf());
            tmp
        };
        let tmp_path = tmp.path().to_path_buf();
        let written = tmp.write_all(body).and_then(|()| tmp.as_file().sync_all());
        let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|p| *p != tmp_path);
        // On an error the temporary file is removed as `tmp` drops.
        written.with_context(fail)?;
        tmp.persist(&dest).map_err(|e| e.error).with_context(fail)?;
        Ok(())
    }
}

/// Temporary files named `.vmemdiet-XXXXXX.tmp`, created with the permissions of any new file
/// (0666 less the umask) rather than tempfile's private 0600: they become the user's files.
fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(".vmemdiet-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b
}

/// On the first call, a thread that waits for SIGINT or SIGTERM, removes the temporary files
/// being written and ends the process with 128 + the signal (130, 143), as a shell reports a
/// process the signal killed. Files already renamed into place stay: each is whole.
fn watch_signals() {
    static WATCH: Once = Once::new();
    #[cfg(unix)]
    WATCH.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        // Without the watcher the signals keep their default action (the process dies, and a
        // file being written may stay): that is no reason to refuse to write.
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                // The lock is kept to the end: no new temporary file and no rename after this.
                let pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
                for p in pending.iter() {
                    let _ = std::fs::remove_file(p);
                }
                std::process::exit(128 + sig);
            }
        });
    });
}
