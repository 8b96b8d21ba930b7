//! The pure VT-x logic agrees with the manifest planner: the route decision of the fallback path
//! reaches exactly the vCPUs the PID-pointer tables let IPIv reach, and the EPT builder uses exactly
//! the pages the planner counted.

use super::test_plans::{manifests, with_plan};
use super::PlanView;
use tessera_manifest::ept::{table_pages, GuestRange};
use tessera_manifest::ipiv_model::{entry_value, virtualize, Outcome};
use tessera_manifest::Plan;
use tessera_vmx::ipi::{decide, Decision, Icr, VcpuRef};
use tessera_vmx::tables::{
    EptBuilder, EptMapping, EptPermissions, MemoryType, PageSlot, TablePage,
};

/// A fake, distinct, 64-byte aligned descriptor address per vCPU.
fn pid_address(target: VcpuRef) -> u64 {
    0x1000_0000 + (u64::from(target.partition) << 12) + (u64::from(target.vcpu) << 6)
}

fn target_of(address: u64) -> VcpuRef {
    let offset = address - 0x1000_0000;
    VcpuRef {
        partition: (offset >> 12) as u16,
        vcpu: ((offset & 0xFFF) >> 6) as u16,
    }
}

/// How many IPIs IPIv posted and how many the fallback delivered over trapped routes.
#[derive(Default, Debug)]
struct Seen {
    posted: u32,
    trapped_delivered: u32,
}

/// For every sender, destination ID and vector: if IPIv posts, the fallback delivers to the same vCPU;
/// if IPIv exits, the fallback delivers only over a trapped route.
fn check_ipis(plan: &Plan<'_>) -> Seen {
    let mut seen = Seen::default();
    let highest_id = plan
        .vcpus()
        .map(|(_, _, vcpu)| vcpu.virtual_apic_id)
        .max()
        .unwrap_or(0);
    for (p, partition) in plan.partitions.iter().enumerate() {
        let view = PlanView::new(plan, p as u16);
        let table = &partition.pid_table;
        let entry = |t: u16| entry_value(table, t, pid_address);
        for sender in 0..partition.vcpus.len() as u16 {
            for apic_id in 0..=highest_id.max(u32::from(table.last_index)) + 3 {
                for vector in [0x0F, 0x10, 0x40, 0x41, 0x50, 0xFF] {
                    let ipiv = virtualize(entry, table.last_index, 46, vector, apic_id);
                    let fallback = decide(Icr::fixed_physical(apic_id, vector), sender, &view);
                    agree(plan, p, apic_id, vector, ipiv, fallback);
                    seen.posted += u32::from(matches!(ipiv, Outcome::Posted { .. }));
                    let delivered = matches!(fallback, Decision::Deliver { .. });
                    seen.trapped_delivered +=
                        u32::from(ipiv == Outcome::ApicWriteExit && delivered);
                }
            }
        }
    }
    seen
}

fn agree(plan: &Plan<'_>, p: usize, apic_id: u32, vector: u8, ipiv: Outcome, fallback: Decision) {
    let context =
        format!("partition {p} -> APIC ID {apic_id} vector {vector:#x}: {ipiv:?} vs {fallback:?}");
    match (ipiv, fallback) {
        (Outcome::Posted { pid_address, .. }, Decision::Deliver { target, .. }) => {
            assert_eq!(target_of(pid_address), target, "{context}")
        }
        (Outcome::Posted { .. }, _) => {
            panic!("IPIv posts but the fallback does not deliver: {context}")
        }
        (Outcome::ApicWriteExit, Decision::Deliver { target, .. }) => {
            let route = plan.partitions[p]
                .routes
                .iter()
                .find(|r| r.to == target.partition);
            let trapped = route.is_some_and(|r| r.mode == tessera_manifest::RouteMode::Trapped);
            assert!(
                trapped && route.unwrap().vectors.contains(vector),
                "{context}"
            );
        }
        (Outcome::ApicWriteExit, _) => {}
    }
}

#[test]
fn fallback_decision_matches_the_planned_pid_tables() {
    let [default, routes] = manifests();
    let default_seen = with_plan(&default, check_ipis);
    // alpha: 2 senders x (2 own + 2 beta vCPUs) x 5 vectors >= 16; beta: 2 senders x 2 own x 5.
    assert_eq!(
        default_seen.posted,
        2 * 4 * 5 + 2 * 2 * 5,
        "{default_seen:?}"
    );
    let routes_seen = with_plan(&routes, check_ipis);
    // alpha -> gamma (0x40, 0x41) from 2 senders, gamma -> alpha vCPUs (0x50) from 1 sender.
    assert_eq!(routes_seen.trapped_delivered, 2 * 2 + 2, "{routes_seen:?}");
}

/// Builds each partition's EPT (memory as RAM, devices identity-mapped as MMIO) and compares the
/// pages used with the planner's count.
fn check_ept(plan: &Plan<'_>) {
    for partition in plan.partitions {
        let m = partition.memory;
        let mut mappings = vec![EptMapping {
            guest_base: m.guest_base,
            host_base: m.host_base,
            bytes: m.bytes,
            permissions: EptPermissions::RAM,
            memory_type: MemoryType::WriteBack,
        }];
        for range in partition.devices.iter().flat_map(|d| d.mmio) {
            let mmio = EptPermissions::MMIO;
            mappings.push(EptMapping {
                guest_base: range.base,
                host_base: range.base,
                bytes: range.bytes,
                permissions: mmio,
                memory_type: MemoryType::Uncacheable,
            });
        }
        assert_eq!(
            built_pages(&mappings),
            planned_pages(&mappings),
            "partition {}",
            partition.name
        );
    }
}

fn built_pages(mappings: &[EptMapping]) -> u64 {
    let mut pages: Vec<TablePage> = (0..64).map(|_| TablePage::ZERO).collect();
    let mut slots: Vec<PageSlot<&mut TablePage>> = pages
        .iter_mut()
        .enumerate()
        .map(|(i, page)| PageSlot {
            phys: 0x80_0000 + 4096 * i as u64,
            page,
        })
        .collect();
    let mut builder = EptBuilder::new(&mut slots).unwrap();
    mappings.iter().for_each(|m| builder.map(m).unwrap());
    builder.pages_used() as u64
}

fn planned_pages(mappings: &[EptMapping]) -> u64 {
    table_pages(mappings.iter().map(|m| GuestRange {
        base: m.guest_base,
        bytes: m.bytes,
    }))
}

#[test]
fn ept_builder_uses_the_planned_page_count_for_real_manifests() {
    for manifest in manifests() {
        with_plan(&manifest, check_ept);
    }
}

/// Deterministic pseudo-random range sets (guest = host offset by a 2 MiB multiple), many shapes.
#[test]
fn ept_builder_matches_the_planner_rule_on_generated_ranges() {
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |limit: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % limit
    };
    for _ in 0..500 {
        let mut mappings: Vec<EptMapping> = Vec::new();
        let mut cursor = next(3 << 30) & !0xFFF;
        for _ in 0..1 + next(4) {
            let bytes = (1 + next(2048)) * 4096 * (1 + next(3));
            mappings.push(EptMapping {
                guest_base: cursor,
                host_base: cursor + (1 << 32),
                bytes,
                permissions: EptPermissions::RAM,
                memory_type: MemoryType::WriteBack,
            });
            cursor += bytes + (next(8) << 12) + (next(2) << 30);
        }
        assert_eq!(
            built_pages(&mappings),
            planned_pages(&mappings),
            "{mappings:x?}"
        );
    }
}
