//! Pure checks of what the boot CPU found: which APs to start, and whether they answered as listed.

/// Every CPU listed by the MADT: (APIC ID, enabled).
pub type Listed = (u32, bool);

/// APIC IDs to start: the enabled MADT entries other than the boot CPU, in table order.
pub fn aps_to_start(listed: &[Listed], bsp_apic_id: u32) -> impl Iterator<Item = u32> + '_ {
    listed
        .iter()
        .filter(move |(id, enabled)| *enabled && *id != bsp_apic_id)
        .map(|(id, _)| *id)
}

/// Compares the APIC ID each started CPU read from its own x2APIC with the one it was started as.
pub fn mismatch(started_as: &[u32], reported: &[u32]) -> Option<(usize, u32, u32)> {
    started_as
        .iter()
        .zip(reported)
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i, *a, *b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_boot_cpu_and_disabled_entries() {
        let listed = [(0, true), (1, true), (2, false), (3, true)];
        let aps: std::vec::Vec<u32> = aps_to_start(&listed, 0).collect();
        assert_eq!(aps, [1, 3]);
    }

    #[test]
    fn reports_first_mismatch() {
        assert_eq!(mismatch(&[1, 2, 3], &[1, 2, 3]), None);
        assert_eq!(mismatch(&[1, 2, 3], &[1, 5, 3]), Some((1, 2, 5)));
    }
}
