//! The layers of ARCHITECTURE.md, enforced: a module may import only the modules its row
//! names (and itself). The test reads the sources under `src/` and fails on any other
//! `crate::…` or cross-module `super::…` path, naming the file and the line.

use std::path::{Path, PathBuf};

/// (module, the modules it may import). A module is a path under `src/` without `.rs`;
/// the longest matching row applies. `providers/*` stands for every provider folder.
const LAYERS: &[(&str, &[&str])] = &[
    // Ground floor: ids, errors, LRO engine, regions; configuration; secret files.
    ("arm", &[]),
    ("config", &[]),
    ("files", &[]),
    // State and keys.
    ("store", &["arm"]),
    ("entra", &["arm", "config", "files"]),
    // The world: state composed, transactions.
    ("world", &["arm", "config", "store", "entra"]),
    ("routing", &["arm", "world", "entra"]),
    // Providers: each its own folder; they share `common`, the authorization engine and the
    // registration point (`providers`), and nothing else of one another.
    (
        "providers",
        &["arm", "config", "store", "entra", "world", "routing", "providers/*"],
    ),
    (
        "providers/common",
        &[
            "arm",
            "config",
            "store",
            "entra",
            "entra/principals",
            "world",
            "routing",
            "providers",
        ],
    ),
    (
        "providers/*",
        &[
            "arm",
            "config",
            "store",
            "entra",
            "world",
            "routing",
            "providers",
            "providers/common",
            "providers/authorization/engine",
            "entra/principals",
        ],
    ),
    // Principals and tokens, over a transaction: shared by the token service and providers.
    ("entra/principals", &["arm", "config", "store", "entra", "world"]),
    // The token service and Graph answer over a transaction, like providers, and reach
    // providers only through their hooks.
    (
        "entra/oidc",
        &[
            "arm",
            "config",
            "store",
            "entra",
            "entra/principals",
            "world",
            "providers/hooks",
        ],
    ),
    (
        "entra/graph",
        &["arm", "config", "store", "entra", "world", "providers/hooks"],
    ),
    // azemu's own API, then the server, then what uses the server.
    (
        "control",
        &[
            "arm",
            "config",
            "files",
            "store",
            "entra",
            "entra/principals",
            "world",
            "routing",
            "providers/hooks",
        ],
    ),
    (
        "server",
        &[
            "arm",
            "config",
            "files",
            "store",
            "entra",
            "world",
            "routing",
            "providers",
            "providers/hooks",
            "control",
        ],
    ),
    ("scenario", &["arm", "config", "world", "server", "lib"]),
    // The command line: flags, `serve`, and the commands that speak to a running azemu.
    (
        "cli",
        &[
            "arm", "config", "files", "world", "server", "scenario", "control", "lib",
        ],
    ),
];

const PROVIDER_FOLDERS: &[&str] = &[
    "authorization",
    "container_registry",
    "container_service",
    "managed_identity",
    "network",
    "resources",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file belongs to: `src/providers/network/mod.rs` → `providers/network`.
fn module_of(rel: &str) -> String {
    let m = rel.trim_end_matches(".rs").trim_end_matches("/mod");
    let parts: Vec<&str> = m.split('/').collect();
    match parts.as_slice() {
        ["providers", p, "engine"] if *p == "authorization" => "providers/authorization/engine".into(),
        ["providers", p, ..] => format!("providers/{p}"),
        ["entra", "oidc"] | ["entra", "graph"] | ["entra", "principals"] => m.to_string(),
        [first, ..] => first.to_string(),
        [] => String::new(),
    }
}

/// The module a `crate::a::b::…` path names.
fn target_of(path: &[&str]) -> String {
    match path {
        ["providers", "authorization", "engine", ..] => "providers/authorization/engine".into(),
        ["providers", "hooks", ..] => "providers/hooks".into(),
        ["providers", p, ..] if PROVIDER_FOLDERS.contains(p) || *p == "common" => format!("providers/{p}"),
        ["providers", ..] => "providers".into(),
        ["entra", s, ..] if ["oidc", "graph", "principals"].contains(s) => format!("entra/{s}"),
        ["Config", ..] => "config".into(),
        ["start", ..] | ["Running", ..] => "server".into(),
        [first, ..] => first.to_string(),
        [] => String::new(),
    }
}

/// The row for `module`: the longest prefix match, `providers/*` for provider folders.
fn allowed(module: &str) -> Option<&'static [&'static str]> {
    if let Some((_, a)) = LAYERS.iter().find(|(m, _)| *m == module) {
        return Some(a);
    }
    if module.starts_with("providers/") {
        return LAYERS.iter().find(|(m, _)| *m == "providers/*").map(|(_, a)| *a);
    }
    let top = module.split('/').next().unwrap_or("");
    LAYERS.iter().find(|(m, _)| *m == top).map(|(_, a)| *a)
}

fn permits(rule: &[&str], module: &str, target: &str) -> bool {
    if target == module || (module.starts_with(target) && target.contains('/')) {
        return true;
    }
    // A module's own top level (entra/oidc → entra, providers/x → its submodules).
    if target.split('/').next() == module.split('/').next() && !module.starts_with("providers") {
        return true;
    }
    rule.iter().any(|r| {
        *r == target
            || (*r == "providers/*" && target.starts_with("providers/"))
            || (*r == "providers" && target == "providers")
            || (r.contains('/') && target.starts_with(&format!("{r}/")))
    })
}

/// Every `crate::…` path in `text`, with its line, including the items of grouped imports
/// (`use crate::{a::b, c}`). Code after `#[cfg(test)]` is left out.
fn crate_paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + 7..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let segs: Vec<String> = item.trim().split("::").map(|s| s.trim().to_string()).collect();
                    if !segs[0].is_empty() {
                        out.push((i + 1, segs));
                    }
                }
            } else {
                let path: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let segs: Vec<String> = path.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
                if !segs.is_empty() {
                    out.push((i + 1, segs));
                }
            }
            rest = after;
        }
    }
    out
}

fn edges() -> Vec<(String, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let module = module_of(&rel);
        let text = std::fs::read_to_string(&f).unwrap();
        for (line, segs) in crate_paths(&text) {
            let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
            out.push((module.clone(), target_of(&segs), format!("src/{rel}:{line}")));
        }
        // `super::x` from a provider's mod.rs reaches the providers root and its siblings.
        if rel.starts_with("providers/") && rel.ends_with("/mod.rs") && rel.matches('/').count() == 2 {
            for (i, line) in text.split("#[cfg(test)]").next().unwrap_or("").lines().enumerate() {
                if let Some(at) = line.find("super::") {
                    let seg: String = line[at + 7..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    out.push((
                        module.clone(),
                        target_of(&["providers", &seg]),
                        format!("src/{rel}:{}", i + 1),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_import_respects_the_layers() {
    let mut bad = Vec::new();
    for (module, target, at) in edges() {
        let rule = allowed(&module).unwrap_or_else(|| panic!("no layer row for module '{module}' ({at})"));
        if permits(rule, &module, &target) {
            continue;
        }
        bad.push(format!("{at}: '{module}' imports '{target}'"));
    }
    assert!(bad.is_empty(), "imports that break the layers:\n{}", bad.join("\n"));
}

#[test]
fn a_provider_importing_another_is_caught() {
    let rule = allowed("providers/network").unwrap();
    assert!(!permits(rule, "providers/network", "providers/container_service"));
    assert!(permits(rule, "providers/network", "providers/common"));
    assert!(permits(rule, "providers/network", "providers/authorization/engine"));
    assert!(!permits(rule, "providers/network", "server"));
    let rule = allowed("world").unwrap();
    assert!(!permits(rule, "world", "providers"));
}
