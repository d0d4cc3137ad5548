//! Splitting a long ID list into requests and merging their outcomes back
//! into one, in input order, with nothing the caller asked for unreported
//! and nothing it did not ask for counted.

use std::collections::{HashMap, HashSet};

use crate::error::Error;
use crate::ids::{JoinRequestId, JoinRequestIds};
use crate::model::{Action, DecisionOutcome, ErrorDetail, FailedJoinRequest, MAX_ERRORS_KEPT};

/// Up to this many IDs, duplicates and positions are found by a linear
/// scan: cheaper than hashing for the common one-request call.
const SMALL: usize = 32;

/// The requests one approve or reject call is split into.
#[derive(Debug, Clone)]
pub struct ChunkPlan {
    action: Action,
    chunks: Vec<JoinRequestIds>,
    /// IDs per chunk: chunk `i` holds distinct IDs `i * per_chunk ..`.
    per_chunk: usize,
    distinct: usize,
    /// Position of each distinct ID in the input, for lists over [`SMALL`].
    index: Option<HashMap<JoinRequestId, usize>>,
}

impl ChunkPlan {
    /// Splits `ids` into chunks of at most `max_per_chunk` (at least 1),
    /// dropping duplicates (the first occurrence is kept).
    pub fn new(action: Action, ids: &JoinRequestIds, max_per_chunk: usize) -> Self {
        let max = max_per_chunk.max(1);
        let mut distinct: Vec<JoinRequestId> = Vec::with_capacity(ids.len());
        let index = if ids.len() <= SMALL {
            for id in ids {
                if !distinct.contains(id) {
                    distinct.push(id.clone());
                }
            }
            None
        } else {
            let mut index = HashMap::with_capacity(ids.len());
            for id in ids {
                if !index.contains_key(id) {
                    index.insert(id.clone(), distinct.len());
                    distinct.push(id.clone());
                }
            }
            Some(index)
        };
        let count = distinct.len();
        let chunks = if count <= max {
            JoinRequestIds::from_ids(distinct).into_iter().collect()
        } else {
            distinct
                .chunks(max)
                .filter_map(|c| JoinRequestIds::from_ids(c.to_vec()).ok())
                .collect()
        };
        Self {
            action,
            chunks,
            per_chunk: max,
            distinct: count,
            index,
        }
    }

    /// Where `id` stands among the distinct IDs, if it was asked for.
    fn position(&self, id: &JoinRequestId) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(id).copied(),
            None => self
                .chunks
                .iter()
                .flat_map(JoinRequestIds::as_slice)
                .position(|known| known == id),
        }
    }

    /// The chunks, in input order; never empty.
    pub fn chunks(&self) -> &[JoinRequestIds] {
        &self.chunks
    }

    /// The number of distinct IDs.
    pub fn distinct_ids(&self) -> usize {
        self.distinct
    }

    /// Merges one result per chunk (in chunk order) into one outcome.
    ///
    /// Succeeded and failed IDs come out in input order. A chunk that failed
    /// as a whole puts each of its IDs in `failed` with that error; an ID
    /// the API left out of a response goes to `failed` with one fixed-size
    /// "unreported" error (the call-level errors, which may say why, are in
    /// `errors` once, never copied per ID: the outcome stays the size of the
    /// responses). `errors` keeps at most [`MAX_ERRORS_KEPT`] items across
    /// chunks and counts the rest in `errors_omitted`. An ID a response
    /// reports that its request did not send is never counted as succeeded
    /// or failed: it goes to `unexpected` (bounded). Only when every chunk
    /// failed with the same error is that error returned instead.
    pub fn merge(
        &self,
        results: Vec<Result<DecisionOutcome, Error>>,
    ) -> Result<DecisionOutcome, Error> {
        let all_failed_alike = results.iter().all(Result::is_err)
            && results.windows(2).all(|w| match (&w[0], &w[1]) {
                (Err(a), Err(b)) => a.same_failure(b),
                _ => false,
            });
        if all_failed_alike {
            if let Some(Err(e)) = results.into_iter().next() {
                return Err(e);
            }
            return Ok(DecisionOutcome::new(self.action));
        }

        let single = results.len() == 1;
        let mut merged = DecisionOutcome::new(self.action);
        let mut seen = vec![false; self.distinct];
        let mut unexpected = HashSet::new();
        for (n, (chunk, result)) in self.chunks.iter().zip(results).enumerate() {
            match result {
                Ok(outcome) => {
                    if single {
                        merged.request_id = outcome.request_id;
                    }
                    for id in outcome.succeeded {
                        match self.mark(&mut seen, &id, n) {
                            Mark::New => merged.succeeded.push(id),
                            Mark::Again => {}
                            Mark::NotSent => note_unexpected(&mut merged, &mut unexpected, id),
                        }
                    }
                    for f in outcome.failed {
                        match self.mark(&mut seen, &f.join_request_id, n) {
                            Mark::New => merged.failed.push(f),
                            Mark::Again => {}
                            Mark::NotSent => {
                                note_unexpected(&mut merged, &mut unexpected, f.join_request_id);
                            }
                        }
                    }
                    let mut summary = None;
                    for id in chunk {
                        if self.mark(&mut seen, id, n) == Mark::New {
                            let summary = summary.get_or_insert_with(|| {
                                unreported(&outcome.errors, outcome.errors_omitted)
                            });
                            merged.failed.push(FailedJoinRequest {
                                join_request_id: id.clone(),
                                errors: vec![summary.clone()],
                            });
                        }
                    }
                    merged.errors_omitted += outcome.errors_omitted;
                    let room = MAX_ERRORS_KEPT.saturating_sub(merged.errors.len());
                    merged.errors_omitted += outcome.errors.len().saturating_sub(room);
                    merged.errors.extend(outcome.errors.into_iter().take(room));
                }
                Err(e) => {
                    let detail = ErrorDetail::from_error(&e);
                    for id in chunk {
                        if self.mark(&mut seen, id, n) == Mark::New {
                            merged.failed.push(FailedJoinRequest {
                                join_request_id: id.clone(),
                                errors: vec![detail.clone()],
                            });
                        }
                    }
                }
            }
        }
        // Every ID kept in `succeeded` and `failed` was asked for.
        let pos = |id: &JoinRequestId| self.position(id).unwrap_or(usize::MAX);
        merged.succeeded.sort_by_key(pos);
        merged.failed.sort_by_key(|f| pos(&f.join_request_id));
        Ok(merged)
    }

    /// Marks `id`, reported in the answer to chunk `chunk`: new, already
    /// reported (an ID the API lists twice is counted once), or not sent
    /// in that chunk at all.
    fn mark(&self, seen: &mut [bool], id: &JoinRequestId, chunk: usize) -> Mark {
        match self.position(id) {
            Some(i) if i / self.per_chunk == chunk => {
                if std::mem::replace(&mut seen[i], true) {
                    Mark::Again
                } else {
                    Mark::New
                }
            }
            _ => Mark::NotSent,
        }
    }
}

/// What a reported ID is to the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Again,
    NotSent,
}

/// Keeps an ID the API reported without being sent it: once, and at most
/// [`MAX_ERRORS_KEPT`] of them; further reports are only counted.
fn note_unexpected(
    merged: &mut DecisionOutcome,
    kept: &mut HashSet<JoinRequestId>,
    id: JoinRequestId,
) {
    if kept.contains(&id) {
        return;
    }
    if kept.len() < MAX_ERRORS_KEPT {
        kept.insert(id.clone());
        merged.unexpected.push(id);
    } else {
        merged.unexpected_omitted += 1;
    }
}

/// The error of an ID a response did not mention: fixed size whatever the
/// response held. It carries the code of the first call-level error, if
/// any, and points at the call-level errors instead of copying them.
fn unreported(errors: &[ErrorDetail], omitted: usize) -> ErrorDetail {
    let call_errors = errors.len() + omitted;
    ErrorDetail {
        code: errors.first().map_or(0, |e| e.code),
        title: Some("unreported".to_owned()),
        message: Some(if call_errors == 0 {
            "the API response did not mention this join request".to_owned()
        } else {
            format!(
                "the API response did not mention this join request; see its {call_errors} call-level error(s)"
            )
        }),
        details: None,
    }
}
