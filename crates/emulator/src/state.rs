//! The in-memory state behind one lock, and the operations on it. Every
//! operation is short and allocation-light; webhook payloads are built
//! outside the lock from the events an operation returns.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wa_groups_protocol::{
    Action, ApiError, Cursor, Cursors, DecisionOutcome, FailedJoinRequest, GroupInfo, JoinRequest,
    JoinRequestId, JoinRequestIds, ListQuery, ListResponse, Paging, server::bad_request,
};

use crate::codec::{self, CursorData};
use crate::types::{GroupOptions, JoinApprovalMode, RateLimit, RateLimitScope, Requester};
use crate::{Error, errors as graph};

/// A token bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
    epoch: u64,
}

impl Bucket {
    fn new() -> Self {
        Self {
            tokens: 0.0,
            last: Instant::now(),
            epoch: u64::MAX,
        }
    }

    /// The tokens there are at `now`, without taking one: a full bucket
    /// under a limit set since (a new `epoch`), else refilled since the
    /// last call.
    fn tokens_at(&self, limit: &RateLimit, epoch: u64, now: Instant) -> f64 {
        let burst = limit.burst_size();
        if self.epoch != epoch {
            return burst;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + elapsed * limit.per_second).min(burst)
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, limit: &RateLimit, epoch: u64, now: Instant) -> Result<(), Duration> {
        *self = Self {
            tokens: self.tokens_at(limit, epoch, now),
            last: now,
            epoch,
        };
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // Rates are validated (at least 0.001 a second), so this is
            // finite; saturate anyway rather than panic under the lock.
            Err(
                Duration::try_from_secs_f64((1.0 - self.tokens) / limit.per_second)
                    .unwrap_or(Duration::MAX),
            )
        }
    }
}

/// How much of a rate limit is used, as a usage header reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Percent of the burst used: 100 only when a call now would be
    /// refused, so a client that keeps it below 100 is never refused.
    pub(crate) percent: u8,
    /// Whole minutes until a call is admitted again (0 within a minute).
    pub(crate) regain_minutes: u64,
}

/// Something that happened, for webhooks.
#[derive(Debug, Clone)]
pub(crate) enum EventKind {
    Created,
    Revoked,
    Added,
}

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) kind: EventKind,
    pub(crate) group_id: Arc<str>,
    pub(crate) request: JoinRequest,
    pub(crate) timestamp: i64,
    pub(crate) request_id: Option<String>,
}

/// The events of one operation (empty unless asked for: nobody listens
/// without a webhook).
pub(crate) type Events = Vec<Event>;

pub(crate) struct Group {
    num: u64,
    id: Arc<str>,
    subject: Option<String>,
    description: Option<String>,
    mode: JoinApprovalMode,
    cap: u32,
    created: i64,
    pending: BTreeMap<u64, JoinRequest>,
    participants: Vec<Requester>,
    bucket: Bucket,
}

/// A range of sequence numbers reserved in one group.
pub(crate) struct Reserved {
    group_num: u64,
    pub(crate) seq: u64,
}

impl Reserved {
    /// The IDs and requests for `requesters`, numbered from the reserved
    /// start; built without the lock.
    pub(crate) fn build(
        &self,
        requesters: impl Iterator<Item = Requester>,
        now: i64,
    ) -> (Vec<String>, Vec<(u64, JoinRequest)>) {
        let mut ids = Vec::new();
        let mut batch = Vec::new();
        for (seq, who) in (self.seq..).zip(requesters) {
            let id = codec::join_request_id(self.group_num, seq);
            // Our own IDs are plain base64: always valid.
            let Ok(jr_id) = JoinRequestId::new(&id) else {
                continue;
            };
            batch.push((seq, who.into_join_request(jr_id, now)));
            ids.push(id);
        }
        (ids, batch)
    }
}

/// What a list call needs besides the state.
pub(crate) struct ListCtx<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) version: &'a str,
    pub(crate) page_size: u32,
    pub(crate) cursor_ttl_ms: i64,
    pub(crate) cursor_key: u64,
    pub(crate) now_ms: i64,
}

pub(crate) struct State {
    groups: HashMap<Arc<str>, Group>,
    next_group: u64,
    next_seq: u64,
    rate: Option<RateLimit>,
    rate_epoch: u64,
    phone_bucket: Bucket,
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            groups: HashMap::new(),
            next_group: 1,
            next_seq: 1,
            rate: None,
            rate_epoch: 0,
            phone_bucket: Bucket::new(),
        }
    }

    fn group(&self, id: &str) -> Result<&Group, Error> {
        self.groups
            .get(id)
            .ok_or_else(|| Error::UnknownGroup(id.to_owned()))
    }

    fn group_mut(&mut self, id: &str) -> Result<&mut Group, Error> {
        self.groups
            .get_mut(id)
            .ok_or_else(|| Error::UnknownGroup(id.to_owned()))
    }

    fn events(emit: bool) -> Option<Events> {
        emit.then(Vec::new)
    }

    // --- control operations ------------------------------------------------

    pub(crate) fn create_group(
        &mut self,
        opts: &GroupOptions,
        default_cap: u32,
        phone: &str,
        now: i64,
    ) -> Result<String, Error> {
        let num = self.next_group;
        let id: Arc<str> = match &opts.group_id {
            Some(id) => {
                wa_groups_protocol::GroupId::new(id).map_err(|e| Error::invalid(e.to_string()))?;
                if self.groups.contains_key(id.as_str()) {
                    return Err(Error::invalid(format!("group {id} already exists")));
                }
                id.as_str().into()
            }
            None => codec::group_id(phone, num).into(),
        };
        self.next_group += 1;
        let group = Group {
            num,
            id: Arc::clone(&id),
            subject: opts.subject.clone(),
            description: opts.description.clone(),
            mode: opts.join_approval_mode.unwrap_or_default(),
            cap: opts.participant_cap.unwrap_or(default_cap),
            created: now,
            pending: BTreeMap::new(),
            participants: Vec::new(),
            bucket: Bucket::new(),
        };
        self.groups.insert(Arc::clone(&id), group);
        Ok(id.to_string())
    }

    pub(crate) fn group_ids(&self) -> Vec<String> {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by_key(|g| g.num);
        groups.into_iter().map(|g| g.id.to_string()).collect()
    }

    pub(crate) fn group_summary(&self, id: &str) -> Result<serde_json::Value, Error> {
        let g = self.group(id)?;
        Ok(serde_json::json!({
            "group_id": &*g.id,
            "subject": g.subject,
            "description": g.description,
            "join_approval_mode": g.mode.as_str(),
            "participant_cap": g.cap,
            "creation_timestamp": g.created,
            "pending_join_requests": g.pending.len(),
            "participants": g.participants.len(),
        }))
    }

    /// Reserves `count` sequence numbers in group `group_id`, so the
    /// requests can be built outside the lock.
    pub(crate) fn reserve(&mut self, group_id: &str, count: u64) -> Result<Reserved, Error> {
        let g = self.group(group_id)?;
        let reserved = Reserved {
            group_num: g.num,
            seq: self.next_seq,
        };
        self.next_seq += count;
        Ok(reserved)
    }

    /// Inserts requests built from a [`Reserved`] range; returns the events.
    pub(crate) fn insert_pending(
        &mut self,
        group_id: &str,
        batch: Vec<(u64, JoinRequest)>,
        now: i64,
        emit: bool,
    ) -> Result<Events, Error> {
        let mut events = Self::events(emit);
        let g = self.group_mut(group_id)?;
        if let Some(ev) = events.as_mut() {
            ev.reserve(batch.len());
        }
        for (seq, request) in batch {
            if let Some(ev) = events.as_mut() {
                ev.push(Event {
                    kind: EventKind::Created,
                    group_id: Arc::clone(&g.id),
                    request: request.clone(),
                    timestamp: now,
                    request_id: None,
                });
            }
            g.pending.insert(seq, request);
        }
        Ok(events.unwrap_or_default())
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub(crate) fn revoke(
        &mut self,
        group_id: &str,
        jr: &str,
        now: i64,
        emit: bool,
    ) -> Result<Events, Error> {
        let mut events = Self::events(emit);
        let g = self.group_mut(group_id)?;
        let seq = pending_seq(g, jr).ok_or_else(|| Error::UnknownJoinRequest(jr.to_owned()))?;
        let request = g
            .pending
            .remove(&seq)
            .ok_or_else(|| Error::UnknownJoinRequest(jr.to_owned()))?;
        let gid = Arc::clone(&g.id);
        if let Some(ev) = events.as_mut() {
            ev.push(Event {
                kind: EventKind::Revoked,
                group_id: gid,
                request,
                timestamp: now,
                request_id: None,
            });
        }
        Ok(events.unwrap_or_default())
    }

    pub(crate) fn pending(&self, group_id: &str) -> Result<Vec<JoinRequest>, Error> {
        Ok(self.group(group_id)?.pending.values().cloned().collect())
    }

    pub(crate) fn participants(&self, group_id: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .group(group_id)?
            .participants
            .iter()
            .map(|p| p.id().to_owned())
            .collect())
    }

    /// Whether `count` more participants fit under the group's cap.
    pub(crate) fn check_room(&self, group_id: &str, count: u64) -> Result<(), Error> {
        let g = self.group(group_id)?;
        if (g.participants.len() as u64).saturating_add(count) > u64::from(g.cap) {
            return Err(Error::invalid(format!(
                "count: group {group_id} would exceed its participant cap of {}",
                g.cap
            )));
        }
        Ok(())
    }

    pub(crate) fn add_participants(
        &mut self,
        group_id: &str,
        who: Vec<Requester>,
    ) -> Result<(), Error> {
        self.check_room(group_id, who.len() as u64)?;
        self.group_mut(group_id)?.participants.extend(who);
        Ok(())
    }

    pub(crate) fn set_rate_limit(&mut self, limit: Option<RateLimit>) {
        self.rate = limit;
        self.rate_epoch += 1;
    }

    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        self.rate
    }

    /// The usage of the rate limit that applies to calls on `group_id`;
    /// `None` without a limit or for an unknown group.
    pub(crate) fn usage(&self, group_id: &str, now: Instant) -> Option<Usage> {
        let limit = self.rate.as_ref()?;
        let bucket = match limit.scope {
            RateLimitScope::Group => &self.groups.get(group_id)?.bucket,
            RateLimitScope::Phone => &self.phone_bucket,
        };
        let burst = limit.burst_size();
        let tokens = bucket.tokens_at(limit, self.rate_epoch, now);
        if tokens < 1.0 {
            let wait = (1.0 - tokens) / limit.per_second;
            return Some(Usage {
                percent: 100,
                regain_minutes: (wait / 60.0).floor() as u64,
            });
        }
        let used = ((burst - tokens) / burst * 100.0).round();
        Some(Usage {
            percent: (used as u8).min(99),
            regain_minutes: 0,
        })
    }

    // --- Graph API operations ----------------------------------------------

    /// The group of an API call, after the rate limiter admitted the call.
    fn admit(&mut self, group_id: &str, now: Instant) -> Result<&mut Group, ApiError> {
        let g = self
            .groups
            .get_mut(group_id)
            .ok_or_else(|| graph::unknown_group(group_id))?;
        if let Some(limit) = &self.rate {
            let bucket = match limit.scope {
                RateLimitScope::Group => &mut g.bucket,
                RateLimitScope::Phone => &mut self.phone_bucket,
            };
            bucket.take(limit, self.rate_epoch, now).map_err(|wait| {
                graph::rate_limited(
                    wa_groups_protocol::codes::JOIN_REQUEST_RATE_LIMIT,
                    Some(Duration::from_secs(
                        wait.as_secs()
                            .saturating_add(u64::from(wait.subsec_nanos() > 0))
                            .max(1),
                    )),
                )
            })?;
        }
        Ok(g)
    }

    pub(crate) fn list(
        &mut self,
        group_id: &str,
        opts: &ListQuery,
        ctx: &ListCtx<'_>,
        now: Instant,
    ) -> Result<ListResponse, ApiError> {
        let g = self.admit(group_id, now)?;
        let limit = opts.limit.unwrap_or(ctx.page_size).max(1) as usize;
        let check = |c: &Cursor| -> Result<u64, ApiError> {
            let d = codec::decode_cursor(ctx.cursor_key, c.as_str())
                .filter(|d| d.group_num == g.num)
                .ok_or_else(|| {
                    bad_request("(#100) Invalid cursor: not a cursor of this group's join requests")
                })?;
            if ctx.now_ms.saturating_sub(d.issued_ms) > ctx.cursor_ttl_ms {
                return Err(graph::stale_cursor("The cursor expired"));
            }
            if !g.pending.contains_key(&d.seq) {
                return Err(graph::stale_cursor(
                    "The join request the cursor points at is no longer pending",
                ));
            }
            Ok(d.seq)
        };
        let page: Vec<(u64, &JoinRequest)>;
        let (more_before, more_after);
        if let Some(before) = &opts.before {
            let seq = check(before)?;
            let mut items: Vec<(u64, &JoinRequest)> = g
                .pending
                .range(..seq)
                .rev()
                .take(limit + 1)
                .map(|(k, v)| (*k, v))
                .collect();
            more_before = items.len() > limit;
            items.truncate(limit);
            items.reverse();
            page = items;
            more_after = true;
        } else {
            let start = match &opts.after {
                Some(after) => Bound::Excluded(check(after)?),
                None => Bound::Unbounded,
            };
            let mut items: Vec<(u64, &JoinRequest)> = g
                .pending
                .range((start, Bound::Unbounded))
                .take(limit + 1)
                .map(|(k, v)| (*k, v))
                .collect();
            more_after = items.len() > limit;
            items.truncate(limit);
            more_before = items
                .first()
                .is_some_and(|(first, _)| g.pending.range(..*first).next_back().is_some());
            page = items;
        }
        let (Some(&(first, _)), Some(&(last, _))) = (page.first(), page.last()) else {
            return Ok(ListResponse::default());
        };
        let cursor = |seq| {
            codec::encode_cursor(
                ctx.cursor_key,
                CursorData {
                    group_num: g.num,
                    seq,
                    issued_ms: ctx.now_ms,
                },
            )
        };
        let before = cursor(first);
        let after = cursor(last);
        let url = |key: &str, c: &str| {
            format!(
                "{}/{}/{}/join_requests?limit={limit}&{key}={c}",
                ctx.base_url, ctx.version, g.id
            )
        };
        let mut paging = Paging::default();
        paging.previous = more_before.then(|| url("before", &before));
        paging.next = more_after.then(|| url("after", &after));
        let mut cursors = Cursors::default();
        cursors.before = Some(before);
        cursors.after = Some(after);
        paging.cursors = Some(cursors);
        let mut list = ListResponse::default();
        list.data = page.into_iter().map(|(_, r)| r.clone()).collect();
        list.paging = Some(paging);
        Ok(list)
    }

    pub(crate) fn decide(
        &mut self,
        group_id: &str,
        action: Action,
        ids: &JoinRequestIds,
        now: i64,
        request_id: &str,
        emit: bool,
    ) -> Result<(DecisionOutcome, Events), ApiError> {
        let mut events = Self::events(emit);
        let g = self.admit(group_id, Instant::now())?;
        let mut out = DecisionOutcome::new(action);
        out.request_id = Some(request_id.to_owned());
        for id in ids {
            let Some(seq) = pending_seq(g, id.as_str()) else {
                out.failed.push(FailedJoinRequest::new(
                    id.clone(),
                    vec![graph::item_not_found()],
                ));
                continue;
            };
            match action {
                Action::Approve => {
                    if g.participants.len() >= g.cap as usize {
                        out.failed.push(FailedJoinRequest::new(
                            id.clone(),
                            vec![graph::item_group_full(g.cap)],
                        ));
                        continue;
                    }
                    if let Some(request) = g.pending.remove(&seq) {
                        g.participants.push(Requester::of(&request));
                        if let Some(ev) = events.as_mut() {
                            ev.push(Event {
                                kind: EventKind::Added,
                                group_id: Arc::clone(&g.id),
                                request,
                                timestamp: now,
                                request_id: Some(request_id.to_owned()),
                            });
                        }
                    }
                }
                Action::Reject => {
                    g.pending.remove(&seq);
                }
            }
            out.succeeded.push(id.clone());
        }
        Ok((out, events.unwrap_or_default()))
    }

    pub(crate) fn group_info(
        &mut self,
        group_id: &str,
        fields: &[String],
        now: Instant,
    ) -> Result<GroupInfo, ApiError> {
        let g = self.admit(group_id, now)?;
        let want = |f: &str| fields.iter().any(|x| x == f);
        let mut info = GroupInfo::default();
        info.id = Some(g.id.to_string());
        if want("messaging_product") {
            info.messaging_product = Some("whatsapp".to_owned());
        }
        if want("join_approval_mode") {
            info.join_approval_mode = Some(g.mode.as_str().to_owned());
        }
        if want("subject") {
            info.subject = g.subject.clone();
        }
        if want("description") {
            info.description = g.description.clone();
        }
        if want("suspended") {
            info.suspended = Some(false);
        }
        if want("creation_timestamp") {
            info.creation_timestamp = Some(g.created);
        }
        if want("participants") {
            info.participants = Some(g.participants.iter().map(Requester::participant).collect());
        }
        if want("total_participant_count") {
            info.total_participant_count = Some(g.participants.len() as i64);
        }
        Ok(info)
    }
}

/// The sequence of `id` when it is a pending request of `g`.
fn pending_seq(g: &Group, id: &str) -> Option<u64> {
    let (num, seq) = codec::parse_join_request_id(id)?;
    (num == g.num
        && g.pending
            .get(&seq)
            .is_some_and(|r| r.join_request_id == *id))
    .then_some(seq)
}
