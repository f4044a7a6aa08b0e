//! FNV-1a, 64 bits: a hash that is the same in every process, build and
//! machine (std's `Hasher`s promise none of that). For keys that outlive
//! a process: message nonces, advisory-lock keys, fold assignments, cached
//! embeddings, model fingerprints.

/// The FNV-1a hash of `bytes`.
pub fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_the_published_fnv1a() {
        // The reference values of the FNV test suite.
        assert_eq!(fnv1a64(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(*b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(*b"foobar"), 0x8594_4171_f739_67e8);
    }
}
