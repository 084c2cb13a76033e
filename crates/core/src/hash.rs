//! FNV-1a (64-bit): a stable, dependency-free hash for keys and ids — never for secrets.

pub fn fnv64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_reference_vectors() {
        assert_eq!(super::fnv64(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv64(*b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
