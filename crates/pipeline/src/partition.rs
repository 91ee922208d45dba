//! Step 4: which worker gets a record.
//!
//! Partitioning by a hash of the key sends every record of one station to the
//! same worker, so a worker can keep per-station totals without sharing them
//! with anyone. The hash is FNV-1a, 32 bits, because it is short enough to
//! write out and stable everywhere (`std`'s `DefaultHasher` is not guaranteed
//! to be stable between Rust releases, and the report shows partition sizes).
//!
//! Read next: [`crate::aggregate`].

// ANCHOR: partition
/// FNV-1a, 32-bit: start at 2166136261; for each byte, xor it in, then multiply
/// by 16777619, wrapping.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    const OFFSET_BASIS: u32 = 2_166_136_261;
    const PRIME: u32 = 16_777_619;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(PRIME)
    })
}

/// The worker (from 0 to `workers - 1`) that aggregates `station`.
pub fn worker_for(station: &str, workers: usize) -> usize {
    assert!(
        workers > 0,
        "a scenario has at least one worker (validation checks it)"
    );
    fnv1a32(station.as_bytes()) as usize % workers
}
// ANCHOR_END: partition

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a32_matches_published_test_vectors() {
        // From the FNV reference test suite (draft-eastlake-fnv).
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn one_station_always_goes_to_one_worker() {
        assert_eq!(worker_for("Oslo", 3), worker_for("Oslo", 3));
        assert!(worker_for("Oslo", 3) < 3);
        assert_eq!(worker_for("anything", 1), 0);
    }
}
