//! The emulator's settings as a serde value, so that every language binding
//! hands its users' options (a Python dict, a JavaScript object) to one
//! reader: field names, whole-number and port checks live here once.

use serde::Deserialize;

use crate::Error;
use crate::input::{self, whole_opt};

/// How to start an emulator, from JSON-like values: `{"access_token":
/// "t", "port": 0, "page_size": 25, "participant_cap": 8, "cursor_ttl":
/// 3600, "fixed_clock": 1750000000}`, every field optional. camelCase
/// names (`accessToken`, `pageSize`...) are accepted too, for JavaScript.
/// Unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// The access token the Graph endpoints accept.
    #[serde(default, alias = "accessToken")]
    pub access_token: Option<String>,
    /// The port on 127.0.0.1 (0: a free one).
    #[serde(default, deserialize_with = "whole_opt::<input::Port, _>")]
    pub port: Option<u64>,
    /// The page size of list calls without `limit` (1 to 1000).
    #[serde(
        default,
        alias = "pageSize",
        deserialize_with = "whole_opt::<input::PageSize, _>"
    )]
    pub page_size: Option<u64>,
    /// The participant cap of groups created without one.
    #[serde(
        default,
        alias = "participantCap",
        deserialize_with = "whole_opt::<input::ParticipantCap, _>"
    )]
    pub participant_cap: Option<u64>,
    /// How long a paging cursor stays valid, in seconds.
    #[serde(
        default,
        alias = "cursorTtl",
        deserialize_with = "input::number_opt::<input::CursorTtl, _>"
    )]
    pub cursor_ttl: Option<f64>,
    /// A fixed clock start, in Unix seconds.
    #[serde(
        default,
        alias = "fixedClock",
        deserialize_with = "whole_opt::<input::FixedClock, _>"
    )]
    pub fixed_clock: Option<u64>,
}

impl EmulatorConfig {
    /// Reads the settings from a JSON value (`null`: the defaults).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the field.
    pub fn from_value(value: serde_json::Value) -> Result<Self, Error> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value).map_err(|e| Error::invalid(format!("emulator options: {e}")))
    }

    /// A builder with these settings, after checking their ranges.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the field.
    pub fn builder(&self) -> Result<crate::EmulatorBuilder, Error> {
        let mut b = crate::Emulator::builder();
        if let Some(t) = &self.access_token {
            b = b.access_token(t.clone());
        }
        if let Some(p) = self.port {
            let port = u16::try_from(p)
                .map_err(|_| Error::invalid(format!("port must be 0 to 65535, not {p}")))?;
            b = b.port(port);
        }
        if let Some(n) = self.page_size {
            let n = input::at_most(n, 1000, "page_size")?;
            if n == 0 {
                return Err(Error::invalid("page_size must be 1 to 1000"));
            }
            b = b.page_size(u32::try_from(n).unwrap_or(1000));
        }
        if let Some(n) = self.participant_cap {
            let cap = u32::try_from(n).map_err(|_| {
                Error::invalid(format!("participant_cap must be at most {}", u32::MAX))
            })?;
            b = b.participant_cap(cap);
        }
        if let Some(s) = self.cursor_ttl {
            #[allow(clippy::cast_precision_loss, reason = "100 years in seconds is exact")]
            let max = input::MAX_ADVANCE_SECONDS as f64;
            let s = input::in_range(s, 0.0, max, "cursor_ttl")?;
            b = b.cursor_ttl(std::time::Duration::from_secs_f64(s));
        }
        if let Some(t) = self.fixed_clock {
            let t = input::at_most(t, input::MAX_CLOCK_SECONDS.unsigned_abs(), "fixed_clock")?;
            b = b.fixed_clock(i64::try_from(t).unwrap_or(input::MAX_CLOCK_SECONDS));
        }
        Ok(b)
    }
}

/// A count from a JavaScript number or any float: whole, not negative,
/// else an error naming `field` (its bound is checked where it is used).
///
/// # Errors
///
/// [`Error::InvalidInput`] naming `field`.
pub fn whole_number(value: f64, field: &str) -> Result<u64, Error> {
    if value.is_finite()
        && value >= 0.0
        && value.fract() == 0.0
        && value < 18_446_744_073_709_551_616.0
    {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked: whole, non-negative, below 2^64"
        )]
        return Ok(value as u64);
    }
    Err(Error::invalid(format!(
        "{field} must be a whole number, not negative, not {value}"
    )))
}
