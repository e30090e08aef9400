//! The node model: each agent pool has nodes, each with the node image it booted and the
//! kubelet identity it really uses. It lives in the pool record's private state and is shown
//! only through `/_azemu/` — ARM responses stay Azure-shaped.
//!
//! A pool's scale set has a *model* (image + kubelet identity) that new nodes are built
//! from. A kubelet identity change on the cluster reaches a pool's model only when the pool is
//! reimaged onto a newer node image; until then the pool is *pending* and keeps the old
//! identity (aks-rules.md e2/e3).

use super::model::KubeletKind;
use crate::arm::time::rfc3339;
use crate::store::Record;
use crate::world::Tx;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KubeletIdentity {
    #[serde(rename = "type")]
    pub(crate) kind: KubeletKind,
    pub(crate) client_id: String,
    pub(crate) object_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resource_id: Option<String>,
}

impl KubeletIdentity {
    pub(crate) fn same_as(&self, other: &KubeletIdentity) -> bool {
        self.kind == other.kind && self.client_id.eq_ignore_ascii_case(&other.client_id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) node_image_version: String,
    pub(crate) kubelet_identity: KubeletIdentity,
    pub(crate) created_at: String,
    pub(crate) state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pending {
    /// The identity the cluster now names, not yet on these nodes.
    pub(crate) kubelet_identity: KubeletIdentity,
    pub(crate) since: String,
    pub(crate) reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PoolModel {
    /// The 8-digit scale set id in node names (`aks-nodepool1-12345678-vmss000000`).
    pub(crate) vmss_id: String,
    pub(crate) next_index: u32,
    pub(crate) image: String,
    pub(crate) identity: Option<KubeletIdentity>,
    pub(crate) nodes: Vec<Node>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pending: Option<Pending>,
}

fn base36(mut n: u32) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; 6];
    for i in (0..6).rev() {
        out[i] = digits[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// How many nodes one upgrade batch replaces: `maxSurge` as a count or a percentage of the
/// pool (rounded up, at least one, never more than the pool). AKS's default is 10%.
/// Source: the `maxSurge` description in the AKS API specification (AgentPoolUpgradeSettings):
/// "an integer (e.g. '5') or a percentage (e.g. '50%') … fractional nodes are rounded up".
pub(crate) fn surge_size(max_surge: Option<&str>, count: usize) -> usize {
    let s = max_surge.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("10%");
    let n = match s.strip_suffix('%') {
        // Integer arithmetic: ceil(count * pct / 100), saturating on absurd percentages.
        Some(p) => p
            .trim()
            .parse::<usize>()
            .map(|pct| count.saturating_mul(pct).div_ceil(100))
            .unwrap_or_else(|_| count.div_ceil(10)),
        None => s.parse().unwrap_or(1),
    };
    n.clamp(1, count.max(1))
}

impl PoolModel {
    pub(crate) fn new(w: &Tx, pool: &str, count: usize, image: &str, identity: Option<KubeletIdentity>) -> PoolModel {
        let mut m = PoolModel {
            vmss_id: format!("{:08}", w.ids.below(100_000_000)),
            next_index: 0,
            image: image.to_string(),
            identity,
            nodes: Vec::new(),
            pending: None,
        };
        for _ in 0..count {
            let n = m.new_node(w, pool);
            m.nodes.push(n);
        }
        m
    }

    fn new_node(&mut self, w: &Tx, pool: &str) -> Node {
        let name = format!("aks-{pool}-{}-vmss{}", self.vmss_id, base36(self.next_index));
        self.next_index = self.next_index.saturating_add(1);
        Node {
            name,
            node_image_version: self.image.clone(),
            kubelet_identity: self.identity.clone().unwrap_or(KubeletIdentity {
                kind: KubeletKind::None,
                client_id: String::new(),
                object_id: String::new(),
                resource_id: None,
            }),
            created_at: rfc3339(w.now()),
            state: "Ready".into(),
        }
    }

    /// Adds or removes nodes (newest first) to reach `count`; new nodes follow the model.
    pub(crate) fn scale_to(&mut self, w: &Tx, pool: &str, count: usize) -> (Vec<String>, Vec<String>) {
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        while self.nodes.len() < count {
            let n = self.new_node(w, pool);
            added.push(n.name.clone());
            self.nodes.push(n);
        }
        while self.nodes.len() > count {
            if let Some(n) = self.nodes.pop() {
                removed.push(n.name);
            }
        }
        (added, removed)
    }

    /// Replaces every node, `surge` at a time, with nodes on `image` using `identity`.
    /// Returns one line per batch for the activity log.
    pub(crate) fn reimage(
        &mut self,
        w: &Tx,
        pool: &str,
        image: &str,
        identity: Option<KubeletIdentity>,
        surge: usize,
    ) -> Vec<String> {
        self.image = image.to_string();
        self.identity = identity;
        self.pending = None;
        let old: Vec<Node> = std::mem::take(&mut self.nodes);
        let mut log = Vec::new();
        for (i, batch) in old.chunks(surge.max(1)).enumerate() {
            let mut created = Vec::new();
            for _ in batch {
                let n = self.new_node(w, pool);
                created.push(n.name.clone());
                self.nodes.push(n);
            }
            let gone: Vec<&str> = batch.iter().map(|n| n.name.as_str()).collect();
            log.push(format!(
                "batch {} (maxSurge {}): surge node(s) {} ready on {image}; drained and deleted {}",
                i + 1,
                surge,
                created.join(", "),
                gone.join(", ")
            ));
        }
        log
    }

    /// The distinct kubelet identities the pool's nodes use.
    pub(crate) fn effective_identities(&self) -> Vec<KubeletIdentity> {
        let mut out: Vec<KubeletIdentity> = Vec::new();
        for n in &self.nodes {
            if !out.iter().any(|x| x.same_as(&n.kubelet_identity)) {
                out.push(n.kubelet_identity.clone());
            }
        }
        out
    }
}

/// The model of a pool record.
pub(crate) fn model_of(rec: &Record) -> PoolModel {
    serde_json::from_value(rec.internal["model"].clone()).unwrap_or_default()
}

/// Stores `model` in the pool record and mirrors its image into the ARM body.
pub(crate) fn save(w: &Tx, pool_id: &str, model: &PoolModel) {
    let v = serde_json::to_value(model).unwrap_or(Value::Null);
    w.store.update(pool_id, |r| {
        if !r.internal.is_object() {
            r.internal = serde_json::json!({});
        }
        r.internal["model"] = v;
        r.body["properties"]["nodeImageVersion"] = model.image.clone().into();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_sizes() {
        assert_eq!(surge_size(Some("33%"), 3), 1);
        assert_eq!(surge_size(Some("50%"), 3), 2);
        assert_eq!(surge_size(Some("2"), 5), 2);
        assert_eq!(surge_size(None, 3), 1);
    }

    #[test]
    fn node_names_count_in_base36() {
        assert_eq!(base36(0), "000000");
        assert_eq!(base36(10), "00000a");
        assert_eq!(base36(36), "000010");
    }
}
