//! Content-addressed files under `<data dir>/uploads`: each file is named by the SHA-256 of
//! its bytes (never by anything a user sent), written to a temporary file, synced, then
//! renamed into place, so a reader never sees half a file and a crash leaves at most a
//! temporary file behind.
//!
//! Writing ([`MediaStore::put`]) is synchronous, for the blocking thread an upload stores its
//! files on; the rest is async and keeps file-system calls off the runtime's threads.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;

/// Extensions of the files the store keeps.
const EXTENSIONS: [&str; 4] = ["jpg", "png", "gif", "webp"];

/// The uploads directory.
#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
    /// Files younger than this are never swept: their upload may not have committed its row
    /// (or finished streaming in) yet.
    sweep_grace: Duration,
}

impl MediaStore {
    /// Opens (and creates) `<data dir>/uploads` and its `tmp/`.
    pub fn open(data_dir: &Path, sweep_grace: Duration) -> io::Result<Self> {
        let root = data_dir.join("uploads");
        fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root, sweep_grace })
    }

    /// Where uploads are staged while they stream in (same file system, so renames work).
    pub fn temp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The path of a stored file, if `name` is a valid store name.
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        let (hash, extension) = name.split_once('.')?;
        let valid = hash.len() == 64
            && hash
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
            && EXTENSIONS.contains(&extension);
        valid.then(|| self.root.join(&hash[..2]).join(name))
    }

    /// The name `bytes` are stored under.
    pub fn name_of(bytes: &[u8], extension: &str) -> String {
        format!("{}.{extension}", hex::encode(Sha256::digest(bytes)))
    }

    /// Stores `bytes` under `name` (their [`name_of`](Self::name_of)), unless a file of that
    /// name is there already: the same bytes stored twice are one file. Blocking.
    pub fn put(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self
            .path_of(name)
            .ok_or_else(|| io::Error::other(format!("{name:?} is not a store name")))?;
        if path.exists() {
            // Touch it, so a sweep racing this upload sees it as fresh.
            File::options()
                .append(true)
                .open(&path)?
                .set_modified(SystemTime::now())?;
            return Ok(());
        }
        let directory = path.parent().expect("store paths have a parent");
        fs::create_dir_all(directory)?;
        let mut staged = tempfile::NamedTempFile::new_in(self.temp_dir())?;
        staged.write_all(bytes)?;
        // Readable by all: nginx (another user) serves the uploads directory itself.
        staged
            .as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
        staged.as_file().sync_all()?;
        staged.persist(&path).map_err(|error| error.error)?;
        File::open(directory)?.sync_all()?;
        Ok(())
    }

    /// Whether the file `name` is stored.
    pub async fn contains(&self, name: &str) -> io::Result<bool> {
        match self.path_of(name) {
            Some(path) => tokio::fs::try_exists(path).await,
            None => Ok(false),
        }
    }

    /// Deletes the file `name`; an already missing one is fine.
    pub async fn remove(&self, name: &str) {
        if let Some(path) = self.path_of(name)
            && let Err(error) = tokio::fs::remove_file(&path).await
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(%error, file = %path.display(), "cannot delete a stored file");
        }
    }

    /// Every stored file older than the sweep grace, and stale staging files.
    pub async fn sweepable(&self) -> io::Result<(Vec<String>, Vec<PathBuf>)> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.list_sweepable())
            .await
            .map_err(io::Error::other)?
    }

    /// Deletes abandoned staging files; returns how many went.
    pub async fn remove_staging(&self, paths: Vec<PathBuf>) -> usize {
        let mut removed = 0;
        for path in paths {
            if tokio::fs::remove_file(&path).await.is_ok() {
                removed += 1;
            }
        }
        removed
    }

    fn list_sweepable(&self) -> io::Result<(Vec<String>, Vec<PathBuf>)> {
        let old_enough = |entry: &fs::DirEntry| {
            entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > self.sweep_grace)
        };
        let mut stored = Vec::new();
        let mut staging = Vec::new();
        for shard in fs::read_dir(&self.root)? {
            let shard = shard?;
            if shard.file_name() == "tmp" {
                for entry in fs::read_dir(shard.path())? {
                    let entry = entry?;
                    if old_enough(&entry) {
                        staging.push(entry.path());
                    }
                }
                continue;
            }
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let entry = entry?;
                if let Some(name) = entry.file_name().to_str()
                    && self.path_of(name).is_some()
                    && old_enough(&entry)
                {
                    stored.push(name.to_owned());
                }
            }
        }
        Ok((stored, staging))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_are_content_hashes_and_nothing_else_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path(), Duration::from_secs(900)).unwrap();
        let name = MediaStore::name_of(b"pixels", "jpg");
        assert_eq!(
            name,
            format!("{}.jpg", hex::encode(Sha256::digest(b"pixels")))
        );
        store.put(&name, b"pixels").unwrap();
        store.put(&name, b"pixels").unwrap();
        assert_eq!(fs::read(store.path_of(&name).unwrap()).unwrap(), b"pixels");
        assert!(store.contains(&name).await.unwrap());
        for bad in [
            "../etc/passwd",
            "x.jpg",
            &format!("{}.exe", &name[..64]),
            &name.to_uppercase(),
        ] {
            assert!(store.path_of(bad).is_none(), "{bad}");
        }
        store.remove(&name).await;
        assert!(!store.contains(&name).await.unwrap());
    }
}
