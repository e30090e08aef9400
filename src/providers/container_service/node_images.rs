//! The node image (VHD) catalog: per image family an ordered list of versions with their
//! release times. New pools start on the newest; `POST /_azemu/node-images` (or
//! `azemu node-images publish`) releases the next one, as Microsoft does weekly for Linux and
//! monthly for Windows.
//!
//! Versions use AKS's format `<family>-<YYYYMM.DD.patch>` (Linux) and
//! `<family>-<build>.<revision>.<YYMMDD>` (Windows). Source: aks-rules.md h1.

use crate::arm::time::{parse_rfc3339, rfc3339, Millis};
use crate::arm::{ArmError, ArmResult};
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

pub(crate) const KIND: &str = "azemu/nodeImages";
const DAY: Millis = 86_400_000;

pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) os_type: &'static str,
    /// The `osSKU` values that use this family (the first `""`-accepting family is the default).
    pub(crate) os_skus: &'static [&'static str],
    pub(crate) cadence_days: i64,
    /// (version suffix, release date)
    pub(crate) initial: &'static [(&'static str, &'static str)],
}

pub(crate) const FAMILIES: &[Family] = &[
    Family {
        name: "AKSUbuntu-2204gen2containerd",
        os_type: "Linux",
        os_skus: &["", "Ubuntu", "Ubuntu2204"],
        cadence_days: 7,
        initial: &[
            ("202512.01.0", "2025-12-01"),
            ("202512.08.0", "2025-12-08"),
            ("202512.15.0", "2025-12-15"),
        ],
    },
    Family {
        name: "AKSUbuntu-2404gen2containerd",
        os_type: "Linux",
        os_skus: &["Ubuntu2404"],
        cadence_days: 7,
        initial: &[("202512.08.0", "2025-12-08"), ("202512.15.0", "2025-12-15")],
    },
    Family {
        name: "AKSAzureLinux-V3gen2",
        os_type: "Linux",
        os_skus: &["AzureLinux", "AzureLinux3", "CBLMariner"],
        cadence_days: 7,
        initial: &[("202512.08.0", "2025-12-08"), ("202512.15.0", "2025-12-15")],
    },
    Family {
        name: "AKSWindows-2022-containerd",
        os_type: "Windows",
        os_skus: &["", "Windows2022"],
        cadence_days: 28,
        initial: &[("20348.4405.251110", "2025-11-10"), ("20348.4529.251210", "2025-12-10")],
    },
    Family {
        name: "AKSWindows-2019-containerd",
        os_type: "Windows",
        os_skus: &["Windows2019"],
        cadence_days: 28,
        initial: &[("17763.8027.251110", "2025-11-10"), ("17763.8146.251210", "2025-12-10")],
    },
];

/// The family a pool of `os_type` / `os_sku` boots from.
pub(crate) fn family_for(os_type: &str, os_sku: &str) -> ArmResult<&'static Family> {
    FAMILIES
        .iter()
        .find(|f| f.os_type.eq_ignore_ascii_case(os_type) && f.os_skus.iter().any(|s| s.eq_ignore_ascii_case(os_sku)))
        .ok_or_else(|| {
            ArmError::bad_request(
                "InvalidOSSKU",
                format!("OSSKU='{os_sku}' is invalid for OSType='{os_type}'. Valid values are Ubuntu, Ubuntu2204, Ubuntu2404, AzureLinux, AzureLinux3 for Linux and Windows2019, Windows2022 for Windows."),
            )
        })
}

pub(crate) fn family_named(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The family of a full version string (`AKSUbuntu-2204gen2containerd-202512.15.0`).
pub(crate) fn family_of_version(version: &str) -> Option<&'static Family> {
    FAMILIES
        .iter()
        .find(|f| version.starts_with(f.name) && version.as_bytes().get(f.name.len()) == Some(&b'-'))
}

fn record_id(family: &str, version: &str) -> String {
    format!("/azemu/nodeImages/{family}/{version}")
}

fn put(w: &Tx, family: &Family, suffix: &str, released: Millis) -> Value {
    let version = format!("{}-{suffix}", family.name);
    let doc = json!({
        "family": family.name,
        "osType": family.os_type,
        "version": version,
        "releasedAt": rfc3339(released),
        "released": released,
    });
    w.store
        .put(Record::new(record_id(family.name, &version), KIND, doc.clone()));
    doc
}

/// The initial catalog.
pub(crate) fn seed(w: &Tx) {
    for f in FAMILIES {
        for (suffix, date) in f.initial {
            let t = parse_rfc3339(&format!("{date}T00:00:00Z")).unwrap_or(0);
            put(w, f, suffix, t);
        }
    }
}

/// Every version of a family, oldest first.
pub(crate) fn versions(w: &Tx, family: &str) -> Vec<Value> {
    let mut v: Vec<Value> = w
        .store
        .list(|r| {
            r.kind == KIND
                && r.body["family"]
                    .as_str()
                    .is_some_and(|f| f.eq_ignore_ascii_case(family))
        })
        .into_iter()
        .map(|r| r.body)
        .collect();
    v.sort_by(by_release);
    v
}

/// Release order: by release time, then by version.
fn by_release(a: &Value, b: &Value) -> Ordering {
    a["released"]
        .as_i64()
        .cmp(&b["released"].as_i64())
        .then_with(|| a["version"].as_str().cmp(&b["version"].as_str()))
}

pub(crate) fn latest(w: &Tx, family: &str) -> Option<String> {
    versions(w, family)
        .last()
        .and_then(|v| v["version"].as_str().map(str::to_string))
}

/// The catalog as one read: every family's versions in release order. Decisions about images
/// (which is the newest, whether one is newer than another) are pure functions of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    /// Family name (lower case) to its versions, oldest first.
    families: HashMap<String, Vec<String>>,
}

impl Catalog {
    pub(crate) fn load(w: &Tx) -> Catalog {
        let mut all: Vec<Value> = w.store.list(|r| r.kind == KIND).into_iter().map(|r| r.body).collect();
        all.sort_by(by_release);
        let mut c = Catalog::default();
        for v in &all {
            if let (Some(family), Some(version)) = (v["family"].as_str(), v["version"].as_str()) {
                c.families
                    .entry(family.to_ascii_lowercase())
                    .or_default()
                    .push(version.to_string());
            }
        }
        c
    }

    /// A catalog of the given versions (oldest first per family).
    #[cfg(test)]
    pub(crate) fn of(families: &[(&str, &[&str])]) -> Catalog {
        let families = families
            .iter()
            .map(|(f, v)| (f.to_ascii_lowercase(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        Catalog { families }
    }

    fn versions(&self, family: &str) -> &[String] {
        self.families
            .get(&family.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The newest version of `family`.
    pub(crate) fn latest(&self, family: &str) -> Option<&str> {
        self.versions(family).last().map(String::as_str)
    }

    /// Orders two versions of the same family by release.
    pub(crate) fn compare(&self, a: &str, b: &str) -> Ordering {
        let Some(f) = family_of_version(a) else { return a.cmp(b) };
        let all = self.versions(f.name);
        let pos = |v: &str| all.iter().position(|x| x == v);
        match (pos(a), pos(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        }
    }

    /// The newest image of `image`'s family when it is newer than `image` (node images are
    /// never downgraded, aks-rules.md h4); `None` when `image` is the newest or unknown.
    pub(crate) fn newer_than(&self, image: &str) -> Option<&str> {
        let family = family_of_version(image)?;
        self.latest(family.name)
            .filter(|latest| self.compare(latest, image) == Ordering::Greater)
    }
}

/// The suffix after `latest`: a week later for Linux (`YYYYMM.DD.0`), a month for Windows.
fn next_suffix(family: &Family, latest_suffix: &str, released: Millis) -> (String, Millis) {
    // `released` may come from an imported snapshot: saturate, the date is clamped when formatted.
    let next_release = released.saturating_add(family.cadence_days * DAY);
    let date = rfc3339(next_release);
    let (y, m, d) = (&date[0..4], &date[5..7], &date[8..10]);
    let suffix = if family.os_type == "Windows" {
        let mut p = latest_suffix.split('.');
        let build = p.next().unwrap_or("0");
        let rev: u64 = p.next().and_then(|r| r.parse().ok()).unwrap_or(0);
        format!("{build}.{}.{}{m}{d}", rev.saturating_add(1), &y[2..])
    } else {
        format!("{y}{m}.{d}.0")
    };
    (suffix, next_release)
}

/// Releases a new version of `family` (the next in its cadence when `suffix` is `None`).
pub(crate) fn publish(w: &Tx, family_name: &str, suffix: Option<&str>) -> ArmResult<Value> {
    let family = family_named(family_name).ok_or_else(|| {
        ArmError::bad_request(
            "UnknownNodeImageFamily",
            format!(
                "'{family_name}' is not a node image family. Known: {}.",
                FAMILIES.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let all = versions(w, family.name);
    let last = all.last().cloned().unwrap_or(json!({}));
    let last_suffix = last["version"]
        .as_str()
        .and_then(|v| v.get(family.name.len() + 1..))
        .map(str::to_string)
        .unwrap_or_default();
    let last_release = last["released"].as_i64().unwrap_or(0);
    let (suffix, release) = match suffix {
        Some(s) => (
            s.trim_start_matches(&format!("{}-", family.name)).to_string(),
            last_release.max(w.now()).max(last_release.saturating_add(1)),
        ),
        None => next_suffix(family, &last_suffix, last_release),
    };
    // Rule: a release is newer than every earlier one (node images are never downgraded, h4).
    let numeric = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    if !last_suffix.is_empty() && numeric(&suffix) < numeric(&last_suffix) {
        return Err(ArmError::conflict(
            "NodeImageVersionNotNewer",
            format!(
                "{}-{suffix} is not newer than the latest release {}-{last_suffix}.",
                family.name, family.name
            ),
        ));
    }
    if all
        .iter()
        .any(|v| v["version"].as_str() == Some(&format!("{}-{suffix}", family.name)))
    {
        return Err(ArmError::conflict(
            "NodeImageVersionExists",
            format!("{}-{suffix} is already published.", family.name),
        ));
    }
    Ok(put(w, family, &suffix, release))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_versions_follow_the_cadence() {
        let linux = family_named("AKSUbuntu-2204gen2containerd").unwrap();
        let t = parse_rfc3339("2025-12-15T00:00:00Z").unwrap();
        assert_eq!(next_suffix(linux, "202512.15.0", t).0, "202512.22.0");
        let win = family_named("AKSWindows-2022-containerd").unwrap();
        let t = parse_rfc3339("2025-12-10T00:00:00Z").unwrap();
        assert_eq!(next_suffix(win, "20348.4529.251210", t).0, "20348.4530.260107");
    }

    #[test]
    fn families_by_sku() {
        assert_eq!(family_for("Linux", "").unwrap().name, "AKSUbuntu-2204gen2containerd");
        assert_eq!(family_for("Linux", "AzureLinux").unwrap().name, "AKSAzureLinux-V3gen2");
        assert_eq!(family_for("Windows", "").unwrap().name, "AKSWindows-2022-containerd");
        assert!(family_for("Linux", "Windows2019").is_err());
    }

    #[test]
    fn catalog_finds_a_newer_image_only_when_there_is_one() {
        let f = "AKSUbuntu-2204gen2containerd";
        let (a, b) = (format!("{f}-202512.08.0"), format!("{f}-202512.15.0"));
        let c = Catalog::of(&[(f, &[a.as_str(), b.as_str()])]);
        assert_eq!(c.newer_than(&a), Some(b.as_str()));
        assert_eq!(c.newer_than(&b), None);
        assert_eq!(c.newer_than("unknown-1"), None);
        assert_eq!(c.compare(&a, &b), Ordering::Less);
    }
}
