//! What the subcommands print: aligned tables for people, one JSON document
//! with stable field names for programs (`--json`).

use serde_json::{Value, json};
use wa_groups::{
    Action, ApproveOutcome, ErrorDetail, FailedJoinRequest, JoinRequest, RejectOutcome,
};

use crate::Outcome;
use crate::cli::Format;

/// One group's listing.
pub(crate) struct Listed {
    pub(crate) group_id: String,
    pub(crate) result: wa_groups::Result<Vec<JoinRequest>>,
}

/// One group's approve or reject result, whichever it was.
pub(crate) struct Decided {
    pub(crate) succeeded: Vec<String>,
    pub(crate) failed: Vec<FailedJoinRequest>,
    pub(crate) errors: Vec<ErrorDetail>,
    /// Call-level errors the API sent beyond those kept.
    pub(crate) errors_omitted: usize,
    /// IDs the API reported without being sent them (bounded), and how
    /// many more such reports there were.
    pub(crate) unexpected: Vec<String>,
    pub(crate) unexpected_omitted: usize,
}

impl From<ApproveOutcome> for Decided {
    fn from(o: ApproveOutcome) -> Self {
        Self {
            succeeded: o
                .approved
                .into_iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            failed: o.failed,
            errors: o.errors,
            errors_omitted: o.errors_omitted,
            unexpected: o
                .unexpected
                .into_iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            unexpected_omitted: o.unexpected_omitted,
        }
    }
}

impl From<RejectOutcome> for Decided {
    fn from(o: RejectOutcome) -> Self {
        Self {
            succeeded: o
                .rejected
                .into_iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            failed: o.failed,
            errors: o.errors,
            errors_omitted: o.errors_omitted,
            unexpected: o
                .unexpected
                .into_iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            unexpected_omitted: o.unexpected_omitted,
        }
    }
}

/// A plain text table: columns padded to their widest cell.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new<const N: usize>(header: [&str; N]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are made safe for a terminal here, once.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| terminal_safe(&c).into_owned())
                .collect(),
        );
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let last = i + 1 == cells.len();
                out.push_str(cell);
                if !last {
                    let pad = widths
                        .get(i)
                        .copied()
                        .unwrap_or(0)
                        .saturating_sub(cell.chars().count());
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push('\n');
            out
        };
        let mut out = line(&self.header);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// `text` with every character a terminal would act on written as an
/// escape (`\u{1b}`): C0 and C1 controls, DEL, and the bidirectional
/// overrides that reorder what a person sees. Server-sent text (IDs,
/// usernames, Graph messages) reaches people through here, so a hostile
/// server cannot clear the screen, retitle the window or fake a line.
/// JSON output needs none of this: serde_json escapes controls itself.
pub(crate) fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds (proleptic Gregorian).
pub(crate) fn utc(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn requester(jr: &JoinRequest) -> String {
    match (&jr.wa_id, &jr.username, &jr.user_id) {
        (Some(wa), _, _) => wa.clone(),
        (None, Some(name), _) => name.clone(),
        (None, None, Some(user)) => user.clone(),
        (None, None, None) => "-".to_owned(),
    }
}

pub(crate) fn join_request_json(jr: &JoinRequest) -> Value {
    json!({
        "join_request_id": jr.join_request_id.as_str(),
        "wa_id": jr.wa_id,
        "user_id": jr.user_id,
        "parent_user_id": jr.parent_user_id,
        "username": jr.username,
        "creation_timestamp": jr.creation_timestamp,
    })
}

fn detail_json(d: &ErrorDetail) -> Value {
    json!({"code": d.code, "title": d.title, "message": d.message, "details": d.details})
}

fn failed_json(f: &FailedJoinRequest) -> Value {
    json!({
        "join_request_id": f.join_request_id.as_str(),
        "errors": f.errors.iter().map(detail_json).collect::<Vec<_>>(),
    })
}

/// A call's error as JSON: kind, message, and the Graph fields when any.
pub(crate) fn error_json(e: &wa_groups::Error) -> Value {
    let mut v = json!({"kind": e.kind().as_str(), "message": e.to_string()});
    if let Some(api) = e.api_error() {
        v["status"] = json!(api.status);
        v["code"] = json!(api.code);
        v["subcode"] = json!(api.subcode);
        v["fbtrace_id"] = json!(api.fbtrace_id);
    }
    v
}

fn print(text: &str) {
    use std::io::Write as _;
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn print_json(v: &Value) {
    print(&format!(
        "{}\n",
        serde_json::to_string_pretty(v).unwrap_or_default()
    ));
}

pub(crate) fn listed(listed: &[Listed], format: Format) {
    if format == Format::Json {
        let groups: Vec<Value> = listed
            .iter()
            .map(|l| match &l.result {
                Ok(list) => json!({
                    "group_id": l.group_id,
                    "join_requests": list.iter().map(join_request_json).collect::<Vec<_>>(),
                    "error": null,
                }),
                Err(e) => {
                    json!({"group_id": l.group_id, "join_requests": [], "error": error_json(e)})
                }
            })
            .collect();
        print_json(&json!({"command": "list", "groups": groups}));
        return;
    }
    let mut table = Table::new(["GROUP", "JOIN REQUEST", "REQUESTER", "REQUESTED AT"]);
    let mut out = String::new();
    let mut errors = Vec::new();
    let mut total = 0;
    for l in listed {
        match &l.result {
            Ok(list) => {
                total += list.len();
                for jr in list {
                    let id = jr.join_request_id.to_string();
                    match format {
                        Format::Table | Format::Json => table.row(vec![
                            l.group_id.clone(),
                            id,
                            requester(jr),
                            utc(jr.creation_timestamp),
                        ]),
                        Format::Tsv => out.push_str(&tsv_line(&[
                            &id,
                            &l.group_id,
                            &requester(jr),
                            &jr.creation_timestamp.to_string(),
                        ])),
                        Format::Ids => out.push_str(&tsv_line(&[&id])),
                    }
                }
            }
            Err(e) => errors.push(format!("{}: {e}", l.group_id)),
        }
    }
    let summary = list_summary(total, listed.len(), errors.len());
    if format == Format::Table {
        if !table.is_empty() {
            print(&table.render());
        }
        print(&format!("{summary}\n"));
    } else {
        print(&out);
        // Off the data stream, so that a pipe gets only rows.
        eprintln!("{summary}");
    }
    for e in errors {
        eprintln!("error: {}", terminal_safe(&e));
    }
}

/// The last line of a listing: what was found, where, and which groups
/// could not be listed, so a failure never reads as "nothing pending".
pub(crate) fn list_summary(total: usize, groups: usize, failed: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let listed = groups - failed;
    let mut text = format!(
        "{total} pending join request{} in {listed} group{}",
        plural(total),
        plural(listed)
    );
    if failed > 0 {
        text.push_str(&format!(
            "; {failed} of {groups} group{} could not be listed",
            plural(groups)
        ));
    }
    text
}

/// One tab-separated row; tabs and newlines inside a cell become spaces
/// and controls are escaped, so every row stays one row of fixed width.
fn tsv_line(cells: &[&str]) -> String {
    let mut line = cells
        .iter()
        .map(|c| terminal_safe(&c.replace(['\t', '\n', '\r'], " ")).into_owned())
        .collect::<Vec<_>>()
        .join("\t");
    line.push('\n');
    line
}

/// One stderr line for a retry: when, which attempt failed and why, and
/// how long the client waits before trying again.
pub(crate) fn retry_line(e: &wa_groups::RetryEvent<'_>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    terminal_safe(&format!(
        "retry: {} attempt {} failed ({}); retry {} of {} in {:.1}s",
        utc(now),
        e.attempt,
        e.error,
        e.attempt,
        e.max_retries,
        e.delay.as_secs_f64()
    ))
    .into_owned()
}

pub(crate) fn list_outcome(listed: &[Listed]) -> Outcome {
    listed
        .iter()
        .filter_map(|l| l.result.as_ref().err())
        .map(Outcome::of_error)
        .max()
        .unwrap_or(Outcome::Success)
}

/// Prints approve/reject results; `command` names the subcommand in JSON
/// (`approve`, `approve-all`, ...).
pub(crate) fn decided(
    command: &str,
    action: Action,
    rows: &[(String, wa_groups::Result<Decided>)],
    format: Format,
) {
    let (key, verb) = match action {
        Action::Approve => ("approved", "approved"),
        Action::Reject => ("rejected", "rejected"),
    };
    if matches!(format, Format::Tsv | Format::Ids) {
        decided_rows(verb, rows, format);
        return;
    }
    if format == Format::Json {
        let mut succeeded = 0;
        let mut failed = 0;
        let mut group_errors = 0;
        let groups: Vec<Value> = rows
            .iter()
            .map(|(group_id, r)| match r {
                Ok(d) => {
                    succeeded += d.succeeded.len();
                    failed += d.failed.len();
                    json!({
                        "group_id": group_id,
                        key: d.succeeded,
                        "failed": d.failed.iter().map(failed_json).collect::<Vec<_>>(),
                        "errors": d.errors.iter().map(detail_json).collect::<Vec<_>>(),
                        "errors_omitted": d.errors_omitted,
                        "unexpected": d.unexpected,
                        "unexpected_omitted": d.unexpected_omitted,
                        "error": null,
                    })
                }
                Err(e) => {
                    group_errors += 1;
                    json!({"group_id": group_id, key: [], "failed": [], "errors": [], "errors_omitted": 0, "unexpected": [], "unexpected_omitted": 0, "error": error_json(e)})
                }
            })
            .collect();
        print_json(&json!({
            "command": command,
            "groups": groups,
            "summary": {"groups": rows.len(), key: succeeded, "failed": failed, "group_errors": group_errors},
        }));
        return;
    }
    let mut table = Table::new(["GROUP", &verb.to_uppercase(), "FAILED", "RESULT"]);
    let mut failures = Table::new(["GROUP", "JOIN REQUEST", "CODE", "REASON"]);
    for (group_id, r) in rows {
        match r {
            Ok(d) => {
                let result = if d.failed.is_empty() && d.errors.is_empty() && d.errors_omitted == 0
                {
                    "ok".to_owned()
                } else if d.succeeded.is_empty() {
                    "failed".to_owned()
                } else {
                    "partial".to_owned()
                };
                table.row(vec![
                    group_id.clone(),
                    d.succeeded.len().to_string(),
                    d.failed.len().to_string(),
                    result,
                ]);
                for f in &d.failed {
                    let first = f.errors.first();
                    failures.row(vec![
                        group_id.clone(),
                        f.join_request_id.to_string(),
                        first.map_or_else(|| "-".to_owned(), |e| e.code.to_string()),
                        first.map_or_else(String::new, reason),
                    ]);
                }
                for e in &d.errors {
                    failures.row(vec![
                        group_id.clone(),
                        "(whole call)".to_owned(),
                        e.code.to_string(),
                        reason(e),
                    ]);
                }
                if !d.unexpected.is_empty() {
                    failures.row(vec![
                        group_id.clone(),
                        "(whole call)".to_owned(),
                        "-".to_owned(),
                        format!(
                            "the API also reported {} ID(s) never sent: {}{}",
                            d.unexpected.len() + d.unexpected_omitted,
                            d.unexpected.join(", "),
                            if d.unexpected_omitted > 0 {
                                ", ..."
                            } else {
                                ""
                            }
                        ),
                    ]);
                }
                if d.errors_omitted > 0 {
                    failures.row(vec![
                        group_id.clone(),
                        "(whole call)".to_owned(),
                        "-".to_owned(),
                        format!("{} more call-level errors not shown", d.errors_omitted),
                    ]);
                }
            }
            Err(e) => table.row(vec![
                group_id.clone(),
                "0".to_owned(),
                "-".to_owned(),
                format!("error: {e}"),
            ]),
        }
    }
    print(&table.render());
    if !failures.is_empty() {
        print("\nFailed:\n");
        print(&failures.render());
    }
}

/// `tsv`: one row per join request (ID, group, status, code, reason), and
/// one per call-level error; `ids`: the IDs that were decided.
fn decided_rows(verb: &str, rows: &[(String, wa_groups::Result<Decided>)], format: Format) {
    let mut out = String::new();
    for (group_id, r) in rows {
        match r {
            Ok(d) => {
                for id in &d.succeeded {
                    out.push_str(&match format {
                        Format::Ids => tsv_line(&[id]),
                        _ => tsv_line(&[id, group_id, verb, "", ""]),
                    });
                }
                // With `ids`, what was not decided is still said, on stderr.
                let mut rest = String::new();
                for f in &d.failed {
                    let first = f.errors.first();
                    rest.push_str(&tsv_line(&[
                        f.join_request_id.as_str(),
                        group_id,
                        "failed",
                        &first.map_or_else(String::new, |e| e.code.to_string()),
                        &first.map_or_else(String::new, reason),
                    ]));
                }
                for e in &d.errors {
                    rest.push_str(&tsv_line(&[
                        "",
                        group_id,
                        "error",
                        &e.code.to_string(),
                        &reason(e),
                    ]));
                }
                if format == Format::Ids {
                    eprint!("{rest}");
                } else {
                    out.push_str(&rest);
                }
            }
            Err(e) if format == Format::Tsv => {
                let code = e
                    .api_error()
                    .map_or_else(String::new, |a| a.code.to_string());
                out.push_str(&tsv_line(&["", group_id, "error", &code, &e.to_string()]));
            }
            Err(e) => eprintln!("error: {}", terminal_safe(&format!("{group_id}: {e}"))),
        }
    }
    print(&out);
}

/// The reason of an error item in one line: title, then message, then details.
pub(crate) fn reason(e: &ErrorDetail) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in [&e.title, &e.message, &e.details].into_iter().flatten() {
        if !parts.contains(&p.as_str()) {
            parts.push(p);
        }
    }
    parts.join(": ")
}

pub(crate) fn decide_outcome(rows: &[(String, wa_groups::Result<Decided>)]) -> Outcome {
    rows.iter()
        .map(|(_, r)| match r {
            Err(e) => Outcome::of_error(e),
            Ok(d) if !d.failed.is_empty() || !d.errors.is_empty() || d.errors_omitted > 0 => {
                Outcome::Partial
            }
            Ok(_) => Outcome::Success,
        })
        .max()
        .unwrap_or(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Issue 10 item 5: whatever a server sends, nothing a terminal
        /// acts on survives into a table (only the table's own newlines).
        #[test]
        fn no_control_character_reaches_the_terminal(
            cell in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}]|\\x1b\\[[0-9;]*[A-Za-z]|\\x1b\\][0-9];[a-z ]*\\x07)*",
        ) {
            let mut t = Table::new(["A", "B"]);
            t.row(vec![cell.clone(), cell.clone()]);
            let out = t.render();
            prop_assert!(out.lines().count() == 2, "{out:?}");
            prop_assert!(
                !out.chars().any(|c| c != '\n' && (c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c))),
                "{out:?}"
            );
            // Text without such characters is left as it was.
            if !cell.chars().any(|c| c.is_control() || ('\u{2000}'..='\u{2100}').contains(&c)) {
                prop_assert_eq!(terminal_safe(&cell), cell.as_str());
            }
        }
    }

    #[test]
    fn escapes_are_shown_not_run() {
        assert_eq!(
            terminal_safe("ok\x1b[2Jall approved\r\n"),
            "ok\\u{1b}[2Jall approved\\u{d}\\u{a}"
        );
        assert_eq!(terminal_safe("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(terminal_safe("Zoë 👋"), "Zoë 👋");
    }

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_755_548_877), "2025-08-18 20:27:57 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn the_summary_counts_failed_groups() {
        assert_eq!(
            list_summary(0, 1, 1),
            "0 pending join requests in 0 groups; 1 of 1 group could not be listed"
        );
        assert_eq!(list_summary(1, 1, 0), "1 pending join request in 1 group");
        assert_eq!(
            list_summary(3, 3, 1),
            "3 pending join requests in 2 groups; 1 of 3 groups could not be listed"
        );
    }

    #[test]
    fn tsv_rows_keep_their_shape() {
        assert_eq!(tsv_line(&["a\tb", "c\nd", "e"]), "a b\tc d\te\n");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(["A", "BB"]);
        t.row(vec!["long cell".into(), "x".into()]);
        assert_eq!(t.render(), "A          BB\nlong cell  x\n");
    }
}
