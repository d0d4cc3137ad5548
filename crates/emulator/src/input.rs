//! Bounds on every control input, and the number checks that enforce them
//! while deserializing (so a bad value is refused before anything is
//! allocated, with an error naming the field).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, Visitor};

use crate::Error;

/// Join requests one call may add: bounded so that one call never holds
/// the state lock for long, however large the number asked for.
pub const MAX_JOIN_REQUESTS_PER_CALL: u64 = 10_000;

/// Participants one call may add.
pub const MAX_PARTICIPANTS_PER_CALL: u64 = 10_000;

/// Groups one seed may create (entries times `count`).
pub const MAX_SEED_GROUPS: u64 = 100_000;

/// Join requests one seed may create in all.
pub const MAX_SEED_JOIN_REQUESTS: u64 = 1_000_000;

/// How far one `advance_clock` may move the clock: 100 years.
pub const MAX_ADVANCE_SECONDS: u64 = 100 * 366 * 86_400;

/// The latest time the clock may reach: the end of the year 9999, so that
/// timestamps stay valid dates and milliseconds never wrap.
pub const MAX_CLOCK_SECONDS: i64 = 253_402_300_799;

/// The slowest rate limit, in calls a second: slower ones would make
/// `Retry-After` longer than a day.
pub const MIN_RATE_PER_SECOND: f64 = 0.001;

/// The fastest rate limit, and the largest burst.
pub const MAX_RATE: f64 = 1_000_000.0;

/// `n` if it is at most `max`, else an error naming `field`.
pub(crate) fn at_most(n: u64, max: u64, field: &str) -> Result<u64, Error> {
    if n > max {
        return Err(Error::invalid(format!(
            "{field} must be at most {max}, not {n}"
        )));
    }
    Ok(n)
}

/// A finite number in `min..=max`, else an error naming `field`.
pub(crate) fn in_range(v: f64, min: f64, max: f64, field: &str) -> Result<f64, Error> {
    if !(v.is_finite() && v >= min && v <= max) {
        return Err(Error::invalid(format!(
            "{field} must be a number from {min} to {max}, not {v}"
        )));
    }
    Ok(v)
}

/// Field names for [`whole`]'s error messages.
pub(crate) trait FieldName {
    const NAME: &'static str;
}

/// Deserializes a whole number (an integer, or a float with no fraction,
/// as JavaScript numbers arrive) that fits a `u64`. Its own bound is
/// checked by the caller, against the field's maximum.
pub(crate) fn whole<'de, F: FieldName, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(WholeVisitor::<F>(PhantomData))
}

/// [`whole`] for an optional field.
pub(crate) fn whole_opt<'de, F: FieldName, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    struct Opt<F>(PhantomData<F>);
    impl<'de, F: FieldName> Visitor<'de> for Opt<F> {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} as a whole number or null", F::NAME)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            whole::<F, D>(d).map(Some)
        }
    }
    d.deserialize_option(Opt::<F>(PhantomData))
}

/// Deserializes any JSON number as an `f64`, refusing other types with an
/// error naming the field (its range is checked by the caller).
pub(crate) fn number<'de, F: FieldName, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct V<F>(PhantomData<F>);
    impl<F: FieldName> Visitor<'_> for V<F> {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} as a number", F::NAME)
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "a rate or a duration: precision past 2^53 does not matter"
        )]
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        #[allow(clippy::cast_precision_loss, reason = "as above")]
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            Err(E::custom(format_args!(
                "{} must be a number, not the string {v:?}",
                F::NAME
            )))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<f64, E> {
            Err(E::custom(format_args!(
                "{} must be a number, not {v}",
                F::NAME
            )))
        }
        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Err(E::custom(format_args!(
                "{} must be a number, not null",
                F::NAME
            )))
        }
    }
    d.deserialize_any(V::<F>(PhantomData))
}

/// [`number`] for an optional field.
pub(crate) fn number_opt<'de, F: FieldName, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<f64>, D::Error> {
    struct Opt<F>(PhantomData<F>);
    impl<'de, F: FieldName> Visitor<'de> for Opt<F> {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} as a number or null", F::NAME)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            number::<F, D>(d).map(Some)
        }
    }
    d.deserialize_option(Opt::<F>(PhantomData))
}

struct WholeVisitor<F>(PhantomData<F>);

impl<F: FieldName> WholeVisitor<F> {
    fn bad<E: de::Error>(what: impl fmt::Display) -> E {
        E::custom(format_args!(
            "{} must be a whole number, not negative, not {what}",
            F::NAME
        ))
    }
}

impl<F: FieldName> Visitor<'_> for WholeVisitor<F> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a whole number", F::NAME)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| Self::bad(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // 2^64 is exactly representable; anything below it and whole fits.
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 18_446_744_073_709_551_616.0 {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked just above: whole, non-negative, below 2^64"
            )]
            return Ok(v as u64);
        }
        Err(Self::bad(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        Err(Self::bad(format_args!("the string {v:?}")))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<u64, E> {
        Err(Self::bad(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Err(Self::bad("null"))
    }
}

/// Declares a [`FieldName`] marker type.
macro_rules! field_name {
    ($($ty:ident = $name:literal),* $(,)?) => {$(
        pub(crate) struct $ty;
        impl $crate::input::FieldName for $ty {
            const NAME: &'static str = $name;
        }
    )*};
}

field_name!(
    Count = "count",
    AdvanceSeconds = "advance_seconds",
    PerSecond = "per_second",
    Burst = "burst",
    Ms = "ms",
    RetryAfter = "retry_after",
    Bytes = "bytes",
    Times = "times",
    Seed = "seed",
    Port = "port",
    PageSize = "page_size",
    ParticipantCap = "participant_cap",
    CursorTtl = "cursor_ttl",
    FixedClock = "fixed_clock",
);
