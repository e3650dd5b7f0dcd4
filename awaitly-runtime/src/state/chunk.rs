//! How a [`ResumeState`](super::ResumeState) keeps its entries: in chunks shared copy-on-write
//! between clones (the seed's immutable `inject_hook` clones in O(1) and copies one chunk when it
//! writes), each chunk's keys end to end in one string, and an index from key to position.

use std::sync::Arc;

use hashbrown::HashTable;

use super::KeyHasher;
use crate::entry::StepEntry;

/// Entries per chunk: a write to a shared state copies at most this many entries.
pub(super) const CHUNK: usize = 32;
pub(super) const CHUNK_SHIFT: u32 = CHUNK.trailing_zeros();

/// Up to [`CHUNK`] entries, their keys end to end in one string (one allocation for all the
/// keys of a chunk, instead of one per key).
#[derive(Clone, Default)]
pub(super) struct Chunk {
    pub(super) keys: String,
    /// Each entry, with where its key ends in `keys` (it starts where the previous one ends).
    pub(super) entries: Vec<(usize, StepEntry)>,
}

impl Chunk {
    pub(super) fn with_capacity(entries: usize) -> Self {
        Self {
            keys: String::new(),
            entries: Vec::with_capacity(entries),
        }
    }

    pub(super) fn key(&self, at: usize) -> &str {
        let start = at.checked_sub(1).map_or(0, |before| self.entries[before].0);
        &self.keys[start..self.entries[at].0]
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn push(&mut self, key: &str, entry: StepEntry) {
        reserve_keys(&mut self.keys, key);
        self.keys.push_str(key);
        self.entries.push((self.keys.len(), entry));
    }
}

/// Before a chunk's first key: room for a chunk of keys like it (the keys of one run tend to be
/// alike), within reason.
pub(super) fn reserve_keys(keys: &mut String, key: &str) {
    if keys.capacity() == 0 {
        keys.reserve_exact((key.len() * CHUNK).min(4096));
    }
}

#[derive(Clone, Default)]
pub(super) struct Index {
    pub(super) table: HashTable<u32>,
    pub(super) hasher: KeyHasher,
}

/// The key at `position` of `chunks`.
pub(super) fn key_of(chunks: &[Arc<Chunk>], position: usize) -> &str {
    chunks[position >> CHUNK_SHIFT].key(position & (CHUNK - 1))
}

/// The entries of a state in recording order, chunk after chunk.
pub(super) struct Entries<'a> {
    pub(super) chunks: std::slice::Iter<'a, Arc<Chunk>>,
    pub(super) current: Option<&'a Chunk>,
    pub(super) at: usize,
    pub(super) remaining: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a str, &'a StepEntry);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(chunk) = self.current
                && self.at < chunk.len()
            {
                let at = self.at;
                self.at += 1;
                self.remaining -= 1;
                return Some((chunk.key(at), &chunk.entries[at].1));
            }
            self.current = Some(self.chunks.next()?);
            self.at = 0;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Entries<'_> {}
