//! `--seed N` makes every generated GUID, etag, operation id and timestamp reproducible: two
//! runs of a scenario under the same seed produce byte-identical responses (the server's own
//! URL, which carries a random port, aside).

use azemu::scenario::{run_file, Options};
use std::path::{Path, PathBuf};

fn scenarios() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios found in {}", dir.display());
    files
}

/// Status, the headers that carry generated values, and the body, with the URL made neutral.
fn transcript(file: &Path, seed: Option<u64>) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt
        .block_on(run_file(
            file,
            &Options {
                seed,
                ..Default::default()
            },
        ))
        .expect("scenario runs");
    assert!(out.failure.is_none(), "{}: {:?}", file.display(), out.failure);
    out.transcript
        .iter()
        // The journal reports wall-clock durations: everything else must repeat exactly.
        .filter(|x| !x.url.contains("/_azemu/requests"))
        .map(|x| {
            let base = x.url.split('/').take(3).collect::<Vec<_>>().join("/");
            let headers: Vec<String> = ["x-ms-request-id", "azure-asyncoperation", "location", "retry-after"]
                .iter()
                .filter_map(|h| x.header(h).map(|v| format!("{h}: {v}")))
                .collect();
            format!(
                "{} {} -> {}\n{}\n{}",
                x.method,
                x.url,
                x.status,
                headers.join("\n"),
                x.body_text
            )
            .replace(&base, "<azemu>")
        })
        .collect()
}

#[test]
fn same_seed_gives_byte_identical_responses() {
    for file in scenarios() {
        let a = transcript(&file, Some(42));
        let b = transcript(&file, Some(42));
        assert_eq!(a.len(), b.len(), "{}: different number of exchanges", file.display());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{}: responses differ under the same seed", file.display());
        }
    }
}

#[test]
fn without_a_seed_ids_differ() {
    let file = &scenarios()[0];
    let a = transcript(file, None);
    let b = transcript(file, None);
    assert_ne!(a, b, "unseeded runs should generate different ids");
}

#[test]
fn seeded_clock_starts_at_2026_and_stands_still() {
    let file = &scenarios()[0];
    let a = transcript(file, Some(7));
    assert!(
        a.iter().any(|t| t.contains("2026-01-01T00:00:00.0000000Z")),
        "seeded timestamps come from the virtual clock"
    );
}
