//! A sentence transformer's embeddings of knowledge-base texts, kept on
//! disk so the next process (`triage chat`, `triage match`, a restarted
//! bot) does not run the network over every phrasing again: seconds at
//! startup become milliseconds. One file per model and fingerprint in the
//! user's cache directory (e.g. `~/.cache/triage/embeddings/`): a header,
//! then fixed-size records of a text's hash and its embedding. Only texts
//! embedded in batches are kept (a knowledge base's phrasings and checks,
//! `triage fit`'s labelled questions), never a customer's question. The
//! file is only a cache: a damaged or foreign one is started over, and a
//! record cut short at the end is ignored.

use std::io::Write;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;

/// The file's first bytes, then the embedding length as a little-endian
/// u32.
const MAGIC: &[u8] = b"triage embeddings v1\n";

/// Embeddings kept, in memory and on disk, before starting over: about
/// 60 MB of a 384-dimension model's rows.
pub(super) const KEPT_ROWS: usize = 40_000;

pub(super) struct DiskCache {
    path: PathBuf,
    dim: usize,
}

impl DiskCache {
    /// The cache of the model `name` with `fingerprint`, in the user's
    /// cache directory; `None` when there is none.
    pub(super) fn for_model(name: &str, fingerprint: &str, dim: usize) -> Option<Self> {
        let dirs = directories::ProjectDirs::from("", "", "triage")?;
        let path = dirs
            .cache_dir()
            .join("embeddings")
            .join(format!("{name}-{fingerprint}.bin"));
        Some(Self::at(path, dim))
    }

    pub(super) fn at(path: PathBuf, dim: usize) -> Self {
        Self { path, dim }
    }

    fn header(&self) -> Vec<u8> {
        let mut h = MAGIC.to_vec();
        h.extend((self.dim as u32).to_le_bytes());
        h
    }

    fn record_len(&self) -> usize {
        8 + 4 * self.dim
    }

    /// Every record in the file (none if it is missing, damaged or of
    /// another length).
    pub(super) fn read(&self) -> Vec<(u64, Vec<f32>)> {
        let Ok(bytes) = std::fs::read(&self.path) else {
            return Vec::new();
        };
        let header = self.header();
        let Some(body) = bytes.strip_prefix(header.as_slice()) else {
            return Vec::new();
        };
        body.chunks_exact(self.record_len())
            .map(|r| {
                let (key, row) = r.split_at(8);
                let key = u64::from_le_bytes(key.try_into().expect("8 bytes"));
                let row = row
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .collect();
                (key, row)
            })
            .collect()
    }

    /// Adds `rows` at the end, in one write; starts the file over when it
    /// is missing, not this cache's, or full. A failure is logged and
    /// otherwise ignored: the cache only saves time.
    pub(super) fn append(&self, rows: &[(u64, &[f32])]) {
        if rows.is_empty() {
            return;
        }
        if let Err(err) = self.try_append(rows) {
            tracing::debug!(path = %self.path.display(), error = %err, "embedding cache not written");
        }
    }

    fn try_append(&self, rows: &[(u64, &[f32])]) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let header = self.header();
        // Only the header and the length are read: the file can hold
        // tens of megabytes, and a knowledge base is appended batch by
        // batch.
        let fresh = match self.body_len(&header) {
            Some(len) => {
                !len.is_multiple_of(self.record_len())
                    || len / self.record_len() + rows.len() > KEPT_ROWS
            }
            None => true,
        };
        let mut buf = Vec::with_capacity(header.len() + rows.len() * self.record_len());
        if fresh {
            buf.extend(&header);
        }
        for (key, row) in rows {
            if row.len() != self.dim {
                continue;
            }
            buf.extend(key.to_le_bytes());
            row.iter().for_each(|x| buf.extend(x.to_le_bytes()));
        }
        let mut file = if fresh {
            std::fs::File::create(&self.path)?
        } else {
            std::fs::OpenOptions::new().append(true).open(&self.path)?
        };
        file.write_all(&buf)
    }

    /// The length of the file after `header`, when it starts with it.
    fn body_len(&self, header: &[u8]) -> Option<usize> {
        use std::io::Read;
        let mut file = std::fs::File::open(&self.path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        let mut start = vec![0; header.len()];
        file.read_exact(&mut start).ok()?;
        (start == header).then(|| len - header.len())
    }

    #[cfg(test)]
    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_as_written_and_a_cut_record_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = DiskCache::at(dir.path().join("sub/m.bin"), 3);
        assert!(c.read().is_empty());
        c.append(&[(7, &[1.0, -2.0, 0.5]), (9, &[0.0, 0.25, 3.0])]);
        c.append(&[(11, &[4.0, 4.0, 4.0])]);
        let back = c.read();
        assert_eq!(
            back,
            vec![
                (7, vec![1.0, -2.0, 0.5]),
                (9, vec![0.0, 0.25, 3.0]),
                (11, vec![4.0, 4.0, 4.0])
            ]
        );
        // A write cut short leaves a partial record: it is not read, and
        // the next append starts the file over rather than misalign it.
        let mut bytes = std::fs::read(c.path()).expect("read");
        bytes.extend([1, 2, 3]);
        std::fs::write(c.path(), &bytes).expect("write");
        assert_eq!(c.read().len(), 3);
        c.append(&[(13, &[1.0, 1.0, 1.0])]);
        assert_eq!(c.read(), vec![(13, vec![1.0, 1.0, 1.0])]);
    }

    #[test]
    fn a_file_of_another_length_or_kind_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.bin");
        DiskCache::at(path.clone(), 3).append(&[(1, &[1.0, 2.0, 3.0])]);
        assert!(DiskCache::at(path.clone(), 4).read().is_empty());
        std::fs::write(&path, b"something else entirely").expect("write");
        assert!(DiskCache::at(path, 3).read().is_empty());
    }
}
