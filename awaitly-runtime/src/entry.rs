//! One recorded step outcome and its JSON form (awaitly's `StepResult`).

use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::finite;
use crate::hook::{HookId, MaybePendingHook, PendingHook};

/// What one step (or hook) recorded: a success with its JSON value, a failure with its error, or
/// the id of a hook created inside a workflow.
///
/// JSON form, compatible with awaitly: `{"ok":true,"value":…}` or
/// `{"ok":false,"error":…,"cause":…,"meta":{"origin":…}}`. A hook id minted inside a workflow is
/// `{"ok":true,"value":"<id>","createdHook":true}`, and a payload delivered to a pending hook keeps
/// the pending record it replaced until a run has read it, `{"ok":true,"value":…,"pendingHook":{…}}`
/// (awaitly ignores the extra fields).
///
/// What was read is written back as it was: a success without `value` (awaitly's `undefined`)
/// stays without it (it replays as `null`), and a failure keeps the JSON text of its `error`,
/// `cause` and `meta` — key order, numbers and an absent `error` included.
///
/// ```
/// let text = r#"{"ok":false,"error":{"z":1,"a":2},"cause":{"type":"thrown","originalType":"undefined","stringRepresentation":"undefined"},"meta":{"origin":"result"}}"#;
/// let entry: awaitly::StepEntry = serde_json::from_str(text).unwrap();
/// assert_eq!(serde_json::to_string(&entry).unwrap(), text);
///
/// let undefined: awaitly::StepEntry = serde_json::from_str(r#"{"ok":true}"#).unwrap();
/// assert_eq!(undefined.value_json(), Some("null"));
/// assert_eq!(serde_json::to_string(&undefined).unwrap(), r#"{"ok":true}"#);
/// ```
///
/// ```
/// use awaitly::StepEntry;
/// let entry = StepEntry::ok(&serde_json::json!({ "id": "ord_1" })).unwrap();
/// assert!(entry.is_ok());
/// assert_eq!(entry.value_json(), Some(r#"{"id":"ord_1"}"#));
/// assert_eq!(serde_json::to_string(&entry).unwrap(), r#"{"ok":true,"value":{"id":"ord_1"}}"#);
/// ```
#[derive(Clone, Debug)]
pub struct StepEntry {
    outcome: Recorded,
}

#[derive(Clone, Debug)]
enum Recorded {
    Ok(Box<RawValue>),
    /// A success without a value (awaitly's `undefined`, `{"ok":true}`): replays as `null`, is
    /// written back without `"value"`.
    Undefined,
    /// A hook's payload, with the pending record it replaced: a payload the workflow cannot decode
    /// puts that record back as it was (same request time and deadline).
    Delivered(Box<(Box<RawValue>, PendingHook)>),
    /// An approval's value, with who resolved it and how (`"approval": {…}`).
    Approved(Box<(Box<RawValue>, Value)>),
    // Boxed, like every rare variant: `StepEntry` stays 24 bytes (the common `Ok` is 16).
    CreatedHook(Box<HookId>),
    /// A durable sleep and when it ends.
    Sleep {
        wake_at_ms: u64,
    },
    Err(Box<ErrorRecord>),
}

#[derive(Clone, Debug)]
struct ErrorRecord {
    /// `null` when the JSON had no `error` (awaitly's `undefined`).
    error: Value,
    cause: Option<Value>,
    meta: Option<Value>,
    /// The text the record was read from, written back instead of the values above; `None` for a
    /// failure recorded by this crate.
    read: Option<ErrorText>,
}

/// The JSON text of a failure's fields as read: writing it back keeps what `Value` would change
/// (object key order, number spelling) and what it cannot hold (an absent `error`).
#[derive(Clone, Debug)]
struct ErrorText {
    error: Option<Box<RawValue>>,
    cause: Option<Box<RawValue>>,
    meta: Option<Box<RawValue>>,
}

impl StepEntry {
    /// A successful outcome holding `value`.
    ///
    /// ```
    /// assert_eq!(awaitly::StepEntry::ok(&7).unwrap().value_json(), Some("7"));
    /// // JSON has no NaN: serde_json would write `null`, which replays as something else.
    /// let error = awaitly::StepEntry::ok(&Some(f64::NAN)).unwrap_err();
    /// assert!(error.to_string().contains("`NaN`"), "{error}");
    /// ```
    ///
    /// # Errors
    ///
    /// When `value` cannot be serialised to JSON (for instance a map with non-string keys), or holds
    /// a NaN or infinite float, which JSON cannot represent.
    pub fn ok<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self {
            outcome: Recorded::Ok(finite::to_raw_value(value)?),
        })
    }

    /// A failed outcome holding `error`, recorded as awaitly records a returned error
    /// (`meta.origin = "result"`, no cause).
    ///
    /// ```
    /// let entry = awaitly::StepEntry::err(&"GATEWAY_DOWN").unwrap();
    /// assert!(!entry.is_ok());
    /// assert_eq!(entry.error().unwrap(), "GATEWAY_DOWN");
    /// ```
    ///
    /// # Errors
    ///
    /// When `error` cannot be serialised to JSON, or holds a NaN or infinite float.
    pub fn err<E: Serialize + ?Sized>(error: &E) -> Result<Self, serde_json::Error> {
        Ok(Self::failure(finite::to_value(error)?))
    }

    /// The entry of a hook that waits for its payload.
    ///
    /// ```
    /// let pending = awaitly::pending_hook("h1".into(), Default::default());
    /// let entry = awaitly::StepEntry::pending(&pending);
    /// assert!(awaitly::is_pending_hook(&entry));
    /// ```
    #[must_use]
    pub fn pending(hook: &PendingHook) -> Self {
        // A PendingHook is plain strings and JSON values: serialising it cannot fail.
        Self::failure(serde_json::to_value(hook).unwrap_or(Value::Null))
    }

    pub(crate) fn approved(value: Box<RawValue>, approval: Value) -> Self {
        Self {
            outcome: Recorded::Approved(Box::new((value, approval))),
        }
    }

    /// `payload` delivered to the hook `pending` waited for.
    pub(crate) fn delivered(payload: Box<RawValue>, pending: PendingHook) -> Self {
        Self {
            outcome: Recorded::Delivered(Box::new((payload, pending))),
        }
    }

    /// The pending record a delivered payload replaced (see [`Recorded::Delivered`]).
    pub(crate) fn delivered_to(&self) -> Option<&PendingHook> {
        match &self.outcome {
            Recorded::Delivered(delivered) => Some(&delivered.1),
            _ => None,
        }
    }

    /// For a delivered payload: the same payload without the pending record, once the workflow has
    /// read it and the record can no longer be needed.
    pub(crate) fn without_delivery(&self) -> Option<Self> {
        match &self.outcome {
            Recorded::Delivered(delivered) => Some(Self {
                outcome: Recorded::Ok(delivered.0.clone()),
            }),
            _ => None,
        }
    }

    pub(crate) fn sleep(wake_at_ms: u64) -> Self {
        Self {
            outcome: Recorded::Sleep { wake_at_ms },
        }
    }

    pub(crate) fn from_error_value(error: Value) -> Self {
        Self::failure(error)
    }

    /// How an approval was resolved (`{"status": "approved" | "edited", "actor": …, "at": …}`),
    /// for an approval's entry.
    ///
    /// ```
    /// assert!(awaitly::StepEntry::ok(&1).unwrap().approval().is_none());
    /// ```
    #[must_use]
    pub fn approval(&self) -> Option<&Value> {
        match &self.outcome {
            Recorded::Approved(approved) => Some(&approved.1),
            _ => None,
        }
    }

    /// When a durable sleep recorded here ends, in milliseconds since the Unix epoch.
    ///
    /// ```
    /// assert!(awaitly::StepEntry::ok(&1).unwrap().sleep_until().is_none());
    /// ```
    #[must_use]
    pub fn sleep_until(&self) -> Option<u64> {
        match &self.outcome {
            Recorded::Sleep { wake_at_ms } => Some(*wake_at_ms),
            _ => None,
        }
    }

    pub(crate) fn created_hook(hook_id: HookId) -> Self {
        Self {
            outcome: Recorded::CreatedHook(Box::new(hook_id)),
        }
    }

    fn failure(error: Value) -> Self {
        Self {
            outcome: Recorded::Err(Box::new(ErrorRecord {
                error,
                cause: Some(undefined_cause()),
                meta: Some(serde_json::json!({ "origin": "result" })),
                read: None,
            })),
        }
    }

    /// Did the step succeed (or is this a created hook's id)?
    ///
    /// ```
    /// assert!(awaitly::StepEntry::ok(&1).unwrap().is_ok());
    /// assert!(!awaitly::StepEntry::err(&1).unwrap().is_ok());
    /// ```
    #[must_use]
    pub fn is_ok(&self) -> bool {
        !matches!(self.outcome, Recorded::Err(_))
    }

    /// The recorded success value as JSON text; `None` for a failure or a created hook.
    ///
    /// ```
    /// assert_eq!(awaitly::StepEntry::ok("x").unwrap().value_json(), Some(r#""x""#));
    /// ```
    #[must_use]
    pub fn value_json(&self) -> Option<&str> {
        match &self.outcome {
            Recorded::Ok(raw) => Some(raw.get()),
            Recorded::Undefined => Some("null"),
            Recorded::Delivered(delivered) => Some(delivered.0.get()),
            Recorded::Approved(approved) => Some(approved.0.get()),
            _ => None,
        }
    }

    /// The recorded error value; `None` for a success.
    ///
    /// ```
    /// let entry = awaitly::StepEntry::err(&serde_json::json!({ "code": 7 })).unwrap();
    /// assert_eq!(entry.error().unwrap()["code"], 7);
    /// ```
    #[must_use]
    pub fn error(&self) -> Option<&Value> {
        match &self.outcome {
            Recorded::Err(record) => Some(&record.error),
            _ => None,
        }
    }

    /// The `type` of the recorded error, when it has one: how awaitly's own records
    /// (`PENDING_HOOK`, `HOOK_TIMEOUT`, `APPROVAL_REJECTED`, …) tell themselves apart.
    ///
    /// ```
    /// let entry = awaitly::StepEntry::err(&serde_json::json!({ "type": "HOOK_TIMEOUT" })).unwrap();
    /// assert_eq!(entry.error_type(), Some("HOOK_TIMEOUT"));
    /// assert_eq!(awaitly::StepEntry::ok(&1).unwrap().error_type(), None);
    /// ```
    #[must_use]
    pub fn error_type(&self) -> Option<&str> {
        self.error()?.get("type")?.as_str()
    }

    /// The recorded cause of a failure (awaitly's `SerializedCause`), if any.
    ///
    /// ```
    /// let entry = awaitly::StepEntry::err(&"E").unwrap();
    /// assert_eq!(entry.cause().unwrap()["type"], "thrown");
    /// ```
    #[must_use]
    pub fn cause(&self) -> Option<&Value> {
        match &self.outcome {
            Recorded::Err(record) => record.cause.as_ref(),
            _ => None,
        }
    }

    /// The id of the hook whose creation this entry records (hooks made inside a workflow).
    ///
    /// ```
    /// assert_eq!(awaitly::StepEntry::ok(&1).unwrap().created_hook_id(), None);
    /// ```
    #[must_use]
    pub fn created_hook_id(&self) -> Option<&HookId> {
        match &self.outcome {
            Recorded::CreatedHook(hook_id) => Some(hook_id),
            _ => None,
        }
    }

    /// Decodes the recorded success value as `T`; `None` for a failure or a created hook.
    ///
    /// ```
    /// let entry = awaitly::StepEntry::ok(&41).unwrap();
    /// assert_eq!(entry.decode_value::<u32>().unwrap().unwrap(), 41);
    /// ```
    ///
    /// # Errors
    ///
    /// When the JSON does not decode as `T`.
    pub fn decode_value<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.value_json().map(serde_json::from_str)
    }

    /// A created hook's id read without its `createdHook` marker (awaitly's serialiser drops it):
    /// a plain success whose value is a string.
    pub(crate) fn unmarked_hook_id(&self) -> Option<HookId> {
        match &self.outcome {
            Recorded::Ok(raw) => serde_json::from_str::<String>(raw.get())
                .ok()
                .map(HookId::from),
            _ => None,
        }
    }

    /// A sleep's wake-up time read without its `sleep` marker (awaitly's serialiser drops it): a
    /// plain success whose value is `{"wakeAt": <milliseconds>}`.
    pub(crate) fn unmarked_wake_at(&self) -> Option<u64> {
        match &self.outcome {
            Recorded::Ok(raw) => serde_json::from_str::<WakeAt>(raw.get())
                .ok()
                .map(|wake_at| wake_at.wake_at),
            _ => None,
        }
    }

    pub(crate) fn value_equals(&self, other: &Value) -> bool {
        match &self.outcome {
            Recorded::Ok(_)
            | Recorded::Undefined
            | Recorded::Delivered(_)
            | Recorded::Approved(_) => self
                .value_json()
                .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
                .is_some_and(|v| v == *other),
            Recorded::CreatedHook(hook_id) => other.as_str() == Some(hook_id.as_str()),
            Recorded::Sleep { .. } | Recorded::Err(_) => false,
        }
    }
}

/// How awaitly writes "no cause": `String(undefined)`.
fn undefined_cause() -> Value {
    serde_json::json!({
        "type": "thrown",
        "originalType": "undefined",
        "stringRepresentation": "undefined"
    })
}

impl Serialize for StepEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.outcome {
            Recorded::Ok(raw) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("value", raw)?;
                map.end()
            }
            Recorded::Undefined => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("ok", &true)?;
                map.end()
            }
            Recorded::Delivered(delivered) => {
                let (value, pending) = &**delivered;
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("value", value)?;
                map.serialize_entry("pendingHook", pending)?;
                map.end()
            }
            Recorded::Approved(approved) => {
                let (value, approval) = &**approved;
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("value", value)?;
                map.serialize_entry("approval", approval)?;
                map.end()
            }
            Recorded::Sleep { wake_at_ms } => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("value", &serde_json::json!({ "wakeAt": wake_at_ms }))?;
                map.serialize_entry("sleep", &true)?;
                map.end()
            }
            Recorded::CreatedHook(hook_id) => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("value", hook_id)?;
                map.serialize_entry("createdHook", &true)?;
                map.end()
            }
            Recorded::Err(record) => {
                if let Some(read) = &record.read {
                    return read.serialize(serializer);
                }
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("ok", &false)?;
                map.serialize_entry("error", &record.error)?;
                // awaitly's reader needs a cause object on every failure.
                match &record.cause {
                    Some(cause) => map.serialize_entry("cause", cause)?,
                    None => map.serialize_entry("cause", &undefined_cause())?,
                }
                if let Some(meta) = &record.meta {
                    map.serialize_entry("meta", meta)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for StepEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum EntryField {
    Ok,
    Value,
    Error,
    Cause,
    Meta,
    CreatedHook,
    Approval,
    Sleep,
    PendingHook,
    #[serde(other)]
    Unknown,
}

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = StepEntry;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .write_str(r#"a step result object: {"ok":true,"value":…} or {"ok":false,"error":…}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StepEntry, A::Error> {
        let mut ok: Option<bool> = None;
        let mut value: Option<Box<RawValue>> = None;
        let mut error: Option<Box<RawValue>> = None;
        let mut cause: Option<Box<RawValue>> = None;
        let mut meta: Option<Box<RawValue>> = None;
        let mut created_hook = false;
        let mut approval: Option<Value> = None;
        let mut sleep = false;
        let mut pending_hook: Option<Value> = None;
        while let Some(field) = map.next_key::<EntryField>()? {
            match field {
                EntryField::Ok => set_once(&mut ok, "ok", map.next_value()?)?,
                EntryField::Value => set_once(&mut value, "value", map.next_value()?)?,
                EntryField::Error => set_once(&mut error, "error", map.next_value()?)?,
                EntryField::Cause => set_once(&mut cause, "cause", map.next_value()?)?,
                EntryField::Meta => set_once(&mut meta, "meta", map.next_value()?)?,
                EntryField::CreatedHook => created_hook = map.next_value()?,
                EntryField::Approval => set_once(&mut approval, "approval", map.next_value()?)?,
                EntryField::Sleep => sleep = map.next_value()?,
                EntryField::PendingHook => {
                    set_once(&mut pending_hook, "pendingHook", map.next_value()?)?;
                }
                EntryField::Unknown => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let ok = ok.ok_or_else(|| de::Error::missing_field("ok"))?;
        if !ok {
            let parse = |raw: &Option<Box<RawValue>>| {
                raw.as_deref()
                    .map(|raw| serde_json::from_str::<Value>(raw.get()))
                    .transpose()
                    .map_err(de::Error::custom)
            };
            return Ok(StepEntry {
                outcome: Recorded::Err(Box::new(ErrorRecord {
                    // JSON.stringify drops an `undefined` error; it replays as null.
                    error: parse(&error)?.unwrap_or(Value::Null),
                    cause: parse(&cause)?,
                    meta: parse(&meta)?,
                    read: Some(ErrorText { error, cause, meta }),
                })),
            });
        }
        // JSON.stringify drops `value: undefined`: the step's value was `undefined`.
        let value = match value {
            Some(value) => value,
            None if !sleep && !created_hook && approval.is_none() => {
                return Ok(StepEntry {
                    outcome: Recorded::Undefined,
                });
            }
            None => RawValue::from_string("null".to_owned()).map_err(de::Error::custom)?,
        };
        if sleep {
            let wake_at: WakeAt = serde_json::from_str(value.get()).map_err(|_| {
                de::Error::custom(r#"a `sleep` entry must hold {"wakeAt": <milliseconds>}"#)
            })?;
            return Ok(StepEntry::sleep(wake_at.wake_at));
        }
        if let Some(approval) = approval {
            return Ok(StepEntry::approved(value, approval));
        }
        // A record that does not read as a pending hook is only a lost hint: the payload stands.
        if let Some(pending) =
            pending_hook.and_then(|pending| PendingHook::deserialize(pending).ok())
        {
            return Ok(StepEntry::delivered(value, pending));
        }
        if created_hook {
            let hook_id: String = serde_json::from_str(value.get()).map_err(|_| {
                de::Error::custom("a `createdHook` entry must hold the hook id as a string")
            })?;
            return Ok(StepEntry::created_hook(HookId::from(hook_id)));
        }
        Ok(StepEntry {
            outcome: Recorded::Ok(value),
        })
    }
}

impl Serialize for ErrorText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("ok", &false)?;
        if let Some(error) = &self.error {
            map.serialize_entry("error", error)?;
        }
        // awaitly's reader needs a cause object on every failure.
        match &self.cause {
            Some(cause) => map.serialize_entry("cause", cause)?,
            None => map.serialize_entry("cause", &undefined_cause())?,
        }
        if let Some(meta) = &self.meta {
            map.serialize_entry("meta", meta)?;
        }
        map.end()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WakeAt {
    wake_at: u64,
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

impl MaybePendingHook for StepEntry {
    fn pending_hook(&self) -> Option<PendingHook> {
        self.error().and_then(MaybePendingHook::pending_hook)
    }
}

#[cfg(test)]
mod proto_size {
    #[test]
    fn step_entry_is_24_bytes() {
        assert_eq!(std::mem::size_of::<super::StepEntry>(), 24);
    }
}
