//! Host test of the boot CPU's table building in the heap's planned structures: every structure
//! the accessors return is where the generated plan says, and the partition tables are built in
//! them.

use super::tables;
use crate::heap::{self, NOTIFICATION_VECTOR};
use crate::plan::{HEAP_BYTES, PLAN};
use tessera_arch::vmx::TscDeadline;
use tessera_manifest::VcpuRef;

/// The region's base: the address of vCPU 0's VMXON region minus its planned offset.
fn base() -> u64 {
    heap::vmxon(0).phys_addr() - PLAN.heap.vcpus[0].vmxon as u64
}

#[test]
fn accessors_return_the_planned_offsets() {
    let base = base();
    assert_eq!(base % 4096, 0, "the region is page-aligned");
    for (v, planned) in PLAN.heap.vcpus.iter().enumerate() {
        let at = |addr: u64| (addr - base) as usize;
        assert_eq!(at(heap::vmxon(v).phys_addr()), planned.vmxon);
        assert_eq!(at(heap::vmcs(v).phys_addr()), planned.vmcs);
        assert_eq!(at(heap::virtual_apic(v).phys_addr()), planned.virtual_apic);
        assert_eq!(at(heap::pid(v) as *const _ as u64), planned.pid);
    }
    for (p, planned) in PLAN.heap.partitions.iter().enumerate() {
        let table = heap::pid_table(p);
        assert_eq!((table.phys_addr() - base) as usize, planned.pid_table);
        assert_eq!(table.len(), PLAN.partitions[p].pid_table.entries.len());
        match (heap::io_bitmaps(p), planned.io_bitmaps) {
            (Some([a, b]), Some(offset)) => {
                assert_eq!((a.phys_addr() - base) as usize, offset);
                assert_eq!(b.phys_addr(), a.phys_addr() + 4096);
            }
            (None, None) => {}
            other => panic!("partition {p}: I/O bitmaps {:?}", other.1),
        }
        assert_eq!(heap::ept_pages(p).len(), planned.ept_pages);
    }
    let (trapped, passed) = heap::msr_bitmaps();
    let msr = PLAN.heap.msr_bitmaps;
    assert_eq!((trapped.phys_addr() - base) as usize, msr.deadline_trapped);
    assert_eq!(
        passed.map(|p| (p.phys_addr() - base) as usize),
        msr.deadline_passed
    );
    let end = PLAN.heap_items().map(|i| i.offset + i.bytes).max();
    assert_eq!(end, Some(HEAP_BYTES), "the region ends with its last item");
}

/// Each host stack is handed out once, right above its guard page, 16-byte aligned at the top.
#[test]
fn host_stacks_sit_above_their_guard_pages_and_go_once() {
    let base = base();
    for v in 0..PLAN.vcpus().count() {
        let planned = PLAN.heap.vcpus[v];
        let stack = heap::host_stack(v).expect("first take");
        assert!(heap::host_stack(v).is_none(), "a stack is handed out once");
        let bottom = stack.top() - PLAN.heap.host_stack_bytes as u64;
        assert_eq!((bottom - base) as usize, planned.host_stack);
        assert_eq!(planned.host_stack_guard + 4096, planned.host_stack);
        assert_eq!(
            heap::host_stack_guard(v).phys_addr(),
            heap::vmxon(v).phys_addr(),
            "the guard page is the vCPU's VMXON region"
        );
        assert_eq!(heap::host_stack_guard(v).phys_addr() + 4096, bottom);
        assert_eq!(stack.top() % 16, 0);
        assert_eq!(stack.probe().used_bytes(), 0, "filled, never used");
    }
}

/// The partition tables are built in the planned structures, and the PID-pointer table entries
/// point exactly at the planned vCPUs' descriptors.
#[test]
fn tables_fit_their_planned_structures() {
    heap::set_up_descriptors();
    for (p, part) in PLAN.partitions.iter().enumerate() {
        let io = tables::build_io_bitmaps(part, p).expect("granted ports fit the bitmaps");
        assert_eq!(
            io.is_some(),
            tessera_manifest::heap_items::grants_ports(part)
        );
        let ept = tables::build_ept(&PLAN, p).expect("EPT fits its planned pages");
        assert_eq!(
            ept.eptp() & !0xFFF,
            heap::ept_pages(p)[0].phys_addr(),
            "PML4 = first page"
        );
        let table = tables::build_pid_table(&PLAN, p).expect("PID table");
        assert_eq!(table.last_index(), part.pid_table.last_index);
        for (t, entry) in part.pid_table.entries.iter().enumerate() {
            let raw = heap::pid_table(p).get(t).expect("entry in the table");
            let expected = entry.map_or(0, |target| {
                let g = PLAN.vcpu_index(target);
                heap::pid(g) as *const _ as u64 | 1
            });
            assert_eq!(raw, expected, "partition {} entry {t}", part.name);
        }
        for v in 0..part.vcpus.len() {
            let g = PLAN.vcpu_index(VcpuRef {
                partition: p as u16,
                vcpu: v as u16,
            });
            let pages = tables::build_vcpu_pages(part, v, g);
            let id = tessera_vmx::tables::apic_offset::ID;
            assert_eq!(
                pages.virtual_apic.read_u32(id),
                part.vcpus[v].virtual_apic_id
            );
        }
    }
    let msr = tables::build_msr_bitmaps(true).expect("MSR bitmaps");
    let deadline = tessera_vmx::msr::IA32_TSC_DEADLINE;
    let trapped = msr.get(TscDeadline::Trapped).expect("always built");
    assert!(trapped.exits(deadline, true) && trapped.exits(deadline, false));
    let passed = msr
        .get(TscDeadline::Passed)
        .expect("a default partition's timer may be virtualized");
    assert!(!passed.exits(deadline, true) && !passed.exits(deadline, false));
    let pid = heap::pid(0);
    assert_eq!(pid.notification_vector(), NOTIFICATION_VECTOR);
    assert_eq!(
        pid.notification_destination(),
        PLAN.partitions[0].vcpus[0].physical_apic_id
    );
}
