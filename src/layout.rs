//! The layout's rules (docs/development.md): files in `src/` stay under 700 lines of
//! code (test modules not counted), command files, which only orchestrate, under 300;
//! no file imports one that imports it back; and folders only import the layers below
//! them, in `LAYERS` order.

/// The folders (and top-level files) from the top down: each may import only those
/// after it. `main`, `lib` and the test-only `docs` and `layout` are outside.
const LAYERS: &[&str] = &[
    "cmd", "cli", "health", "backup", "schema", "pg", "sql", "config", "fsutil", "report",
];

/// `text` without its `#[cfg(test)]` items: a `mod name { … }` to its closing brace, a
/// `mod name;` (with its `#[path]`), or the one item that follows.
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let mut item = &rest[at + "#[cfg(test)]".len()..];
        // Further attributes of the same item.
        loop {
            let trimmed = item.trim_start();
            if trimmed.starts_with("#[") {
                let end = trimmed.find(']').map_or(trimmed.len(), |e| e + 1);
                item = &trimmed[end..];
            } else {
                item = trimmed;
                break;
            }
        }
        let semi = item.find(';').unwrap_or(item.len());
        let brace = item.find('{').unwrap_or(item.len());
        if semi < brace {
            rest = &item[(semi + 1).min(item.len())..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices().skip(brace) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn files_stay_small_and_commands_stay_orchestration() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut over = Vec::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let lines = without_tests(&text).lines().count();
        let relative = path.strip_prefix(&src).unwrap();
        let limit = if relative.starts_with("cmd") {
            300
        } else {
            700
        };
        if lines > limit {
            over.push(format!(
                "src/{}: {lines} lines (limit {limit})",
                relative.display()
            ));
        }
    }
    assert!(over.is_empty(), "split these files:\n{}", over.join("\n"));
}

#[test]
fn test_modules_are_left_out() {
    let text = "use a;\n#[cfg(test)]\n#[path = \"x_tests.rs\"]\nmod tests;\nfn f() {}\n#[cfg(test)]\nmod more {\n    fn g() { if x { y } }\n}\nfn h() {}\n";
    let kept = without_tests(text);
    assert!(kept.contains("fn f()") && kept.contains("fn h()"), "{kept}");
    assert!(
        !kept.contains("fn g()") && !kept.contains("mod tests"),
        "{kept}"
    );
}

/// No file imports a file that imports it back, directly or through others, and no
/// folder imports one above it: `use` trees and `crate::`/`super::` paths are resolved
/// to the file of the longest module prefix (a folder's `mod.rs` re-exporting its
/// children counts as importing them).
#[test]
fn no_import_circles_between_files() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Module path → file.
    let mut modules: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(&src).unwrap().to_path_buf();
        if relative.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut path: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if path.last().is_some_and(|l| l == "mod") || path == ["lib"] || path == ["main"] {
            path.pop();
        }
        modules.insert(path, relative.display().to_string());
    }
    let file_of = |path: &[String]| {
        (0..=path.len())
            .rev()
            .find_map(|n| modules.get(&path[..n]).cloned())
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        // Test modules may look anywhere.
        let text = without_tests(&text);
        let text = text.as_str();
        let mut paths = Vec::new();
        // `use` items start a line (after `pub`, `pub(crate)`, …).
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let item = line.trim_start();
            let item = item
                .strip_prefix("pub ")
                .or_else(|| {
                    item.split_once(") ")
                        .filter(|(v, _)| v.starts_with("pub("))
                        .map(|(_, r)| r)
                })
                .unwrap_or(item);
            if let Some(tree) = item.strip_prefix("use ") {
                let at = offset + (line.len() - tree.len());
                let tree = &text[at..];
                expand(
                    &tree[..tree.find(';').unwrap_or(tree.len())],
                    "",
                    &mut paths,
                );
            }
            offset += line.len();
        }
        for start in ["crate::", "super::"] {
            for (i, _) in text.match_indices(start) {
                let rest = &text[i..];
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                paths.push(rest[..end].to_string());
            }
        }
        for p in paths {
            let segs: Vec<&str> = p
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "*")
                .collect();
            let Some(first) = segs.first() else { continue };
            let full: Vec<String> = match *first {
                "crate" => segs[1..].iter().map(|s| s.to_string()).collect(),
                "super" => {
                    let mut base = module.clone();
                    let mut rest = &segs[..];
                    while rest.first() == Some(&"super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.extend(rest.iter().map(|s| s.to_string()));
                    base
                }
                child => {
                    let mut path = module.clone();
                    path.push(child.to_string());
                    if !modules.contains_key(&path) {
                        continue;
                    }
                    path.extend(segs[1..].iter().map(|s| s.to_string()));
                    path
                }
            };
            if let Some(target) = file_of(&full).filter(|t| t != file) {
                edges.entry(file.clone()).or_default().insert(target);
            }
        }
    }
    // Folders import only the layers below them.
    let folder = |file: &str| {
        file.split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string()
    };
    let mut upward = BTreeSet::new();
    for (from, targets) in &edges {
        let f = folder(from);
        let Some(rank) = LAYERS.iter().position(|l| *l == f) else {
            continue;
        };
        for to in targets {
            let t = folder(to);
            if t == f {
                continue;
            }
            match LAYERS.iter().position(|l| *l == t) {
                Some(r) if r > rank => {}
                _ => {
                    upward.insert(format!("{from} imports {to} ({f} may not import {t})"));
                }
            }
        }
    }
    // A command file imports no other command file: only a group's mod.rs (and
    // cmd/mod.rs) dispatches to the files below it.
    for (from, targets) in &edges {
        if !from.starts_with("cmd/") || from == "cmd/mod.rs" {
            continue;
        }
        let group = from.strip_suffix("mod.rs");
        for to in targets.iter().filter(|t| t.starts_with("cmd/")) {
            if !group.is_some_and(|g| to.starts_with(g)) {
                upward.insert(format!(
                    "{from} imports {to} (command files only orchestrate)"
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.into_iter().collect::<Vec<_>>().join("\n")
    );
    // A file on a circle reaches itself.
    let mut circles = Vec::new();
    for file in modules.values() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = edges.get(file).into_iter().flatten().collect();
        while let Some(next) = todo.pop() {
            if next == file {
                circles.push(file.clone());
                break;
            }
            if seen.insert(next) {
                todo.extend(edges.get(next).into_iter().flatten());
            }
        }
    }
    assert!(circles.is_empty(), "files on an import circle: {circles:?}");
}

/// The paths a `use` tree names: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        out.push(format!("{prefix}{path}"));
        return;
    };
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let prefix = format!("{prefix}{}", &tree[..open]);
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&inner[start..i], &prefix, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        expand(&inner[start..], &prefix, out);
    }
}
