//! The resume state as JSON: awaitly's shape (`{"kind":"ResumeState","steps":[[key, result], …]}`)
//! plus a `version` and our workflow stamp, read with one hash and one probe per entry.

use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use hashbrown::HashTable;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::chunk::{CHUNK, Chunk, Index, key_of, reserve_keys};
use super::{KeyHasher, ResumeState};
use crate::entry::StepEntry;
use crate::key::KEY_RECIPE_VERSION;
use crate::site::WorkflowStamp;

impl Serialize for ResumeState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", "ResumeState")?;
        map.serialize_entry("version", &KEY_RECIPE_VERSION)?;
        if let Some(workflow) = &self.workflow {
            map.serialize_entry("workflow", workflow)?;
        }
        map.serialize_entry("steps", &Steps(self))?;
        map.end()
    }
}

struct Steps<'a>(&'a ResumeState);

impl Serialize for Steps<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (key, entry) in self.0.entries() {
            seq.serialize_element(&(key, entry))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ResumeState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StateVisitor { capacity: 0 })
    }
}

/// Reads a state; `capacity`: the number of entries to make room for (the parser gives no hint).
pub(super) struct StateVisitor {
    pub(super) capacity: usize,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum StateField {
    Kind,
    Version,
    Workflow,
    Steps,
    #[serde(other)]
    Unknown,
}

impl<'de> Visitor<'de> for StateVisitor {
    type Value = ResumeState;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(r#"a resume state: {"kind":"ResumeState","steps":[[key, result], …]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResumeState, A::Error> {
        let mut kind_seen = false;
        let mut state: Option<ResumeState> = None;
        let mut workflow: Option<WorkflowStamp> = None;
        while let Some(field) = map.next_key::<StateField>()? {
            match field {
                StateField::Kind => {
                    let kind: String = map.next_value()?;
                    if kind != "ResumeState" {
                        return Err(de::Error::custom(format_args!(
                            "not a resume state: `kind` is {kind:?}, expected \"ResumeState\""
                        )));
                    }
                    kind_seen = true;
                }
                StateField::Version => {
                    let version: u32 = map.next_value()?;
                    if version > KEY_RECIPE_VERSION {
                        return Err(de::Error::custom(format_args!(
                            "resume state version {version} is newer than this build understands \
                             ({KEY_RECIPE_VERSION}); upgrade awaitly to read it"
                        )));
                    }
                }
                StateField::Workflow => {
                    workflow = map.next_value()?;
                }
                StateField::Steps => {
                    if state.is_some() {
                        return Err(de::Error::duplicate_field("steps"));
                    }
                    state = Some(map.next_value_seed(StepsSeed {
                        capacity: self.capacity,
                    })?);
                }
                StateField::Unknown => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        if !kind_seen {
            return Err(de::Error::custom(
                "not a resume state: the `kind` field is missing (expected \"ResumeState\")",
            ));
        }
        let mut state = state.ok_or_else(|| de::Error::missing_field("steps"))?;
        state.workflow = workflow;
        Ok(state)
    }
}

struct StepsSeed {
    capacity: usize,
}

impl<'de> de::DeserializeSeed<'de> for StepsSeed {
    type Value = ResumeState;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ResumeState, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StepsSeed {
    type Value = ResumeState;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of [key, step result] pairs")
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<ResumeState, A::Error> {
        Err(de::Error::custom(
            "not a resume state: `steps` is an object, expected an array of [key, step result] pairs \
             (a JavaScript Map written with JSON.stringify loses its entries; use serializeResumeState)",
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ResumeState, A::Error> {
        // Cap the preallocation: a hostile size hint must not allocate unboundedly.
        let capacity = seq.size_hint().unwrap_or(self.capacity).min(1 << 16);
        // Built in place (nothing shares it yet): chunks are wrapped in `Arc`s once full.
        let mut done: Vec<Arc<Chunk>> = Vec::with_capacity(capacity.div_ceil(CHUNK));
        let mut current = Chunk::with_capacity(CHUNK.min(capacity.max(1)));
        let mut index = Index {
            table: HashTable::with_capacity(capacity),
            hasher: KeyHasher::default(),
        };
        let mut len: u32 = 0;
        while seq
            .next_element_seed(PairSeed {
                chunk: &mut current,
            })?
            .is_some()
        {
            let at = current.len() - 1;
            let key = current.key(at);
            let hash = index.hasher.hash_one(key);
            let full = done.len() * CHUNK;
            let key_at = |position: u32| {
                let position = position as usize;
                if position < full {
                    key_of(&done, position)
                } else {
                    current.key(position - full)
                }
            };
            if index
                .table
                .find(hash, |&position| key_at(position) == key)
                .is_some()
            {
                return Err(de::Error::custom(format_args!(
                    "the step key {key:?} appears twice in the resume state"
                )));
            }
            let hasher = &index.hasher;
            index
                .table
                .insert_unique(hash, len, |&position| hasher.hash_one(key_at(position)));
            len = len
                .checked_add(1)
                .ok_or_else(|| de::Error::custom("more than 2^32 steps"))?;
            if current.len() == CHUNK {
                done.push(Arc::new(std::mem::replace(
                    &mut current,
                    Chunk::with_capacity(CHUNK),
                )));
            }
        }
        if current.len() > 0 {
            done.push(Arc::new(current));
        }
        let state = ResumeState {
            chunks: Arc::new(done),
            len: len as usize,
            index: Arc::new(index),
            workflow: None,
            clock: None,
        };
        Ok(state)
    }
}

/// One `[key, step result]` pair, appended to `chunk` (the key straight into its key string).
struct PairSeed<'a> {
    chunk: &'a mut Chunk,
}

impl<'de> de::DeserializeSeed<'de> for PairSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PairSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a tuple of size 2")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let start = self.chunk.keys.len();
        if seq
            .next_element_seed(KeySeed {
                keys: &mut self.chunk.keys,
            })?
            .is_none()
        {
            return Err(de::Error::invalid_length(0, &self));
        }
        let Some(entry) = seq.next_element::<StepEntry>()? else {
            self.chunk.keys.truncate(start);
            return Err(de::Error::invalid_length(1, &self));
        };
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            self.chunk.keys.truncate(start);
            return Err(de::Error::invalid_length(3, &self));
        }
        self.chunk.entries.push((self.chunk.keys.len(), entry));
        Ok(())
    }
}

/// A step key, appended to `keys` without a string of its own.
struct KeySeed<'a> {
    keys: &'a mut String,
}

impl<'de> de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        reserve_keys(self.keys, key);
        self.keys.push_str(key);
        Ok(())
    }
}
