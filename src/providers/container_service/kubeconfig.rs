//! Cluster credentials: a kubeconfig (YAML, base64 in the ARM answer) whose server is
//! `https://{fqdn}:443`, with the cluster's CA and a bearer token (user) or a client
//! certificate and key (admin), as `listClusterUserCredential` / `listClusterAdminCredential`
//! return them. Terraform parses exactly these fields (terraform-azurerm.md §7).

use crate::world::Tx;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// An Ed25519 key from 32 bytes of seed (PKCS#8 v1), so certificates are reproducible under `--seed`.
fn key_from(seed: [u8; 32]) -> Result<KeyPair, rcgen::Error> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    der.extend_from_slice(&seed);
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(der), &rcgen::PKCS_ED25519)
}

/// The cluster's certificate authority and the admin client certificate, made at creation
/// from key material the world's id generator provides.
pub(crate) fn new_cluster_pki(w: &Tx, cluster: &str) -> Value {
    let made = (|| -> Result<Value, rcgen::Error> {
        let ca_key = key_from(w.ids.bytes32())?;
        let mut ca = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "ca");
        ca.distinguished_name = dn;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
        ca.not_after = rcgen::date_time_ymd(2055, 1, 1);
        let ca_cert = ca.self_signed(&ca_key)?;
        let client_key = key_from(w.ids.bytes32())?;
        let mut client = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "masterclient");
        dn.push(DnType::OrganizationName, "system:masters");
        client.distinguished_name = dn;
        client.not_before = rcgen::date_time_ymd(2025, 1, 1);
        client.not_after = rcgen::date_time_ymd(2027, 12, 31);
        let issuer = Issuer::new(ca, ca_key);
        let client_cert = client.signed_by(&client_key, &issuer)?;
        Ok(json!({
            "caCert": ca_cert.pem(),
            "clientCert": client_cert.pem(),
            "clientKey": client_key.serialize_pem(),
            "cluster": cluster,
        }))
    })();
    made.unwrap_or(Value::Null)
}

/// The kubeconfig document (`kind: Config`), with the fields and order `az aks get-credentials`
/// writes and kubectl and Terraform read.
#[derive(Serialize)]
struct Kubeconfig<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    clusters: [ClusterEntry<'a>; 1],
    contexts: [ContextEntry<'a>; 1],
    #[serde(rename = "current-context")]
    current_context: &'a str,
    kind: &'static str,
    preferences: BTreeMap<String, String>,
    users: [UserEntry<'a>; 1],
}

#[derive(Serialize)]
struct ClusterEntry<'a> {
    cluster: Cluster,
    name: &'a str,
}

#[derive(Serialize)]
struct Cluster {
    #[serde(rename = "certificate-authority-data")]
    certificate_authority_data: String,
    server: String,
}

#[derive(Serialize)]
struct ContextEntry<'a> {
    context: Context<'a>,
    name: &'a str,
}

#[derive(Serialize)]
struct Context<'a> {
    cluster: &'a str,
    user: &'a str,
}

#[derive(Serialize)]
struct UserEntry<'a> {
    name: &'a str,
    user: User<'a>,
}

#[derive(Serialize)]
struct User<'a> {
    #[serde(rename = "client-certificate-data", skip_serializing_if = "Option::is_none")]
    client_certificate_data: Option<String>,
    #[serde(rename = "client-key-data", skip_serializing_if = "Option::is_none")]
    client_key_data: Option<String>,
    token: &'a str,
}

/// A kubeconfig document for one user of the cluster.
pub(crate) fn document(
    cluster: &str,
    resource_group: &str,
    fqdn: &str,
    pki: &Value,
    user_kind: &str,
    token: &str,
    admin: bool,
) -> String {
    let b64 = |k: &str| STANDARD.encode(pki[k].as_str().unwrap_or("").as_bytes());
    let user = format!("{user_kind}_{resource_group}_{cluster}");
    let context = if admin {
        format!("{cluster}-admin")
    } else {
        cluster.to_string()
    };
    let doc = Kubeconfig {
        api_version: "v1",
        clusters: [ClusterEntry {
            cluster: Cluster {
                certificate_authority_data: b64("caCert"),
                server: format!("https://{fqdn}:443"),
            },
            name: cluster,
        }],
        contexts: [ContextEntry {
            context: Context { cluster, user: &user },
            name: &context,
        }],
        current_context: &context,
        kind: "Config",
        preferences: BTreeMap::new(),
        users: [UserEntry {
            name: &user,
            user: User {
                client_certificate_data: admin.then(|| b64("clientCert")),
                client_key_data: admin.then(|| b64("clientKey")),
                token,
            },
        }],
    };
    // Plain strings and maps always serialize.
    serde_yaml_ng::to_string(&doc).unwrap_or_default()
}

/// `{"kubeconfigs":[{"name": …, "value": base64(yaml)}]}`.
pub(crate) fn answer(name: &str, yaml: &str) -> Value {
    json!({ "kubeconfigs": [{ "name": name, "value": STANDARD.encode(yaml.as_bytes()) }] })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki() -> Value {
        json!({ "caCert": "CA", "clientCert": "CC", "clientKey": "CK" })
    }

    #[test]
    fn user_kubeconfig_has_the_fields_clients_read() {
        let text = document(
            "c1",
            "rg",
            "c1-x.hcp.westus2.azmk8s.io",
            &pki(),
            "clusterUser",
            "tok",
            false,
        );
        assert_eq!(
            text,
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://c1-x.hcp.westus2.azmk8s.io:443\n  name: c1\ncontexts:\n- context:\n    cluster: c1\n    user: clusterUser_rg_c1\n  name: c1\ncurrent-context: c1\nkind: Config\npreferences: {}\nusers:\n- name: clusterUser_rg_c1\n  user:\n    token: tok\n"
        );
    }

    #[test]
    fn admin_kubeconfig_carries_the_client_certificate() {
        let text = document("c1", "rg", "f", &pki(), "clusterAdmin", "tok", true);
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(doc["current-context"], "c1-admin");
        assert_eq!(
            doc["users"][0]["user"],
            json!({ "client-certificate-data": "Q0M=", "client-key-data": "Q0s=", "token": "tok" })
        );
    }
}
