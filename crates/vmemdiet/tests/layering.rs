//! The house rules of the module layering (docs/DESIGN.md, "Layers"), checked on the source:
//! `mm/` imports nothing from `drivers/` or `workload/`, `machine/` nothing from above it, and
//! no library module imports one that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every library module (`mm::gup`, `mm` for `mm/mod.rs`, ...) and the modules it names through
/// `crate::` paths (outside comments and unit tests) or, from a `mod.rs`, through its children.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                    parts.pop();
                }
                sources.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|i| parts[..i].join("::"))
            .find(|c| names.contains(c))
    };
    let mut graph = BTreeMap::new();
    for (module, src) in &sources {
        let code: String = src
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .map(|l| l.split("//").next().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        let mut deps = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':').to_string();
            let mut targets = vec![path.clone()];
            // `crate::a::{b, c::d}`
            if rest[path.len()..].starts_with("::{") {
                let group = &rest[path.len() + 3..];
                let group = &group[..group.find('}').unwrap_or(0)];
                targets.extend(
                    group
                        .split(',')
                        .map(|t| t.trim().split(' ').next().unwrap_or(""))
                        .filter(|t| !t.is_empty() && *t != "self")
                        .map(|t| format!("{path}::{t}")),
                );
            }
            deps.extend(targets.iter().filter_map(|t| resolve(t)));
        }
        // A parent module naming a child: `child::Item` or `use child::..`.
        for child in names.iter().filter(|n| {
            n.strip_prefix(&format!("{module}::"))
                .is_some_and(|c| !c.contains("::"))
        }) {
            let leaf = child.rsplit("::").next().unwrap();
            if code.contains(&format!(" {leaf}::")) || code.contains(&format!("({leaf}::")) {
                deps.insert(child.clone());
            }
        }
        deps.remove(module);
        graph.insert(module.clone(), deps);
    }
    graph
}

#[test]
fn mm_and_machine_import_nothing_from_layers_above() {
    let graph = module_graph();
    assert!(graph.len() > 30, "the scan found the modules");
    for (module, deps) in &graph {
        let forbidden: &[&str] = if module == "mm" || module.starts_with("mm::") {
            &["drivers", "workload", "plan", "simulate"]
        } else if module == "machine" || module.starts_with("machine::") {
            &["mm", "drivers", "workload", "plan", "simulate"]
        } else {
            &[]
        };
        for d in deps {
            assert!(
                !forbidden
                    .iter()
                    .any(|f| d == f || d.starts_with(&format!("{f}::"))),
                "{module} imports {d}"
            );
        }
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = module_graph();
    // Depth-first search for a back edge.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, bool>,
        path: &mut Vec<&'a str>,
    ) {
        match state.get(m) {
            Some(true) => return,
            Some(false) => panic!("import cycle: {} -> {m}", path.join(" -> ")),
            None => {}
        }
        state.insert(m, false);
        path.push(m);
        for d in &graph[m] {
            visit(d, graph, state, path);
        }
        path.pop();
        state.insert(m, true);
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        visit(m, &graph, &mut state, &mut Vec::new());
    }
}
