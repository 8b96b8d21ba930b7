//! The messages the tests send: mixed sizes (1 to 232 bytes) and contents, both derived from
//! the message number so a reader checks every byte, not only the ring's checksum.

use tessera_guest::channel::MAX_PAYLOAD_BYTES;

/// Size of message `n`: spread over 1..=232 bytes by a multiplicative hash.
pub fn size(n: u64) -> usize {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56;
    1 + (h as usize * MAX_PAYLOAD_BYTES) / 256
}

/// Fills `buf` with message `n`; returns its bytes.
pub fn fill(n: u64, buf: &mut [u8; MAX_PAYLOAD_BYTES]) -> &[u8] {
    let bytes = size(n);
    for (i, b) in buf[..bytes].iter_mut().enumerate() {
        *b = (n as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    &buf[..bytes]
}

/// True if `got` is message `n`.
pub fn matches(n: u64, got: &[u8]) -> bool {
    let mut want = [0u8; MAX_PAYLOAD_BYTES];
    fill(n, &mut want) == got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_cover_the_slot() {
        let sizes: Vec<usize> = (0..10_000).map(size).collect();
        assert_eq!(sizes.iter().min(), Some(&1));
        assert!(*sizes.iter().max().unwrap() >= MAX_PAYLOAD_BYTES - 1);
        assert!(sizes.iter().all(|&s| (1..=MAX_PAYLOAD_BYTES).contains(&s)));
    }

    #[test]
    fn a_message_matches_only_itself() {
        let mut buf = [0u8; MAX_PAYLOAD_BYTES];
        let m = fill(7, &mut buf).to_vec();
        assert!(matches(7, &m));
        assert!(!matches(8, &m));
    }
}
