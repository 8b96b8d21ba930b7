//! Host test of the boot CPU's table building in the heap's planned structures: every structure
//! the heap hands out is where the generated plan says, each only once, and the partition tables
//! are built in them. One test takes everything: the region is one static, and each of its
//! structures can be taken once per process.

use super::tables;
use crate::heap::{self, NOTIFICATION_VECTOR};
use crate::plan::{HEAP_BYTES, PLAN};
use tessera_arch::vmx::TscDeadline;
use tessera_manifest::VcpuRef;

#[test]
fn structures_are_taken_once_at_their_planned_offsets_and_tables_built_in_them() {
    let base = heap::phys_addr(0);
    assert_eq!(base % 4096, 0, "the region is page-aligned");
    let at = |addr: u64| (addr - base) as usize;
    let pids = heap::take_descriptors();
    for (v, planned) in PLAN.heap.vcpus.iter().enumerate() {
        let regions = heap::take_vcpu_regions(v);
        assert_eq!(at(regions.vmxon.phys_addr()), planned.vmxon);
        assert_eq!(at(regions.vmcs.phys_addr()), planned.vmcs);
        assert_eq!(at(pids[v] as *const _ as u64), planned.pid);
        host_stack_sits_above_its_guard_page(v, &regions);
    }
    let pid = pids[0];
    assert_eq!(pid.notification_vector(), NOTIFICATION_VECTOR);
    assert_eq!(
        pid.notification_destination(),
        PLAN.partitions[0].vcpus[0].physical_apic_id
    );
    for (p, part) in PLAN.partitions.iter().enumerate() {
        let planned = PLAN.heap.partitions[p];
        let io = tables::build_io_bitmaps(part, p).expect("granted ports fit the bitmaps");
        assert_eq!(
            io.is_some(),
            tessera_manifest::heap_items::grants_ports(part)
        );
        assert_eq!(io.is_some(), planned.io_bitmaps.is_some());
        let ept = tables::build_ept(&PLAN, p).expect("EPT fits its planned pages");
        assert_eq!(at(ept.eptp() & !0xFFF), planned.ept, "PML4 = first page");
        let table = tables::build_pid_table(&PLAN, p, &pids).expect("PID table");
        assert_eq!(at(table.phys_addr()), planned.pid_table);
        assert_eq!(table.last_index(), part.pid_table.last_index);
        for (t, entry) in part.pid_table.entries.iter().enumerate() {
            let raw = table.entry(t).expect("entry in the table");
            let expected = entry.map_or(0, |target| {
                pids[PLAN.vcpu_index(target)] as *const _ as u64 | 1
            });
            assert_eq!(raw, expected, "partition {} entry {t}", part.name);
        }
        for v in 0..part.vcpus.len() {
            let g = PLAN.vcpu_index(VcpuRef {
                partition: p as u16,
                vcpu: v as u16,
            });
            let pages = tables::build_vcpu_pages(part, v, g);
            assert_eq!(
                at(pages.virtual_apic.phys_addr()),
                PLAN.heap.vcpus[g].virtual_apic
            );
            let id = tessera_vmx::tables::apic_offset::ID;
            assert_eq!(
                pages.virtual_apic.read_u32(id),
                part.vcpus[v].virtual_apic_id
            );
        }
    }
    let msr = tables::build_msr_bitmaps(true).expect("MSR bitmaps");
    let planned = PLAN.heap.msr_bitmaps;
    let deadline = tessera_vmx::msr::IA32_TSC_DEADLINE;
    let trapped = msr.get(TscDeadline::Trapped).expect("always built");
    assert_eq!(at(trapped.phys_addr()), planned.deadline_trapped);
    assert!(trapped.exits(deadline, true) && trapped.exits(deadline, false));
    let passed = msr
        .get(TscDeadline::Passed)
        .expect("a default partition's timer may be virtualized");
    assert_eq!(Some(at(passed.phys_addr())), planned.deadline_passed);
    assert!(!passed.exits(deadline, true) && !passed.exits(deadline, false));
    let end = PLAN.heap_items().map(|i| i.offset + i.bytes).max();
    assert_eq!(end, Some(HEAP_BYTES), "the region ends with its last item");
    every_structure_is_refused_a_second_time();
}

/// Each host stack is handed out once, right above its guard page (the vCPU's VMXON region),
/// 16-byte aligned at the top.
fn host_stack_sits_above_its_guard_page(v: usize, regions: &heap::VcpuRegions) {
    let planned = PLAN.heap.vcpus[v];
    let stack = heap::host_stack(v).expect("first take");
    assert!(heap::host_stack(v).is_none(), "a stack is handed out once");
    let bottom = stack.top() - PLAN.heap.host_stack_bytes as u64;
    assert_eq!(bottom, heap::phys_addr(planned.host_stack));
    assert_eq!(planned.host_stack_guard + 4096, planned.host_stack);
    assert_eq!(
        heap::host_stack_guard(v),
        regions.vmxon.phys_addr(),
        "the guard page is the vCPU's VMXON region"
    );
    assert_eq!(stack.top() % 16, 0);
    assert_eq!(stack.probe().used_bytes(), 0, "filled, never used");
}

/// Every structure taken above is refused when taken again (the region panics, naming it), and
/// the shared MSR bitmaps are not built twice.
fn every_structure_is_refused_a_second_time() {
    let refused = |take: &dyn Fn()| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(take))
            .expect_err("a structure is taken once");
    };
    refused(&|| {
        let _ = heap::take_descriptors();
    });
    refused(&|| {
        let _ = heap::take_vcpu_regions(0);
    });
    refused(&|| {
        let _ = heap::take_virtual_apic(0);
    });
    refused(&|| {
        let _ = heap::take_msr_bitmaps();
    });
    let granting =
        (0..PLAN.partitions.len()).find(|&p| PLAN.heap.partitions[p].io_bitmaps.is_some());
    if let Some(p) = granting {
        refused(&|| {
            let _ = heap::take_io_bitmaps(p);
        });
    }
    refused(&|| {
        let _ = heap::take_ept_pages(0);
    });
    refused(&|| {
        let _ = heap::take_pid_table(0);
    });
}
