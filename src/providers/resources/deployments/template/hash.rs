//! The deterministic hashes of the template language: `uniqueString` and `guid`.
//!
//! `uniqueString`: Microsoft's MurmurHash64 (two 32-bit lanes; not MurmurHash64A) over the
//! UTF-8 bytes of the arguments joined with `-`, printed as 13 base-32 characters. Structure
//! and constants as described for `Microsoft.WindowsAzure.ResourceStack.Common.Algorithms`
//! (public decompilation; the same constants in Azure/terraform-provider-azapi's
//! `unique_string_function_test.go` vectors).
//!
//! `guid`: a name-based UUID (RFC 4122 §4.3, SHA-1, version 5) over the arguments joined with
//! `-`, in namespace `11fb06fb-712d-4ddd-98c7-e71bbd588830`. Microsoft documents only "RFC 4122
//! §4.3 with some modifications" (template-functions-string#guid); the namespace and join are
//! community-sourced (several independent reimplementations that match Azure's output).

/// Microsoft's MurmurHash64 with seed 0.
pub(crate) fn murmur64(data: &[u8]) -> u64 {
    const C1: u32 = 0x239B_961B;
    const C2: u32 = 0xAB0E_9789;
    let (mut h1, mut h2) = (0u32, 0u32);
    let blocks = data.len() / 8;
    for b in 0..blocks {
        let k1 = u32::from_le_bytes(data[b * 8..b * 8 + 4].try_into().unwrap_or_default());
        let k2 = u32::from_le_bytes(data[b * 8 + 4..b * 8 + 8].try_into().unwrap_or_default());
        h1 ^= k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 = h1
            .rotate_left(19)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x561C_CD1B);
        h2 ^= k2.wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        h2 = h2
            .rotate_left(13)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x0BCA_A747);
    }
    let tail = &data[blocks * 8..];
    if !tail.is_empty() {
        let mut k1 = [0u8; 4];
        let n1 = tail.len().min(4);
        k1[..n1].copy_from_slice(&tail[..n1]);
        h1 ^= u32::from_le_bytes(k1).wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        if tail.len() > 4 {
            let mut k2 = [0u8; 4];
            k2[..tail.len() - 4].copy_from_slice(&tail[4..]);
            h2 ^= u32::from_le_bytes(k2).wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        }
    }
    let len = data.len() as u32;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix32(h1);
    h2 = fmix32(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// `uniqueString(parts...)`: 13 lower-case base-32 characters.
pub(crate) fn unique_string(parts: &[&str]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut h = murmur64(parts.join("-").as_bytes());
    let mut out = String::with_capacity(13);
    for _ in 0..13 {
        out.push(ALPHABET[(h >> 59) as usize] as char);
        h <<= 5;
    }
    out
}

/// `guid(parts...)`: a version-5 UUID, lower-case with hyphens.
pub(crate) fn guid(parts: &[&str]) -> String {
    const NAMESPACE: [u8; 16] = [
        0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30,
    ];
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&NAMESPACE);
    ctx.update(parts.join("-").as_bytes());
    let digest = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors: Azure/terraform-provider-azapi unique_string_function_test.go (first row); the
    // others are the self-test of a public port "verified against Bicep"; see the module doc.
    #[test]
    fn unique_string_matches_known_azure_vectors() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["/subscriptions/00000000-0000-0000-0000-000000000000", "resource-id"],
                "cwvxuqg24sifi",
            ),
            (&["test"], "rbgf3xv4ufgzg"),
            (&["hello", "world"], "a7wkljktk6wne"),
            (&["abc"], "cgtzqvhu4i23s"),
            (
                &["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"],
                "bmg7c6xu4tw46",
            ),
            (&["foo", "bar", "baz"], "xzi4ioaxtmth4"),
            (&[""], "aaaaaaaaaaaaa"),
        ];
        for (input, want) in cases {
            assert_eq!(unique_string(input), *want, "uniqueString{input:?}");
        }
    }

    #[test]
    fn unique_string_is_case_sensitive_and_order_sensitive() {
        assert_ne!(unique_string(&["ABC"]), unique_string(&["abc"]));
        assert_ne!(unique_string(&["a", "b"]), unique_string(&["b", "a"]));
        // The join is '-': two arguments equal one argument with the dash.
        assert_eq!(unique_string(&["a", "b"]), unique_string(&["a-b"]));
    }

    #[test]
    fn murmur_covers_every_tail_length() {
        let data = b"0123456789abcdef";
        let all: std::collections::HashSet<u64> = (0..=16).map(|n| murmur64(&data[..n])).collect();
        assert_eq!(all.len(), 17);
        assert_eq!(murmur64(b""), 0);
    }

    // Vectors computed from the community algorithm (namespace 11fb06fb-…, '-' join).
    #[test]
    fn guid_matches_the_community_algorithm() {
        assert_eq!(guid(&["a"]), "3703365d-5a9f-59b4-bca7-b9681389e4c1");
        assert_eq!(guid(&["hello", "world"]), "a5b868f8-11fe-567a-ace0-e77cc87f104e");
        assert_eq!(
            guid(&["/subscriptions/00000000-0000-0000-0000-000000000000"]),
            "b6af2640-793e-5e23-87ed-3a1ed155add8"
        );
    }
}
