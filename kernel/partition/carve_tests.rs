//! Host test of the boot CPU's carving and table building together: the heap is carved as planned
//! and the partition tables are built in its pages.

use super::tables;
use crate::heap::{carve, NOTIFICATION_VECTOR};
use crate::plan::{HEAP_BYTES, PLAN};
use tessera_vmx::ipi::VcpuRef;

/// The kernel's own carving (the region can be taken once per process, so one test does it all):
/// every planned item is placed, the partition tables are built in the carved pages, and the
/// PID-pointer table entries point exactly at the planned vCPUs' descriptors.
#[test]
fn carving_follows_the_plan_and_the_tables_fit_their_pages() {
    let carved = carve().expect("the planned heap holds the planned sequence");
    assert!(carve().is_err(), "the region is taken once");
    assert_eq!(carved.size_bytes, HEAP_BYTES);
    assert!(carved.used_bytes <= HEAP_BYTES);
    assert_eq!(carved.vcpus.len(), PLAN.vcpus().count());
    assert_eq!(carved.partitions.len(), PLAN.partitions.len());
    for (p, part) in PLAN.partitions.iter().enumerate() {
        let memory = &carved.partitions[p];
        let planned = tessera_manifest::heap::ept_pages(&PLAN, p) as usize;
        assert_eq!(memory.ept_pages.len(), planned);
        assert_eq!(memory.pid_table.len(), part.pid_table.entries.len());
        assert_eq!(memory.pid_table.as_ptr() as usize % 4096, 0);
        tables::fill_partition_io_bitmaps(part, memory).expect("one set of bitmaps per partition");
        let root = tables::build_ept(&PLAN, p, memory).expect("EPT fits its planned pages");
        assert!(
            core::ptr::eq(root, memory.ept_pages[0]),
            "PML4 = first page"
        );
        tables::fill_pid_table(&PLAN, part, memory, &carved.vcpus).expect("PID table");
        for (t, entry) in part.pid_table.entries.iter().enumerate() {
            let raw = memory.pid_table[t].load(core::sync::atomic::Ordering::SeqCst);
            let expected = entry.map_or(0, |target| {
                let g = PLAN.vcpu_index(target);
                carved.vcpus[g].pid as *const _ as u64 | 1
            });
            assert_eq!(raw, expected, "partition {} entry {t}", part.name);
        }
        for v in 0..part.vcpus.len() {
            let g = PLAN.vcpu_index(VcpuRef {
                partition: p as u16,
                vcpu: v as u16,
            });
            tables::fill_vcpu_pages(part, v, &carved.vcpus[g], true);
            let vapic = carved.vcpus[g].virtual_apic;
            assert_eq!(vapic.read_u32(0x20), part.vcpus[v].virtual_apic_id);
        }
    }
    let pid = carved.vcpus[0].pid;
    assert_eq!(pid.notification_vector(), NOTIFICATION_VECTOR);
    assert_eq!(
        pid.notification_destination(),
        PLAN.partitions[0].vcpus[0].physical_apic_id
    );
}
