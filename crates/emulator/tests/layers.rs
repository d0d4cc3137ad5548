//! The crate's modules import only downward: no module imports one that
//! imports it back, directly or around a circle. Reads `src/*.rs` and
//! follows every `crate::name` path and `use crate::{...}` group.
//! `cargo test -p wa-groups-emulator --test layers -- --nocapture` prints
//! the module graph and the number of cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules each module refers to (the crate root aside).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            files.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(name, text)| {
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n");
            let mut refs = BTreeSet::new();
            // `crate::name` anywhere, and the top-level names of `use crate::{a, b::c}`.
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    let mut depth = 0;
                    let mut item = String::new();
                    for ch in group.chars() {
                        match ch {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                refs.insert(head(&item));
                                item.clear();
                                continue;
                            }
                            _ => {}
                        }
                        item.push(ch);
                    }
                    refs.insert(head(&item));
                } else {
                    refs.insert(head(rest));
                }
            }
            refs.retain(|r| modules.contains(r) && r != name);
            (name.clone(), refs)
        })
        .collect()
}

fn head(path: &str) -> String {
    path.trim()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Every elementary cycle, each from its smallest module.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        g: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        node: &str,
        path: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        for next in &g[node] {
            if next == start {
                out.push(path.clone());
            } else if next.as_str() > start && !path.contains(next) {
                path.push(next.clone());
                walk(g, start, next, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for start in g.keys() {
        walk(g, start, start, &mut vec![start.clone()], &mut out);
    }
    out
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let g = graph();
    for (m, refs) in &g {
        println!(
            "{m} -> {}",
            refs.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let found = cycles(&g);
    println!("module cycles: {}", found.len());
    assert!(found.is_empty(), "module cycles: {found:?}");
}

#[test]
fn the_checker_sees_a_cycle() {
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    g.insert("c".to_owned(), BTreeSet::new());
    assert_eq!(cycles(&g).len(), 1);
    assert_eq!(head(" errors as graph"), "errors");
}
