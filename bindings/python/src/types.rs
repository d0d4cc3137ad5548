//! The result classes: frozen, compared by value, with a `repr` that shows
//! their fields. Each mirrors a Rust type of the same name and is built
//! from it with `From`.

use std::fmt::Write as _;

use pyo3::prelude::*;

/// `repr` of a Python string or `None`, as Python writes it.
pub(crate) fn py_repr_str(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("None"),
        Some(s) => {
            let quote = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            out.push(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() => {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
        }
    }
}

/// Builds `Name(a=..., b=...)` reprs.
pub(crate) struct Repr(String);

impl Repr {
    pub(crate) fn new(name: &str) -> Self {
        let mut s = String::with_capacity(64);
        s.push_str(name);
        s.push('(');
        Self(s)
    }

    fn sep(&mut self, key: &str) {
        if !self.0.ends_with('(') {
            self.0.push_str(", ");
        }
        self.0.push_str(key);
        self.0.push('=');
    }

    pub(crate) fn str(mut self, key: &str, value: Option<&str>) -> Self {
        self.sep(key);
        py_repr_str(&mut self.0, value);
        self
    }

    pub(crate) fn int(mut self, key: &str, value: Option<i64>) -> Self {
        self.sep(key);
        match value {
            Some(v) => {
                let _ = write!(self.0, "{v}");
            }
            None => self.0.push_str("None"),
        }
        self
    }

    pub(crate) fn raw(mut self, key: &str, value: &str) -> Self {
        self.sep(key);
        self.0.push_str(value);
        self
    }

    pub(crate) fn strs<'a>(self, key: &str, values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut list = String::from("[");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                list.push_str(", ");
            }
            py_repr_str(&mut list, Some(v));
        }
        list.push(']');
        self.raw(key, &list)
    }

    pub(crate) fn list<T>(self, key: &str, values: &[T], each: impl Fn(&T) -> String) -> Self {
        let list = format!(
            "[{}]",
            values.iter().map(each).collect::<Vec<_>>().join(", ")
        );
        self.raw(key, &list)
    }

    pub(crate) fn finish(mut self) -> String {
        self.0.push(')');
        self.0
    }
}

/// One error item of an outcome or webhook event (`code` is always an int).
#[pyclass(frozen, eq, hash, get_all, from_py_object, module = "wa_groups")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ErrorDetail {
    /// The API's numeric error code.
    code: i64,
    /// The error's short title, if the API gave one.
    title: Option<String>,
    /// The error's message, if the API gave one.
    message: Option<String>,
    /// The error's details (`error_data.details`), if the API gave them.
    details: Option<String>,
}

#[pymethods]
impl ErrorDetail {
    #[new]
    #[pyo3(signature = (code, title=None, message=None, details=None))]
    fn new(
        code: i64,
        title: Option<String>,
        message: Option<String>,
        details: Option<String>,
    ) -> Self {
        Self {
            code,
            title,
            message,
            details,
        }
    }

    fn __repr__(&self) -> String {
        self.repr()
    }
}

impl ErrorDetail {
    fn repr(&self) -> String {
        Repr::new("ErrorDetail")
            .int("code", Some(self.code))
            .str("title", self.title.as_deref())
            .str("message", self.message.as_deref())
            .str("details", self.details.as_deref())
            .finish()
    }
}

impl From<wa_groups::ErrorDetail> for ErrorDetail {
    fn from(e: wa_groups::ErrorDetail) -> Self {
        Self {
            code: e.code,
            title: e.title,
            message: e.message,
            details: e.details,
        }
    }
}

pub(crate) fn error_details(v: Vec<wa_groups::ErrorDetail>) -> Vec<ErrorDetail> {
    v.into_iter().map(ErrorDetail::from).collect()
}

/// One pending join request; `creation_timestamp` is Unix seconds.
#[pyclass(frozen, eq, hash, get_all, from_py_object, module = "wa_groups")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct JoinRequest {
    /// The join request's ID, to approve or reject it with.
    join_request_id: String,
    /// The requester's WhatsApp ID (phone number), if the API shows it.
    wa_id: Option<String>,
    /// When the request was made, in Unix seconds.
    creation_timestamp: i64,
    /// The requester's business-scoped user ID, if any.
    user_id: Option<String>,
    /// The requester's parent business-scoped user ID, if any.
    parent_user_id: Option<String>,
    /// The requester's username, if any.
    username: Option<String>,
}

#[pymethods]
impl JoinRequest {
    #[new]
    #[pyo3(signature = (join_request_id, creation_timestamp, wa_id=None, user_id=None, parent_user_id=None, username=None))]
    fn new(
        join_request_id: String,
        creation_timestamp: i64,
        wa_id: Option<String>,
        user_id: Option<String>,
        parent_user_id: Option<String>,
        username: Option<String>,
    ) -> Self {
        Self {
            join_request_id,
            wa_id,
            creation_timestamp,
            user_id,
            parent_user_id,
            username,
        }
    }

    fn __repr__(&self) -> String {
        self.repr()
    }
}

impl JoinRequest {
    fn repr(&self) -> String {
        let mut r = Repr::new("JoinRequest")
            .str("join_request_id", Some(&self.join_request_id))
            .str("wa_id", self.wa_id.as_deref())
            .int("creation_timestamp", Some(self.creation_timestamp));
        // Business-scoped fields only when present: most requests have none.
        for (k, v) in [
            ("user_id", &self.user_id),
            ("parent_user_id", &self.parent_user_id),
            ("username", &self.username),
        ] {
            if v.is_some() {
                r = r.str(k, v.as_deref());
            }
        }
        r.finish()
    }
}

impl From<wa_groups::JoinRequest> for JoinRequest {
    fn from(r: wa_groups::JoinRequest) -> Self {
        Self {
            join_request_id: r.join_request_id.as_str().to_owned(),
            wa_id: r.wa_id,
            creation_timestamp: r.creation_timestamp,
            user_id: r.user_id,
            parent_user_id: r.parent_user_id,
            username: r.username,
        }
    }
}

/// One page of join requests and the cursors around it.
#[pyclass(frozen, eq, get_all, module = "wa_groups")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinRequestPage {
    /// The join requests of this page, in the API's order.
    data: Vec<JoinRequest>,
    /// The cursor of the next page; `None` on the last page.
    after: Option<String>,
    /// The cursor of the previous page, if any.
    before: Option<String>,
}

#[pymethods]
impl JoinRequestPage {
    #[new]
    #[pyo3(signature = (data, after=None, before=None))]
    fn new(data: Vec<JoinRequest>, after: Option<String>, before: Option<String>) -> Self {
        Self {
            data,
            after,
            before,
        }
    }

    fn __repr__(&self) -> String {
        Repr::new("JoinRequestPage")
            .list("data", &self.data, JoinRequest::repr)
            .str("after", self.after.as_deref())
            .str("before", self.before.as_deref())
            .finish()
    }

    fn __len__(&self) -> usize {
        self.data.len()
    }
}

impl From<wa_groups::JoinRequestPage> for JoinRequestPage {
    fn from(p: wa_groups::JoinRequestPage) -> Self {
        Self {
            data: p.data.into_iter().map(JoinRequest::from).collect(),
            after: p.after.map(|c| c.as_str().to_owned()),
            before: p.before.map(|c| c.as_str().to_owned()),
        }
    }
}

/// A join request the API did not approve or reject, and why.
#[pyclass(frozen, eq, get_all, from_py_object, module = "wa_groups")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailedJoinRequest {
    /// The join request's ID, as sent.
    join_request_id: String,
    /// Why the API refused it.
    errors: Vec<ErrorDetail>,
}

#[pymethods]
impl FailedJoinRequest {
    #[new]
    #[pyo3(signature = (join_request_id, errors=Vec::new()))]
    fn new(join_request_id: String, errors: Vec<ErrorDetail>) -> Self {
        Self {
            join_request_id,
            errors,
        }
    }

    fn __repr__(&self) -> String {
        self.repr()
    }
}

impl FailedJoinRequest {
    fn repr(&self) -> String {
        Repr::new("FailedJoinRequest")
            .str("join_request_id", Some(&self.join_request_id))
            .list("errors", &self.errors, ErrorDetail::repr)
            .finish()
    }
}

fn failed(v: Vec<wa_groups::FailedJoinRequest>) -> Vec<FailedJoinRequest> {
    v.into_iter()
        .map(|f| FailedJoinRequest {
            join_request_id: f.join_request_id.as_str().to_owned(),
            errors: error_details(f.errors),
        })
        .collect()
}

fn ids(v: Vec<wa_groups::JoinRequestId>) -> Vec<String> {
    v.into_iter().map(|id| id.as_str().to_owned()).collect()
}

macro_rules! outcome {
    ($name:ident, $succeeded:ident, $doc:literal) => {
        #[doc = $doc]
        ///
        /// Compared by the accepted IDs, `failed` and `errors`; `request_id`
        /// (one per API request, random) is informative and left out.
        #[pyclass(frozen, eq, get_all, module = "wa_groups")]
        #[derive(Debug, Clone)]
        pub(crate) struct $name {
            /// The IDs the API accepted, in input order.
            $succeeded: Vec<String>,
            /// The IDs the API refused, in input order, with their errors.
            failed: Vec<FailedJoinRequest>,
            /// Call-level errors (a batch that failed as a whole).
            errors: Vec<ErrorDetail>,
            /// The API's request ID of the last call, for support; `None` if
            /// none was sent.
            request_id: Option<String>,
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.$succeeded == other.$succeeded
                    && self.failed == other.failed
                    && self.errors == other.errors
            }
        }

        #[pymethods]
        impl $name {
            #[new]
            #[pyo3(signature = ($succeeded=Vec::new(), failed=Vec::new(), errors=Vec::new(), request_id=None))]
            fn new(
                $succeeded: Vec<String>,
                failed: Vec<FailedJoinRequest>,
                errors: Vec<ErrorDetail>,
                request_id: Option<String>,
            ) -> Self {
                Self {
                    $succeeded,
                    failed,
                    errors,
                    request_id,
                }
            }

            fn __repr__(&self) -> String {
                Repr::new(stringify!($name))
                    .strs(stringify!($succeeded), self.$succeeded.iter().map(String::as_str))
                    .list("failed", &self.failed, FailedJoinRequest::repr)
                    .list("errors", &self.errors, ErrorDetail::repr)
                    .finish()
            }
        }

        impl From<wa_groups::$name> for $name {
            fn from(o: wa_groups::$name) -> Self {
                Self {
                    $succeeded: ids(o.$succeeded),
                    failed: failed(o.failed),
                    errors: error_details(o.errors),
                    request_id: o.request_id,
                }
            }
        }
    };
}

outcome!(
    ApproveOutcome,
    approved,
    "The result of an approve call: `approved` IDs, `failed` ones with their errors, call-level `errors`."
);
outcome!(
    RejectOutcome,
    rejected,
    "The result of a reject call: `rejected` IDs, `failed` ones with their errors, call-level `errors`."
);
