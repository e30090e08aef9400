//! Cluster credentials: a kubeconfig (YAML, base64 in the ARM answer) whose server is
//! `https://{fqdn}:443`, with the cluster's CA and a bearer token (user) or a client
//! certificate and key (admin), as `listClusterUserCredential` / `listClusterAdminCredential`
//! return them. Terraform parses exactly these fields (terraform-azurerm.md §7).

use crate::world::Tx;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde_json::{json, Value};

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
pub fn new_cluster_pki(w: &Tx, cluster: &str) -> Value {
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

/// A kubeconfig document for one user of the cluster.
pub fn document(
    cluster: &str,
    resource_group: &str,
    fqdn: &str,
    pki: &Value,
    user_kind: &str,
    token: &str,
    admin: bool,
) -> String {
    let b64 = |s: &str| STANDARD.encode(s.as_bytes());
    let user = format!("{user_kind}_{resource_group}_{cluster}");
    let creds = if admin {
        format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n    token: {token}\n",
            b64(pki["clientCert"].as_str().unwrap_or("")),
            b64(pki["clientKey"].as_str().unwrap_or(""))
        )
    } else {
        format!("    token: {token}\n")
    };
    let context = if admin {
        format!("{cluster}-admin")
    } else {
        cluster.to_string()
    };
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://{fqdn}:443\n  name: {cluster}\ncontexts:\n- context:\n    cluster: {cluster}\n    user: {user}\n  name: {context}\ncurrent-context: {context}\nkind: Config\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n{creds}",
        ca = b64(pki["caCert"].as_str().unwrap_or("")),
    )
}

/// `{"kubeconfigs":[{"name": …, "value": base64(yaml)}]}`.
pub fn answer(name: &str, yaml: &str) -> Value {
    json!({ "kubeconfigs": [{ "name": name, "value": STANDARD.encode(yaml.as_bytes()) }] })
}
