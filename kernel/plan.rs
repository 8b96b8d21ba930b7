//! The machine plan generated at build time from the board and partitions files (see build.rs).

include!(concat!(env!("OUT_DIR"), "/manifest.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_plan_matches_its_heap_sequence() {
        assert_eq!(PLAN.heap_bytes, HEAP_BYTES);
        assert!(!PLAN.partitions.is_empty());
        let items = tessera_manifest::heap::sequence(&PLAN).count();
        let vcpus = PLAN.vcpus().count();
        assert!(items > vcpus * tessera_manifest::heap::PER_VCPU.len());
    }

    /// The kernel carves its heap by iterating `heap::sequence(&PLAN)`; the generated size is the
    /// smallest on which that same sequence succeeds.
    #[test]
    fn heap_bytes_is_the_minimal_replay_of_the_kernel_sequence() {
        use tessera_manifest::heap_size::{replay, GRANULE_BYTES};
        let items: Vec<(usize, usize)> = tessera_manifest::heap::sequence(&PLAN)
            .map(|i| (i.bytes, i.align))
            .collect();
        assert!(replay(HEAP_BYTES, &items).is_ok());
        assert!(replay(HEAP_BYTES - GRANULE_BYTES, &items).is_err());
    }

    #[test]
    fn array_lengths_match_the_plan() {
        assert_eq!(PARTITIONS, PLAN.partitions.len());
        assert_eq!(VCPUS, PLAN.vcpus().count());
        assert_eq!(CPU_SLOTS, PLAN.cpu_slots());
        assert!(CPU_SLOTS >= 1 && CPU_SLOTS <= PLAN.board_cpus.len());
        let ept = (0..PLAN.partitions.len()).map(|p| tessera_manifest::heap::ept_pages(&PLAN, p));
        assert_eq!(Some(MAX_EPT_PAGES as u64), ept.max());
    }

    /// The hypervisor drives the UART of its board console device, at the port the board declares.
    #[test]
    fn console_port_is_the_board_console_device_s() {
        assert_eq!(
            Some(CONSOLE_PORT),
            PLAN.console.ports.first().map(|p| p.base)
        );
        assert!(PLAN.console.ports[0].count >= 8);
        assert!(PLAN
            .partitions
            .iter()
            .all(|p| p.devices.iter().all(|d| d.name != PLAN.console.name)));
    }

    #[test]
    fn every_vcpu_has_its_own_pid_table_entry() {
        for (p, part) in PLAN.partitions.iter().enumerate() {
            for (v, vcpu) in part.vcpus.iter().enumerate() {
                let entry = part.pid_table.entries[vcpu.virtual_apic_id as usize];
                let target = tessera_manifest::PidTarget {
                    partition: p as u16,
                    vcpu: v as u16,
                };
                assert_eq!(entry, Some(target));
            }
        }
    }
}
