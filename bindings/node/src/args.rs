//! Arguments from JavaScript values to Rust values.
//!
//! Conversion only: a value of the wrong JavaScript type (a number for a
//! group ID, `1.5` for a count) cannot be handed to Rust at all and is an
//! [`InvalidInput`] naming the field. Every rule about the values themselves
//! (lengths, characters, ranges) is the transport's and the protocol
//! crate's; nothing here checks them.

use napi::bindgen_prelude::{Array, FromNapiValue, Object, Unknown};
use napi::{JsString, JsValue, ValueType};
use wa_groups::{Field, InvalidInput};

/// A `napi` failure while reading an argument (a getter that threw, say):
/// reported as the field's invalid input, so that it still rejects.
fn unreadable(field: Field, e: &napi::Error) -> InvalidInput {
    InvalidInput::new(field, format!("could not be read: {}", e.reason))
}

/// `undefined` and `null` both mean "not given".
fn is_absent(value: &Unknown<'_>, field: Field) -> Result<bool, InvalidInput> {
    let t = value.get_type().map_err(|e| unreadable(field, &e))?;
    Ok(matches!(t, ValueType::Undefined | ValueType::Null))
}

/// A JavaScript string as UTF-8, or `None` when it holds a lone surrogate.
///
/// napi's UTF-8 read turns a lone surrogate into U+FFFD, which would send
/// (or sign) a different value than the caller gave. Only a string that
/// reads back with a U+FFFD is read again as UTF-16 to tell a real U+FFFD
/// from a replaced surrogate, so well-formed strings cost one read.
pub(crate) fn well_formed(value: Unknown<'_>) -> napi::Result<Option<String>> {
    let utf8 = utf8(value)?;
    if !utf8.contains('\u{FFFD}') {
        return Ok(Some(utf8));
    }
    let utf16 = JsString::from_unknown(value)?.into_utf16()?;
    let lone = char::decode_utf16(utf16.as_slice().iter().copied()).any(|c| c.is_err());
    Ok((!lone).then_some(utf8))
}

/// A JavaScript string as UTF-8 (a lone surrogate as U+FFFD). A string
/// that fits a small stack buffer (IDs, tokens) is read in one pass; napi's
/// own conversion asks V8 for the UTF-8 length first, a second walk of the
/// string.
fn utf8(value: Unknown<'_>) -> napi::Result<String> {
    let mut buf = [0u8; 256];
    let mut len = 0usize;
    let raw = value.value();
    // SAFETY: `raw` is a live string value of this scope (its type was
    // checked), `buf` is writable for its whole length, `len` is valid.
    let status = unsafe {
        napi::sys::napi_get_value_string_utf8(
            raw.env,
            raw.value,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
        )
    };
    // V8 writes whole characters only: with room left for the longest
    // one (4 bytes) beside the terminator, the string ended.
    if status == napi::sys::Status::napi_ok
        && len + 4 < buf.len() - 1
        && let Ok(s) = std::str::from_utf8(&buf[..len])
    {
        return Ok(s.to_owned());
    }
    String::from_unknown(value)
}

/// A string argument (its type already checked) for `field`.
fn string_value(value: Unknown<'_>, field: Field) -> Result<String, InvalidInput> {
    well_formed(value)
        .map_err(|e| unreadable(field, &e))?
        .ok_or_else(|| {
            InvalidInput::new(
                field,
                "must be well-formed Unicode (it holds a lone surrogate)",
            )
        })
}

/// A required string.
pub(crate) fn string(value: Unknown<'_>, field: Field) -> Result<String, InvalidInput> {
    match value.get_type().map_err(|e| unreadable(field, &e))? {
        ValueType::String => string_value(value, field),
        ValueType::Undefined | ValueType::Null => Err(InvalidInput::new(field, "is required")),
        _ => Err(InvalidInput::new(field, "must be a string")),
    }
}

/// An optional string.
pub(crate) fn opt_string(value: Unknown<'_>, field: Field) -> Result<Option<String>, InvalidInput> {
    if is_absent(&value, field)? {
        return Ok(None);
    }
    string(value, field).map(Some)
}

/// An optional number.
pub(crate) fn opt_number(value: Unknown<'_>, field: Field) -> Result<Option<f64>, InvalidInput> {
    if is_absent(&value, field)? {
        return Ok(None);
    }
    match value.get_type().map_err(|e| unreadable(field, &e))? {
        ValueType::Number => f64::from_unknown(value)
            .map(Some)
            .map_err(|e| unreadable(field, &e)),
        _ => Err(InvalidInput::new(field, "must be a number")),
    }
}

/// An optional whole number that fits `T` (a count, a page size); its
/// range beyond that is for Rust to judge.
pub(crate) fn opt_whole<T: TryFrom<u64>>(
    value: Unknown<'_>,
    field: Field,
) -> Result<Option<T>, InvalidInput> {
    let Some(n) = opt_number(value, field)? else {
        return Ok(None);
    };
    let fits = n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64;
    let converted = if fits {
        T::try_from(n as u64).ok()
    } else {
        None
    };
    converted.map(Some).ok_or_else(|| {
        InvalidInput::new(
            field,
            "must be a whole number that is not negative and not too large",
        )
    })
}

/// An optional integer setting (a count). Only the type is checked here:
/// whether the value is in range (not negative, not zero) is the Rust
/// builder's to judge, so the rule and its message live in one place.
pub(crate) fn opt_integer(value: Unknown<'_>, field: Field) -> Result<Option<i64>, InvalidInput> {
    let Some(n) = opt_number(value, field)? else {
        return Ok(None);
    };
    if n.is_finite() && n.fract() == 0.0 {
        // Saturates beyond ±2^63, where the builder refuses it anyway.
        #[allow(
            clippy::cast_possible_truncation,
            reason = "integral, saturating by design"
        )]
        Ok(Some(n as i64))
    } else {
        Err(InvalidInput::new(field, "must be a whole number"))
    }
}

/// An optional plain object (options bags).
pub(crate) fn opt_object<'env>(
    value: Unknown<'env>,
    field: Field,
) -> Result<Option<Object<'env>>, InvalidInput> {
    if is_absent(&value, field)? {
        return Ok(None);
    }
    match value.get_type().map_err(|e| unreadable(field, &e))? {
        ValueType::Object => Object::from_unknown(value)
            .map(Some)
            .map_err(|e| unreadable(field, &e)),
        _ => Err(InvalidInput::new(field, "must be an object")),
    }
}

/// Property `key` of `obj` (`undefined` when `obj` is absent).
pub(crate) fn prop<'env>(
    obj: Option<&Object<'env>>,
    key: &str,
    field: Field,
) -> Result<Option<Unknown<'env>>, InvalidInput> {
    match obj {
        None => Ok(None),
        Some(o) => o
            .get::<Unknown<'env>>(key)
            .map_err(|e| unreadable(field, &e)),
    }
}

/// An array of strings (join request IDs). An element of another type is
/// invalid input located at its index. The array's `length` is checked
/// against the protocol's cap before anything is allocated from it (a
/// sparse array can claim `2**32 - 1`).
pub(crate) fn string_list(
    value: Unknown<'_>,
    list_field: Field,
    item_field: Field,
) -> Result<Vec<String>, InvalidInput> {
    if is_absent(&value, list_field)? {
        return Err(InvalidInput::new(list_field, "is required"));
    }
    let is_array = value.is_array().map_err(|e| unreadable(list_field, &e))?;
    if !is_array {
        return Err(InvalidInput::new(list_field, "must be an array of strings"));
    }
    let array = Array::from_unknown(value).map_err(|e| unreadable(list_field, &e))?;
    let len = array.len();
    wa_groups::protocol::check_id_count(len as usize)?;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let item = array
            .get::<Unknown<'_>>(i)
            .map_err(|e| unreadable(item_field, &e))?
            .ok_or_else(|| InvalidInput::new(item_field, "must be a string").at(i as usize))?;
        match item.get_type().map_err(|e| unreadable(item_field, &e))? {
            ValueType::String => {
                out.push(string_value(item, item_field).map_err(|e| e.at(i as usize))?)
            }
            _ => return Err(InvalidInput::new(item_field, "must be a string").at(i as usize)),
        }
    }
    Ok(out)
}
