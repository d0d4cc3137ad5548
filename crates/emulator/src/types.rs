//! The value types of the control API: group options, requesters and
//! rate limits. Plain data with their own checks; no state.

use serde::{Deserialize, Serialize};
use wa_groups_protocol::{JoinRequest, JoinRequestId};

use crate::Error;

/// A group's `join_approval_mode`, as `GroupInfo` reports it. The emulator
/// only reports it: join requests are pending in either mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinApprovalMode {
    /// `approval_required`: an admin approves each request (the default).
    #[default]
    ApprovalRequired,
    /// `auto_approve`.
    AutoApprove,
}

impl JoinApprovalMode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApprovalRequired => "approval_required",
            Self::AutoApprove => "auto_approve",
        }
    }
}

/// How to create a group. `GroupOptions::default()` is a group with the
/// emulator's default participant cap (8), `approval_required`, no subject
/// and a generated ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupOptions {
    /// How many participants (the business not counted) the group holds; the
    /// emulator's default (8) when `None`.
    #[serde(default, alias = "participantCap")]
    pub participant_cap: Option<u32>,
    /// The join approval mode; `approval_required` when `None`.
    #[serde(default, alias = "joinApprovalMode")]
    pub join_approval_mode: Option<JoinApprovalMode>,
    /// The group's subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The group's description.
    #[serde(default)]
    pub description: Option<String>,
    /// A fixed group ID (it must pass `GroupId` validation and be new);
    /// generated when `None`.
    #[serde(default, alias = "groupId")]
    pub group_id: Option<String>,
}

impl GroupOptions {
    /// Reads options from a JSON value (`null`: the defaults), as the
    /// control API and the language bindings take them; camelCase names
    /// are accepted too.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the field.
    pub fn from_value(value: serde_json::Value) -> Result<Self, Error> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value).map_err(|e| Error::invalid(format!("group options: {e}")))
    }

    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the participant cap.
    #[must_use]
    pub fn participant_cap(mut self, cap: u32) -> Self {
        self.participant_cap = Some(cap);
        self
    }

    /// Sets the join approval mode.
    #[must_use]
    pub fn join_approval_mode(mut self, mode: JoinApprovalMode) -> Self {
        self.join_approval_mode = Some(mode);
        self
    }

    /// Sets the subject.
    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Fixes the group ID.
    #[must_use]
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }
}

/// Who asks to join: a WhatsApp user, or a business-scoped user (known by
/// `user_id`, with no `wa_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requester {
    /// A user known by WhatsApp ID.
    WaId(String),
    /// A business-scoped user.
    BusinessScoped {
        /// The business-scoped user ID.
        user_id: String,
        /// The username, if any.
        username: Option<String>,
        /// The business-scoped parent user ID, if any.
        parent_user_id: Option<String>,
    },
}

impl Requester {
    /// The synthetic WhatsApp user number `n`: `1555` and 7 digits.
    pub fn synthetic(n: u64) -> Self {
        Self::WaId(format!("1555{:07}", n % 10_000_000))
    }

    /// The synthetic business-scoped user number `n`.
    pub fn synthetic_business_scoped(n: u64) -> Self {
        Self::BusinessScoped {
            user_id: format!("US.{}", 1_300_000_000_000_000_u64 + n),
            username: Some(format!("user_{n}")),
            parent_user_id: None,
        }
    }

    /// The `wa_id`, or for a business-scoped user the `user_id`: what
    /// [`Controller::participants`](crate::Controller::participants) lists.
    pub fn id(&self) -> &str {
        match self {
            Self::WaId(w) => w,
            Self::BusinessScoped { user_id, .. } => user_id,
        }
    }

    /// How `GroupInfo` lists this requester once they joined.
    pub(crate) fn participant(&self) -> wa_groups_protocol::Participant {
        let mut p = wa_groups_protocol::Participant::default();
        match self {
            Self::WaId(w) => p.wa_id = Some(w.clone()),
            Self::BusinessScoped {
                user_id, username, ..
            } => {
                p.user_id = Some(user_id.clone());
                p.username.clone_from(username);
            }
        }
        p
    }

    pub(crate) fn of(r: &JoinRequest) -> Self {
        match (&r.wa_id, &r.user_id) {
            (Some(w), _) => Self::WaId(w.clone()),
            (None, user_id) => Self::BusinessScoped {
                user_id: user_id.clone().unwrap_or_default(),
                username: r.username.clone(),
                parent_user_id: r.parent_user_id.clone(),
            },
        }
    }

    pub(crate) fn into_join_request(
        self,
        join_request_id: JoinRequestId,
        creation_timestamp: i64,
    ) -> JoinRequest {
        let mut r = JoinRequest::new(join_request_id, creation_timestamp);
        match self {
            Self::WaId(w) => r.wa_id = Some(w),
            Self::BusinessScoped {
                user_id,
                username,
                parent_user_id,
            } => {
                r.user_id = Some(user_id);
                r.username = username;
                r.parent_user_id = parent_user_id;
            }
        }
        r
    }
}

/// What one rate-limit bucket covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitScope {
    /// One bucket per group (the default).
    #[default]
    Group,
    /// One bucket for the business phone number: every group together.
    Phone,
}

/// A token bucket rate limit on the Graph API calls (list, approve, reject,
/// group info): `per_second` tokens a second, up to `burst` saved. A call
/// without a token is answered 131208, HTTP 429, with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Calls allowed per second, sustained
    /// ([`MIN_RATE_PER_SECOND`](crate::MIN_RATE_PER_SECOND) to [`MAX_RATE`](crate::MAX_RATE)).
    #[serde(
        alias = "perSecond",
        deserialize_with = "crate::input::number::<crate::input::PerSecond, _>"
    )]
    pub per_second: f64,
    /// Calls allowed at once; `per_second` (at least 1) when `None`.
    #[serde(
        default,
        deserialize_with = "crate::input::number_opt::<crate::input::Burst, _>"
    )]
    pub burst: Option<f64>,
    /// Per group or per phone number.
    #[serde(default)]
    pub scope: RateLimitScope,
}

impl RateLimit {
    /// Reads a rate limit from a JSON value (`null`: none), checked;
    /// camelCase names are accepted too.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the field.
    pub fn from_value(value: serde_json::Value) -> Result<Option<Self>, Error> {
        if value.is_null() {
            return Ok(None);
        }
        let limit: Self = serde_json::from_value(value)
            .map_err(|e| Error::invalid(format!("rate limit: {e}")))?;
        limit.validate()?;
        Ok(Some(limit))
    }

    /// `per_second` calls a second per group.
    pub fn per_group(per_second: f64) -> Self {
        Self {
            per_second,
            burst: None,
            scope: RateLimitScope::Group,
        }
    }

    /// `per_second` calls a second for the phone number.
    pub fn per_phone(per_second: f64) -> Self {
        Self {
            per_second,
            burst: None,
            scope: RateLimitScope::Phone,
        }
    }

    /// Sets the burst size.
    #[must_use]
    pub fn burst(mut self, burst: f64) -> Self {
        self.burst = Some(burst);
        self
    }

    pub(crate) fn burst_size(&self) -> f64 {
        self.burst.unwrap_or(self.per_second).max(1.0)
    }

    /// Checks the rate and burst are finite and within bounds, so the
    /// bucket's arithmetic can never overflow a `Duration`.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        use crate::input::{MAX_RATE, MIN_RATE_PER_SECOND, in_range};
        in_range(self.per_second, MIN_RATE_PER_SECOND, MAX_RATE, "per_second")?;
        if let Some(b) = self.burst {
            in_range(b, f64::MIN_POSITIVE, MAX_RATE, "burst")?;
        }
        Ok(())
    }
}

/// Faults in webhook delivery, as Meta's deliveries misbehave: each
/// delivery is dropped with probability `drop`, else sent twice with
/// probability `duplicate`, and each copy is held back a random time in
/// `delay_ms` (so deliveries overtake each other). Injected with
/// `POST /_emulator/faults` `{"kind": "webhook", "drop": 0.1, "duplicate":
/// 0.1, "delay_ms": [0, 500]}` (optional `seed`, and `times`: how many
/// deliveries it applies to, until cleared when absent) or
/// [`Fault::Webhook`](crate::Fault::Webhook).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WebhookFaults {
    /// The chance a delivery is lost (0 to 1).
    pub drop: f64,
    /// The chance a delivery is sent twice (0 to 1).
    pub duplicate: f64,
    /// The range of each copy's delay, in milliseconds (at most 60 000).
    pub delay_ms: (u64, u64),
    /// A seed for the random choices: the same seed makes the same ones.
    pub seed: Option<u64>,
    /// How many deliveries the faults apply to; `None`: until cleared.
    pub deliveries: Option<u64>,
}

impl Default for WebhookFaults {
    fn default() -> Self {
        Self {
            drop: 0.0,
            duplicate: 0.0,
            delay_ms: (0, 0),
            seed: None,
            deliveries: None,
        }
    }
}

/// The longest delay a webhook fault may hold a delivery back.
const MAX_WEBHOOK_DELAY_MS: u64 = 60_000;

impl WebhookFaults {
    /// Checks the probabilities and the delay range.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        crate::input::in_range(self.drop, 0.0, 1.0, "drop")?;
        crate::input::in_range(self.duplicate, 0.0, 1.0, "duplicate")?;
        let (lo, hi) = self.delay_ms;
        if lo > hi || hi > MAX_WEBHOOK_DELAY_MS {
            return Err(Error::invalid(format!(
                "delay_ms must be [min, max] with min <= max <= {MAX_WEBHOOK_DELAY_MS}"
            )));
        }
        if self.deliveries == Some(0) {
            return Err(Error::invalid("times must be at least 1"));
        }
        Ok(())
    }

    pub(crate) fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": "webhook",
            "drop": self.drop,
            "duplicate": self.duplicate,
            "delay_ms": [self.delay_ms.0, self.delay_ms.1],
            "seed": self.seed,
        })
    }
}

/// Country calling codes of the requester pool, with the digits that
/// follow each (so every `wa_id` has a plausible length).
const POOL_PREFIXES: [(&str, u32); 8] = [
    ("1", 10),
    ("44", 10),
    ("49", 11),
    ("55", 11),
    ("91", 10),
    ("234", 10),
    ("62", 11),
    ("52", 10),
];

/// Usernames of business-scoped requesters are built from these.
const POOL_WORDS: [&str; 8] = [
    "sunny", "maple", "river", "quartz", "nova", "ember", "cobalt", "willow",
];

/// A seedable source of varied requesters: WhatsApp users from several
/// countries (`wa_id` with the calling code first) and about one in six
/// business-scoped users (`user_id` and `username`, no `wa_id`), so that
/// moderation policies have something to match. The same seed gives the
/// same requesters.
#[derive(Debug, Clone)]
pub struct RequesterPool {
    rng: fastrand::Rng,
}

impl RequesterPool {
    /// A pool whose draws follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The next requester.
    pub fn draw(&mut self) -> Requester {
        if self.rng.u8(0..6) == 0 {
            let n = self.rng.u64(1_000_000_000..10_000_000_000);
            let word = POOL_WORDS[self.rng.usize(..POOL_WORDS.len())];
            return Requester::BusinessScoped {
                user_id: format!("US.{}", 1_300_000_000_000_000_u64 + n),
                username: Some(format!("{word}_{}", n % 10_000)),
                parent_user_id: None,
            };
        }
        let (prefix, digits) = POOL_PREFIXES[self.rng.usize(..POOL_PREFIXES.len())];
        let mut wa_id = String::with_capacity(prefix.len() + digits as usize);
        wa_id.push_str(prefix);
        // No leading zero after the calling code.
        wa_id.push(char::from(b'1' + self.rng.u8(0..9)));
        for _ in 1..digits {
            wa_id.push(char::from(b'0' + self.rng.u8(0..10)));
        }
        Requester::WaId(wa_id)
    }
}
