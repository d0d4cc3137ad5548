//! Seed files: groups and pending join requests to start with.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::types::{GroupOptions, JoinApprovalMode};

/// Starting state for an emulator, as JSON (`wa-groups emulator --seed
/// FILE`, [`Controller::apply_seed`](crate::Controller::apply_seed), `POST /_emulator/seed`). Unknown keys
/// are refused, so a typo does not go unnoticed.
///
/// ```json
/// {
///   "groups": [
///     {"subject": "Book club", "join_requests": 5},
///     {"group_id": "Y2FwaV9ncm91cDpkZW1v", "participant_cap": 3, "participants": 2,
///      "join_requests": 2, "business_scoped_join_requests": 1},
///     {"subject": "Load", "count": 1000, "join_requests": 3}
///   ]
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// The groups, created in order.
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
}

/// One entry of [`Seed::groups`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroup {
    /// A fixed group ID (only with `count` 1); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `approval_required` (default) or `auto_approve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_approval_mode: Option<JoinApprovalMode>,
    /// The participant cap; the emulator's default (8) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_cap: Option<u32>,
    /// Participants already in the group (the business not counted).
    #[serde(default)]
    pub participants: u32,
    /// Pending join requests from WhatsApp users (`wa_id`).
    #[serde(default)]
    pub join_requests: u32,
    /// Pending join requests from business-scoped users (`user_id`, `username`).
    #[serde(default)]
    pub business_scoped_join_requests: u32,
    /// How many such groups (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl SeedGroup {
    /// The options of each group this entry creates.
    pub(crate) fn options(&self) -> GroupOptions {
        GroupOptions {
            participant_cap: self.participant_cap,
            join_approval_mode: self.join_approval_mode,
            subject: self.subject.clone(),
            description: self.description.clone(),
            group_id: self.group_id.clone(),
        }
    }
}

/// A group a seed created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeededGroup {
    /// Its ID.
    pub group_id: String,
    /// Its pending join request IDs, oldest first.
    pub join_request_ids: Vec<String>,
}

impl Seed {
    /// Parses a seed file.
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] naming what is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let seed: Self = serde_json::from_slice(bytes).map_err(|e| Error::Seed(e.to_string()))?;
        seed.validate()?;
        Ok(seed)
    }

    /// Checks the seed's sizes before anything is created: at most
    /// [`MAX_SEED_GROUPS`](crate::MAX_SEED_GROUPS) groups and
    /// [`MAX_SEED_JOIN_REQUESTS`](crate::MAX_SEED_JOIN_REQUESTS) join
    /// requests in all, and per group no more than one call may add.
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] naming the entry and field.
    pub fn validate(&self) -> Result<(), Error> {
        use crate::input::{
            MAX_JOIN_REQUESTS_PER_CALL, MAX_PARTICIPANTS_PER_CALL, MAX_SEED_GROUPS,
            MAX_SEED_JOIN_REQUESTS,
        };
        let (mut groups, mut requests) = (0_u64, 0_u64);
        for (i, g) in self.groups.iter().enumerate() {
            let bad = |field: &str, max: u64| {
                Error::Seed(format!("groups[{i}].{field} must be at most {max}"))
            };
            if g.group_id.is_some() && g.count.is_some_and(|c| c != 1) {
                return Err(Error::Seed(format!("groups[{i}]: group_id needs count 1")));
            }
            if u64::from(g.participants) > MAX_PARTICIPANTS_PER_CALL {
                return Err(bad("participants", MAX_PARTICIPANTS_PER_CALL));
            }
            let per_group = u64::from(g.join_requests) + u64::from(g.business_scoped_join_requests);
            if u64::from(g.join_requests) > MAX_JOIN_REQUESTS_PER_CALL {
                return Err(bad("join_requests", MAX_JOIN_REQUESTS_PER_CALL));
            }
            if u64::from(g.business_scoped_join_requests) > MAX_JOIN_REQUESTS_PER_CALL {
                return Err(bad(
                    "business_scoped_join_requests",
                    MAX_JOIN_REQUESTS_PER_CALL,
                ));
            }
            let count = u64::from(g.count.unwrap_or(1));
            groups = groups.saturating_add(count);
            requests = requests.saturating_add(count.saturating_mul(per_group));
            if groups > MAX_SEED_GROUPS {
                return Err(Error::Seed(format!(
                    "groups[{i}].count: a seed may create at most {MAX_SEED_GROUPS} groups"
                )));
            }
            if requests > MAX_SEED_JOIN_REQUESTS {
                return Err(Error::Seed(format!(
                    "groups[{i}]: a seed may create at most {MAX_SEED_JOIN_REQUESTS} join requests"
                )));
            }
        }
        Ok(())
    }

    /// The seed as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}
