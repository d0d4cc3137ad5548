//! Parsing a delivery body into [`WebhookPayload`], tolerantly.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::COMMON_KEYS;
use super::types::*;
use crate::error::{DecodeError, Error};
use crate::model::ErrorDetail;

/// Parses a webhook delivery body.
///
/// # Errors
///
/// [`Error::Decode`] when the body is not JSON, or lacks a field the
/// envelope (`object`, `entry`, `entry[].id`, `entry[].changes`, `field`,
/// `value`) or a group change (`metadata`, `groups`, and each group's
/// `timestamp`, `group_id`, `type`, a join request's `join_request_id`)
/// requires, or has one of the wrong JSON type. The reason names the path,
/// such as `entry[0].changes[1].value.groups[0].timestamp`.
pub fn parse(raw_body: &[u8]) -> Result<WebhookPayload, Error> {
    let value: Value = serde_json::from_slice(raw_body)
        .map_err(|e| decode(raw_body, format!("webhook body is not valid JSON: {e}")))?;
    Parser { body: raw_body }.payload(&value)
}

pub(super) fn decode(body: &[u8], reason: impl Into<String>) -> Error {
    Error::Decode(DecodeError::new(None, reason, body))
}

struct Parser<'b> {
    body: &'b [u8],
}

impl Parser<'_> {
    fn err(&self, reason: String) -> Error {
        decode(self.body, reason)
    }

    fn object<'v>(&self, value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, Error> {
        value
            .as_object()
            .ok_or_else(|| self.err(format!("`{path}` is not a JSON object")))
    }

    fn required<'v>(
        &self,
        map: &'v Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<&'v Value, Error> {
        match map.get(key) {
            Some(Value::Null) | None => Err(self.err(format!("missing `{}`", join(path, key)))),
            Some(v) => Ok(v),
        }
    }

    fn array<'v>(
        &self,
        map: &'v Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<&'v [Value], Error> {
        self.required(map, key, path)?
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.err(format!("`{}` is not a JSON array", join(path, key))))
    }

    fn optional_array<'v>(
        &self,
        map: &'v Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<&'v [Value], Error> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(_) => self.array(map, key, path),
        }
    }

    /// A string, or a number written as its decimal text.
    fn string(&self, value: &Value, path: &str) -> Result<String, Error> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(self.err(format!("`{path}` is not a string"))),
        }
    }

    fn required_string(
        &self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<String, Error> {
        let v = self.required(map, key, path)?;
        self.string(v, &join(path, key))
    }

    fn optional_string(
        &self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<String>, Error> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.string(v, &join(path, key)).map(Some),
        }
    }

    /// An integer, or a string of digits.
    fn integer(&self, value: &Value, path: &str) -> Result<i64, Error> {
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse::<i64>().ok()
                } else {
                    None
                }
            }
            _ => None,
        };
        parsed.ok_or_else(|| self.err(format!("`{path}` is not an integer or a string of digits")))
    }

    fn payload(&self, value: &Value) -> Result<WebhookPayload, Error> {
        let map = value
            .as_object()
            .ok_or_else(|| self.err("webhook body is not a JSON object".to_owned()))?;
        let object = self.required_string(map, "object", "")?;
        let entries = self
            .array(map, "entry", "")?
            .iter()
            .enumerate()
            .map(|(i, e)| self.entry(e, &format!("entry[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(WebhookPayload { object, entries })
    }

    fn entry(&self, value: &Value, path: &str) -> Result<Entry, Error> {
        let map = self.object(value, path)?;
        let id = self.required_string(map, "id", path)?;
        let changes = self
            .array(map, "changes", path)?
            .iter()
            .enumerate()
            .map(|(i, c)| self.change(c, &format!("{path}.changes[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Entry { id, changes })
    }

    fn change(&self, value: &Value, path: &str) -> Result<Change, Error> {
        let map = self.object(value, path)?;
        let field = self.required_string(map, "field", path)?;
        let value = self.required(map, "value", path)?;
        let Some(group_field) = GroupField::from_name(&field) else {
            return Ok(Change::Other(OtherChange {
                field,
                value: RawJson::from_value(value),
            }));
        };
        let path = join(path, "value");
        let value = self.object(value, &path)?;
        let metadata = self.object(
            self.required(value, "metadata", &path)?,
            &join(&path, "metadata"),
        )?;
        let metadata_path = join(&path, "metadata");
        let metadata = Metadata {
            display_phone_number: self.required_string(
                metadata,
                "display_phone_number",
                &metadata_path,
            )?,
            phone_number_id: self.required_string(metadata, "phone_number_id", &metadata_path)?,
        };
        let events = self
            .array(value, "groups", &path)?
            .iter()
            .enumerate()
            .map(|(i, g)| self.group_event(g, &format!("{path}.groups[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Change::Group(GroupChange {
            field: group_field,
            metadata,
            events,
        }))
    }

    fn group_event(&self, value: &Value, path: &str) -> Result<GroupEvent, Error> {
        let map = self.object(value, path)?;
        let timestamp = self.integer(
            self.required(map, "timestamp", path)?,
            &join(path, "timestamp"),
        )?;
        let group_id = self.required_string(map, "group_id", path)?;
        let event_type = self.required_string(map, "type", path)?;
        let request_id = self.optional_string(map, "request_id", path)?;
        let errors = self
            .optional_array(map, "errors", path)?
            .iter()
            .enumerate()
            .map(|(i, e)| self.event_error(e, &format!("{path}.errors[{i}]")))
            .collect::<Result<_, _>>()?;
        let kind = match event_type.as_str() {
            "group_join_request_created" => {
                GroupEventKind::JoinRequestCreated(self.join_request(map, path)?)
            }
            "group_join_request_revoked" => {
                GroupEventKind::JoinRequestRevoked(self.join_request(map, path)?)
            }
            "group_participants_add" | "group_add_participants" => {
                GroupEventKind::ParticipantsAdded(ParticipantsAdded {
                    reason: self.optional_string(map, "reason", path)?,
                    join_request_id: self.optional_string(map, "join_request_id", path)?,
                    participants: self.participants(map, "added_participants", path)?,
                })
            }
            "group_participants_remove" | "group_remove_participants" => {
                GroupEventKind::ParticipantsRemoved(ParticipantsRemoved {
                    initiated_by: self.optional_string(map, "initiated_by", path)?,
                    participants: self.participants(map, "removed_participants", path)?,
                })
            }
            "group_create" => GroupEventKind::GroupCreated(GroupCreated {
                subject: self.optional_string(map, "subject", path)?,
                description: self.optional_string(map, "description", path)?,
                invite_link: self.optional_string(map, "invite_link", path)?,
                join_approval_mode: self.optional_string(map, "join_approval_mode", path)?,
                participants: self.participants(map, "added_participants", path)?,
            }),
            "group_delete" => GroupEventKind::GroupDeleted,
            "group_settings_update" => GroupEventKind::SettingsUpdated(self.settings(map, path)?),
            "group_suspend" => GroupEventKind::Suspended,
            "group_suspend_cleared" => GroupEventKind::SuspensionCleared,
            _ => GroupEventKind::Unknown(UnknownEvent {
                fields: raw_fields(map, &[]),
                event_type,
            }),
        };
        Ok(GroupEvent {
            timestamp,
            group_id,
            request_id,
            errors,
            kind,
        })
    }

    fn join_request(
        &self,
        map: &Map<String, Value>,
        path: &str,
    ) -> Result<JoinRequestEvent, Error> {
        Ok(JoinRequestEvent {
            join_request_id: self.required_string(map, "join_request_id", path)?,
            wa_id: self.optional_string(map, "wa_id", path)?,
            user_id: self.optional_string(map, "user_id", path)?,
            parent_user_id: self.optional_string(map, "parent_user_id", path)?,
            username: self.optional_string(map, "username", path)?,
            reason: self.optional_string(map, "reason", path)?,
        })
    }

    fn participants(
        &self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Vec<GroupParticipant>, Error> {
        let list_path = join(path, key);
        self.optional_array(map, key, path)?
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let path = format!("{list_path}[{i}]");
                let p = self.object(p, &path)?;
                Ok(GroupParticipant {
                    input: self.optional_string(p, "input", &path)?,
                    wa_id: self.optional_string(p, "wa_id", &path)?,
                    user_id: self.optional_string(p, "user_id", &path)?,
                    parent_user_id: self.optional_string(p, "parent_user_id", &path)?,
                    username: self.optional_string(p, "username", &path)?,
                })
            })
            .collect()
    }

    fn settings(&self, map: &Map<String, Value>, path: &str) -> Result<SettingsUpdate, Error> {
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        let subject = text("subject");
        let description = text("description");
        let profile_picture = match map.get("profile_picture") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let pic_path = join(path, "profile_picture");
                let pic = self.object(v, &pic_path)?;
                Some(ProfilePicture {
                    mime_type: self.optional_string(pic, "mime_type", &pic_path)?,
                    sha256: self.optional_string(pic, "sha256", &pic_path)?,
                })
            }
        };
        let mut typed: Vec<&str> = vec!["profile_picture"];
        if subject.is_some() {
            typed.push("subject");
        }
        if description.is_some() {
            typed.push("description");
        }
        Ok(SettingsUpdate {
            subject,
            description,
            profile_picture,
            other_fields: raw_fields(map, &typed),
        })
    }

    fn event_error(&self, value: &Value, path: &str) -> Result<ErrorDetail, Error> {
        let map = self.object(value, path)?;
        let code = self.integer(self.required(map, "code", path)?, &join(path, "code"))?;
        let details = match map.get("error_data") {
            Some(Value::Object(data)) => {
                self.optional_string(data, "details", &join(path, "error_data"))?
            }
            _ => None,
        };
        Ok(ErrorDetail {
            code,
            title: self.optional_string(map, "title", path)?,
            message: self.optional_string(map, "message", path)?,
            details,
        })
    }
}

/// The keys of `map` that are neither common keys nor in `skip`, as raw JSON.
fn raw_fields(map: &Map<String, Value>, skip: &[&str]) -> BTreeMap<String, RawJson> {
    map.iter()
        .filter(|(k, _)| !COMMON_KEYS.contains(&k.as_str()) && !skip.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), RawJson::from_value(v)))
        .collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_accepts_digits_only() {
        let p = Parser { body: b"" };
        assert_eq!(
            p.integer(&Value::from("1750269342"), "t").ok(),
            Some(1_750_269_342)
        );
        assert_eq!(p.integer(&Value::from(12), "t").ok(), Some(12));
        assert!(p.integer(&Value::from("12a"), "t").is_err());
        assert!(p.integer(&Value::from(""), "t").is_err());
        assert!(p.integer(&Value::from("+1"), "t").is_err());
        assert!(p.integer(&Value::from(1.5), "t").is_err());
        assert!(
            p.integer(&Value::from("99999999999999999999"), "t")
                .is_err()
        );
    }
}
