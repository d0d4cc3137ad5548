//! The join request state machine, as pure functions: a [`Record`] and an
//! [`Event`] in, the next record out. No I/O, no clock (time comes in as
//! Unix milliseconds), no randomness; the store runs it inside its
//! transactions and the property tests run it alone.
//!
//! ```text
//! pending ──► approving / rejecting ──► approved / rejected      (terminal)
//!    │  ▲            │    ├──► held (group full)
//!    │  └── held ◄───┘    ├──► gone, failed                        (terminal)
//!    ├──► held ──► approving / rejecting (a person, or room in the group)
//!    └──► revoked, gone                                          (terminal)
//! ```
//!
//! Guarantees (see `tests` below): a repeated event changes nothing; the
//! delivery events (created, revoked, listed) reach the same state in any
//! order; a terminal state is never left; an ID is sent only from
//! `approving` / `rejecting`.

use std::fmt;
use std::str::FromStr;

/// The reason recorded when a 131213 answer to a retry confirms an earlier
/// attempt whose answer was lost.
pub const CONFIRMED_BY_RETRY: &str = "confirmed_by_retry";

/// The reason recorded when the group had no room (131204).
pub const GROUP_FULL: &str = "group_full";

/// The rule name of a person's decision (`moderate decide`).
pub const MANUAL_RULE: &str = "manual";

/// Where a join request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Known, not yet decided.
    Pending,
    /// Decided to approve, not yet applied.
    Approving,
    /// Decided to reject, not yet applied.
    Rejecting,
    /// Left for a person (the policy said hold, or the group is full).
    Held,
    /// The API confirmed the approval.
    Approved,
    /// The API confirmed the rejection.
    Rejected,
    /// The requester withdrew the request.
    Revoked,
    /// The API no longer knows it, and we never applied it.
    Gone,
    /// A permanent error other than the above.
    Failed,
}

impl State {
    /// Every state, in the order reports list them.
    pub const ALL: [Self; 9] = [
        Self::Pending,
        Self::Approving,
        Self::Rejecting,
        Self::Held,
        Self::Approved,
        Self::Rejected,
        Self::Revoked,
        Self::Gone,
        Self::Failed,
    ];

    /// The state's name, such as `approving`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approving => "approving",
            Self::Rejecting => "rejecting",
            Self::Held => "held",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Revoked => "revoked",
            Self::Gone => "gone",
            Self::Failed => "failed",
        }
    }

    /// Whether no event moves a record out of this state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::Rejected | Self::Revoked | Self::Gone | Self::Failed
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown state {s:?}"))
    }
}

/// What a decider says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Let the requester in.
    Approve,
    /// Turn the request down.
    Reject,
    /// Leave it for a person.
    Hold,
}

impl Decision {
    /// `approve`, `reject` or `hold`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Hold => "hold",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "approve" => Ok(Self::Approve),
            "reject" => Ok(Self::Reject),
            "hold" => Ok(Self::Hold),
            other => Err(format!(
                "unknown decision {other:?} (expected approve, reject or hold)"
            )),
        }
    }
}

/// Who asks to join: by `wa_id`, or for a business-scoped user by
/// `user_id` and maybe `username`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Requester {
    /// The requester's WhatsApp ID.
    pub wa_id: Option<String>,
    /// The business-scoped user ID.
    pub user_id: Option<String>,
    /// The business-scoped username.
    pub username: Option<String>,
}

impl Requester {
    /// Fills the fields this one lacks from `other`: the first value seen
    /// of each field stays, so merging is order-independent for one
    /// requester.
    fn merge(&mut self, other: &Self) {
        fill(&mut self.wa_id, &other.wa_id);
        fill(&mut self.user_id, &other.user_id);
        fill(&mut self.username, &other.username);
    }
}

fn fill(slot: &mut Option<String>, from: &Option<String>) {
    if slot.is_none() {
        slot.clone_from(from);
    }
}

/// One join request as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The group.
    pub group_id: String,
    /// The join request.
    pub join_request_id: String,
    /// Who asks.
    pub requester: Requester,
    /// When the request was made (Unix seconds), once a create or a listing
    /// said so; a tombstone left by an early revoke has none.
    pub created_at: Option<i64>,
    /// Where it is.
    pub state: State,
    /// What was decided, once decided.
    pub decision: Option<Decision>,
    /// The rule that decided (`manual` for a person).
    pub rule: Option<String>,
    /// Why the last transition happened, when there is more to say
    /// (`group_full`, `confirmed_by_retry`, an error).
    pub reason: Option<String>,
    /// The Graph error code of a `failed` record.
    pub code: Option<i64>,
    /// Approve or reject calls sent for it.
    pub attempts: u32,
    /// When we first heard of it (Unix ms).
    pub first_seen_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
    /// Not to be sent before this time (Unix ms): the backoff after a
    /// transient failure.
    pub not_before: i64,
}

impl Record {
    fn new(group_id: &str, join_request_id: &str, state: State, now: i64) -> Self {
        Self {
            group_id: group_id.to_owned(),
            join_request_id: join_request_id.to_owned(),
            requester: Requester::default(),
            created_at: None,
            state,
            decision: None,
            rule: None,
            reason: None,
            code: None,
            attempts: 0,
            first_seen_at: now,
            updated_at: now,
            not_before: 0,
        }
    }

    /// The action to send for this record, only from `approving` /
    /// `rejecting`; `None` in every other state.
    pub fn sendable(&self) -> Option<wa_groups::Action> {
        match self.state {
            State::Approving => Some(wa_groups::Action::Approve),
            State::Rejecting => Some(wa_groups::Action::Reject),
            _ => None,
        }
    }
}

/// What can happen to a join request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A `group_join_request_created` webhook.
    Created {
        /// Who asks.
        requester: Requester,
        /// When (Unix seconds).
        created_at: i64,
    },
    /// A `group_join_request_revoked` webhook.
    Revoked,
    /// The request was in a listing of the group's pending requests.
    Listed {
        /// Who asks.
        requester: Requester,
        /// When (Unix seconds).
        created_at: i64,
    },
    /// A complete listing that began at `listing_started_at` (Unix ms) did
    /// not hold the request.
    Absent {
        /// When the listing began.
        listing_started_at: i64,
    },
    /// The decider (policy, callback) decided a pending request.
    Decided {
        /// The decision.
        decision: Decision,
        /// The rule that decided.
        rule: String,
        /// Why, when the rule alone does not say: what a user's failing
        /// decider raised (recorded as the record's and the audit row's
        /// reason).
        reason: Option<String>,
    },
    /// A person decided a pending or held request (rule `manual`).
    Manual {
        /// Approve or reject (hold leaves it as it is).
        decision: Decision,
    },
    /// The group may have room again: a `group_full` hold goes back to
    /// `approving`.
    Retry,
    /// An approve or reject call for it is about to be sent.
    Sending,
    /// The API confirmed the approval or rejection.
    Applied,
    /// The API said the group is full (131204).
    GroupFull,
    /// The API does not know the request (131213).
    NotFound,
    /// A transient failure (rate limit, 5xx, transport) after the client's
    /// retries: try again at `until` (Unix ms).
    Backoff {
        /// When to try again.
        until: i64,
        /// What failed.
        reason: String,
    },
    /// A permanent error with its Graph code.
    Failed {
        /// The Graph error code.
        code: i64,
        /// What failed.
        reason: String,
    },
}

impl Event {
    /// A short name for logs and metrics, such as `created`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "created",
            Self::Revoked => "revoked",
            Self::Listed { .. } => "listed",
            Self::Absent { .. } => "absent",
            Self::Decided { .. } => "decided",
            Self::Manual { .. } => "manual",
            Self::Retry => "retry",
            Self::Sending => "sending",
            Self::Applied => "applied",
            Self::GroupFull => "group_full",
            Self::NotFound => "not_found",
            Self::Backoff { .. } => "backoff",
            Self::Failed { .. } => "failed",
        }
    }
}

/// The result of [`apply`]: the next record, and whether anything changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state before (`None` when the record is new).
    pub from: Option<State>,
    /// The record after the event.
    pub record: Record,
    /// Whether the record differs from before (a new record counts).
    pub changed: bool,
}

impl Transition {
    /// Whether the state moved (or the record was created): what the audit
    /// trail records.
    pub fn state_changed(&self) -> bool {
        self.from != Some(self.record.state)
    }
}

/// Applies `event` to the record of `(group_id, join_request_id)`, which is
/// `current` (`None` when the ledger has none yet), at `now` (Unix ms).
///
/// A `None` record is created only by `Created`, `Listed` (as `pending`)
/// and `Revoked` (as a `revoked` tombstone); any other event on an unknown
/// record returns `None`.
pub fn apply(
    current: Option<&Record>,
    group_id: &str,
    join_request_id: &str,
    event: &Event,
    now: i64,
) -> Option<Transition> {
    let Some(before) = current else {
        let mut rec = match event {
            Event::Created {
                requester,
                created_at,
            }
            | Event::Listed {
                requester,
                created_at,
            } => {
                let mut r = Record::new(group_id, join_request_id, State::Pending, now);
                r.requester = requester.clone();
                r.created_at = Some(*created_at);
                r
            }
            Event::Revoked => Record::new(group_id, join_request_id, State::Revoked, now),
            _ => return None,
        };
        rec.updated_at = now;
        return Some(Transition {
            from: None,
            record: rec,
            changed: true,
        });
    };
    let mut next = before.clone();
    step(&mut next, event);
    let changed = next != *before;
    if changed {
        next.updated_at = now;
    }
    Some(Transition {
        from: Some(before.state),
        record: next,
        changed,
    })
}

fn goto(r: &mut Record, state: State, reason: Option<&str>) {
    r.state = state;
    r.reason = reason.map(str::to_owned);
}

/// The state machine proper: mutates `r` in place.
fn step(r: &mut Record, event: &Event) {
    use State as S;
    // Requester details and the creation time are facts about the request,
    // not about its state: they fill in whenever they arrive (a tombstone
    // learns who it was), which keeps delivery events order-independent.
    if let Event::Created {
        requester,
        created_at,
    }
    | Event::Listed {
        requester,
        created_at,
    } = event
    {
        r.requester.merge(requester);
        if r.created_at.is_none() {
            r.created_at = Some(*created_at);
        }
    }
    if r.state.is_terminal() {
        return;
    }
    match (r.state, event) {
        (S::Pending | S::Held, Event::Revoked) => goto(r, S::Revoked, None),
        (S::Pending | S::Held, Event::Absent { listing_started_at })
            if r.first_seen_at < *listing_started_at =>
        {
            goto(r, S::Gone, Some("absent_from_listing"));
        }
        (
            S::Pending,
            Event::Decided {
                decision,
                rule,
                reason,
            },
        ) => {
            r.decision = Some(*decision);
            r.rule = Some(rule.clone());
            let to = match decision {
                Decision::Approve => S::Approving,
                Decision::Reject => S::Rejecting,
                Decision::Hold => S::Held,
            };
            goto(r, to, reason.as_deref());
        }
        (S::Pending | S::Held, Event::Manual { decision }) => {
            let to = match decision {
                Decision::Approve => S::Approving,
                Decision::Reject => S::Rejecting,
                Decision::Hold => S::Held,
            };
            r.decision = Some(*decision);
            r.rule = Some(MANUAL_RULE.to_owned());
            r.not_before = 0;
            goto(r, to, None);
        }
        (S::Held, Event::Retry) if r.reason.as_deref() == Some(GROUP_FULL) => {
            r.not_before = 0;
            goto(r, S::Approving, None);
        }
        (S::Approving | S::Rejecting, Event::Sending) => r.attempts += 1,
        (S::Approving, Event::Applied) => goto(r, S::Approved, None),
        (S::Rejecting, Event::Applied) => goto(r, S::Rejected, None),
        (S::Approving, Event::GroupFull) => goto(r, S::Held, Some(GROUP_FULL)),
        (S::Approving | S::Rejecting, Event::NotFound) => {
            // More than one attempt means an earlier one went out and its
            // answer was lost: the API's 131213 now is that attempt's result.
            if r.attempts > 1 {
                let to = if r.state == S::Approving {
                    S::Approved
                } else {
                    S::Rejected
                };
                goto(r, to, Some(CONFIRMED_BY_RETRY));
            } else {
                goto(r, S::Gone, Some("not_found"));
            }
        }
        (S::Approving | S::Rejecting, Event::Backoff { until, reason }) => {
            r.not_before = r.not_before.max(*until);
            r.reason = Some(reason.clone());
        }
        (S::Approving | S::Rejecting, Event::Failed { code, reason }) => {
            r.code = Some(*code);
            goto(r, S::Failed, Some(reason));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const G: &str = "G";
    const J: &str = "J";

    fn requester() -> Requester {
        Requester {
            wa_id: Some("15550001".into()),
            user_id: None,
            username: None,
        }
    }

    fn created() -> Event {
        Event::Created {
            requester: requester(),
            created_at: 100,
        }
    }

    fn listed() -> Event {
        Event::Listed {
            requester: requester(),
            created_at: 100,
        }
    }

    fn run(events: &[Event]) -> Option<Record> {
        let mut rec: Option<Record> = None;
        for (i, e) in events.iter().enumerate() {
            if let Some(t) = apply(rec.as_ref(), G, J, e, i as i64) {
                rec = Some(t.record);
            }
        }
        rec
    }

    /// The parts of a record that do not depend on when events arrived.
    fn essence(r: &Option<Record>) -> Option<(State, Requester, Option<i64>)> {
        r.as_ref()
            .map(|r| (r.state, r.requester.clone(), r.created_at))
    }

    fn any_event() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(created()),
            Just(Event::Revoked),
            Just(listed()),
            (0i64..20).prop_map(|t| Event::Absent {
                listing_started_at: t
            }),
            prop_oneof![
                Just(Decision::Approve),
                Just(Decision::Reject),
                Just(Decision::Hold)
            ]
            .prop_map(|decision| Event::Decided {
                decision,
                rule: "r".into(),
                reason: None
            }),
            prop_oneof![Just(Decision::Approve), Just(Decision::Reject)]
                .prop_map(|decision| Event::Manual { decision }),
            Just(Event::Retry),
            Just(Event::Sending),
            Just(Event::Applied),
            Just(Event::GroupFull),
            Just(Event::NotFound),
            (0i64..50).prop_map(|until| Event::Backoff {
                until,
                reason: "rate_limited".into()
            }),
            Just(Event::Failed {
                code: 100,
                reason: "bad".into()
            }),
        ]
    }

    proptest! {
        /// The delivery events reach the same state in any order and any
        /// number of repeats.
        #[test]
        fn delivery_events_commute(
            (events, shuffled) in proptest::collection::vec(0usize..3, 1..12)
                .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        ) {
            let all = [created(), Event::Revoked, listed()];
            let seq = |picks: &[usize]| picks.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
            let a = essence(&run(&seq(&events)));
            prop_assert_eq!(&a, &essence(&run(&seq(&shuffled))));
            // The final state depends only on which kinds occurred.
            let expected = if events.contains(&1) { State::Revoked } else { State::Pending };
            prop_assert_eq!(a.map(|x| x.0), Some(expected));
        }

        /// Applying any event twice in a row changes nothing the second
        /// time, except `Sending`, which counts attempts.
        #[test]
        fn repeated_event_changes_nothing(
            prefix in proptest::collection::vec(any_event(), 0..10),
            e in any_event(),
        ) {
            prop_assume!(e != Event::Sending);
            let mut rec = run(&prefix);
            if let Some(t) = apply(rec.as_ref(), G, J, &e, 100) {
                rec = Some(t.record);
            }
            let again = apply(rec.as_ref(), G, J, &e, 200);
            if let Some(t) = again {
                prop_assert!(!t.changed, "{e:?} changed {rec:?} into {:?}", t.record);
            }
        }

        /// No event sequence leaves a terminal state, and a record is sent
        /// only from approving / rejecting.
        #[test]
        fn terminal_is_never_left(events in proptest::collection::vec(any_event(), 0..30)) {
            let mut rec: Option<Record> = None;
            let mut terminal: Option<State> = None;
            for (i, e) in events.iter().enumerate() {
                if let Some(t) = apply(rec.as_ref(), G, J, e, i as i64) {
                    if let Some(st) = terminal {
                        prop_assert_eq!(t.record.state, st);
                    }
                    if t.record.state.is_terminal() {
                        terminal = Some(t.record.state);
                    }
                    if *e == Event::Sending && t.changed {
                        prop_assert!(matches!(t.from, Some(State::Approving | State::Rejecting)));
                    }
                    let sendable = t.record.sendable().is_some();
                    prop_assert_eq!(
                        sendable,
                        matches!(t.record.state, State::Approving | State::Rejecting)
                    );
                    rec = Some(t.record);
                }
            }
        }
    }

    #[test]
    fn revoke_before_create_leaves_a_tombstone() {
        let rec = run(&[Event::Revoked, created(), listed()]).unwrap();
        assert_eq!(rec.state, State::Revoked);
        assert_eq!(rec.requester, requester());
    }

    #[test]
    fn lost_answer_then_not_found_is_confirmed_by_retry() {
        let approve = Event::Decided {
            decision: Decision::Approve,
            rule: "r".into(),
            reason: None,
        };
        // First attempt's answer lost, second attempt answered 131213.
        let rec = run(&[
            created(),
            approve.clone(),
            Event::Sending,
            Event::Sending,
            Event::NotFound,
        ])
        .unwrap();
        assert_eq!(rec.state, State::Approved);
        assert_eq!(rec.reason.as_deref(), Some(CONFIRMED_BY_RETRY));
        // A single attempt answered 131213: the request is gone.
        let rec = run(&[created(), approve, Event::Sending, Event::NotFound]).unwrap();
        assert_eq!(rec.state, State::Gone);
    }

    #[test]
    fn group_full_holds_then_retry_approves() {
        let rec = run(&[
            created(),
            Event::Decided {
                decision: Decision::Approve,
                rule: "r".into(),
                reason: None,
            },
            Event::Sending,
            Event::GroupFull,
        ])
        .unwrap();
        assert_eq!(
            (rec.state, rec.reason.as_deref()),
            (State::Held, Some(GROUP_FULL))
        );
        let t = apply(Some(&rec), G, J, &Event::Retry, 99).unwrap();
        assert_eq!(t.record.state, State::Approving);
        // A policy hold is not retried by itself.
        let held = run(&[
            created(),
            Event::Decided {
                decision: Decision::Hold,
                rule: "r".into(),
                reason: None,
            },
        ])
        .unwrap();
        assert!(!apply(Some(&held), G, J, &Event::Retry, 99).unwrap().changed);
    }

    #[test]
    fn absent_spares_records_seen_after_the_listing_began() {
        let rec = apply(None, G, J, &created(), 50).unwrap().record;
        let t = apply(
            Some(&rec),
            G,
            J,
            &Event::Absent {
                listing_started_at: 40,
            },
            60,
        )
        .unwrap();
        assert_eq!(t.record.state, State::Pending);
        let t = apply(
            Some(&rec),
            G,
            J,
            &Event::Absent {
                listing_started_at: 51,
            },
            60,
        )
        .unwrap();
        assert_eq!(t.record.state, State::Gone);
    }

    #[test]
    fn unknown_record_is_created_only_by_delivery_events() {
        assert!(apply(None, G, J, &Event::Applied, 0).is_none());
        assert!(apply(None, G, J, &Event::Sending, 0).is_none());
        assert_eq!(
            apply(None, G, J, &Event::Revoked, 0).unwrap().record.state,
            State::Revoked
        );
    }
}
