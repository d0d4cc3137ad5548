//! Reading a policy and its `requester_in` lists from disk, and reloading a
//! list when its file changes (modification time). The parsing and the
//! evaluation are in [`policy`](crate::policy), free of I/O.

use std::path::Path;

use crate::policy::{ListRef, Policy, PolicyError};

impl Policy {
    /// Reads the policy at `path` and every `requester_in` list it names
    /// (relative to the policy's folder).
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] naming the file when it cannot be read, the line
    /// and key of a bad entry, or the file, line and key of a list that
    /// cannot be read.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            file: Some(path.to_path_buf()),
            line: None,
            key: None,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        let mut policy = Self::parse(&text, Some(path))?;
        let refs: Vec<ListRef> = policy.list_refs().cloned().collect();
        for r in &refs {
            load_list(&mut policy, r)?;
        }
        Ok(policy)
    }

    /// Re-reads every `requester_in` list whose file changed since it was
    /// read; returns how many were reloaded. A list that cannot be read now
    /// keeps its last contents (the error is returned after the others are
    /// reloaded).
    ///
    /// # Errors
    ///
    /// The first list that could not be read, naming its file.
    pub fn reload_lists(&mut self) -> Result<usize, PolicyError> {
        let refs: Vec<ListRef> = self.list_refs().cloned().collect();
        let mut reloaded = 0;
        let mut first_err = None;
        for r in &refs {
            let modified = std::fs::metadata(&r.path).and_then(|m| m.modified()).ok();
            if modified.is_some() && modified == self.list_modified(&r.path) {
                continue;
            }
            match load_list(self, r) {
                Ok(()) => reloaded += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(reloaded),
        }
    }
}

fn load_list(policy: &mut Policy, r: &ListRef) -> Result<(), PolicyError> {
    let err = |e: std::io::Error| PolicyError {
        file: policy.source.clone(),
        line: Some(r.line),
        key: Some(r.key.clone()),
        message: format!("cannot read requester list {}: {e}", r.path.display()),
    };
    let modified = std::fs::metadata(&r.path)
        .and_then(|m| m.modified())
        .map_err(err)?;
    let text = std::fs::read_to_string(&r.path).map_err(err)?;
    policy.set_list(&r.path, &text, Some(modified));
    Ok(())
}
