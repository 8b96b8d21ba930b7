//! Boot-info blocks filled from a planned manifest carry what each vCPU needs to send its IPIs.

use super::fill_boot_info;
use super::test_plans::{manifests, repo, with_plan, ROUTES};
use tessera_vmx::guest_abi::{BootInfo, PeerRoute};

#[test]
fn alpha_vcpu_1_sees_its_partition_then_its_routes() {
    with_plan(&repo(ROUTES), |plan| {
        let mut info = BootInfo::EMPTY;
        fill_boot_info(plan, 0, 1, &mut info).unwrap();
        assert_eq!(info.check(), Ok(()));
        assert_eq!(
            (info.name(), info.vcpu_index, info.vcpu_count),
            ("alpha", 1, 2)
        );
        assert_eq!(
            info.virtual_apic_id,
            plan.partitions[0].vcpus[1].virtual_apic_id
        );
        assert_eq!(info.memory_bytes, 8 << 20);
        let routes: Vec<(u16, u32)> = info
            .peers()
            .iter()
            .map(|p| (p.partition_index, p.route))
            .collect();
        let (own, exitless, trapped) = (
            PeerRoute::OwnPartition as u32,
            PeerRoute::Exitless as u32,
            PeerRoute::Trapped as u32,
        );
        assert_eq!(routes, [(0, own), (0, own), (1, exitless), (2, trapped)]);
        let gamma = info.peers()[3];
        assert_eq!(gamma.virtual_apic_id, 9);
        assert_eq!(gamma.vectors, [0, 0b11, 0, 0], "vectors 0x40 and 0x41");
        assert_eq!(
            info.peers()[2].vectors[0],
            !0xFFFF,
            "exitless: every vector from 16"
        );
    });
}

#[test]
fn beta_without_routes_sees_only_itself() {
    with_plan(&repo(ROUTES), |plan| {
        let mut info = BootInfo::EMPTY;
        fill_boot_info(plan, 1, 0, &mut info).unwrap();
        assert_eq!(info.peers().len(), 1);
        assert_eq!(info.peers()[0].route, PeerRoute::OwnPartition as u32);
    });
}

#[test]
fn every_planned_vcpu_gets_a_valid_block_naming_itself_as_a_peer() {
    for manifest in manifests() {
        with_plan(&manifest, |plan| {
            for (p, v, vcpu) in plan.vcpus() {
                let mut info = BootInfo::EMPTY;
                fill_boot_info(plan, p, v, &mut info).unwrap();
                assert_eq!(info.check(), Ok(()), "{} vCPU {v}", manifest.display());
                assert!(info
                    .peers()
                    .iter()
                    .any(|peer| peer.virtual_apic_id == vcpu.virtual_apic_id));
            }
        });
    }
}

#[test]
fn every_planned_partition_gets_a_boot_area_with_its_blocks() {
    use tessera_vmx::guest_state::{
        boot_info_block, write_boot_area, write_boot_info, GuestBootLayout, GuestRange,
    };
    for manifest in manifests() {
        with_plan(&manifest, |plan| {
            for (p, partition) in plan.partitions.iter().enumerate() {
                let ram = GuestRange {
                    base: partition.memory.guest_base,
                    bytes: partition.memory.bytes,
                };
                let mmio: Vec<GuestRange> = partition
                    .devices
                    .iter()
                    .flat_map(|d| d.mmio)
                    .map(|r| GuestRange {
                        base: r.base,
                        bytes: r.bytes,
                    })
                    .collect();
                let layout =
                    GuestBootLayout::new(ram, partition.vcpus.len() as u64, &mmio).unwrap();
                let mut area = vec![0u8; layout.area_bytes as usize];
                write_boot_area(&layout, &mmio, &mut area).unwrap();
                for v in 0..partition.vcpus.len() as u16 {
                    let mut info = BootInfo::EMPTY;
                    fill_boot_info(plan, p as u16, v, &mut info).unwrap();
                    write_boot_info(&layout, &mut area, u64::from(v), &info).unwrap();
                    let at = layout.area_offset(layout.boot_info_guest(u64::from(v)));
                    assert_eq!(&area[at..at + 8], b"TESSBOOT");
                    // The hypervisor's way: the same block filled in place.
                    let mut in_place = vec![0xAAu8; area.len()];
                    let mut block = boot_info_block(&layout, &mut in_place, u64::from(v)).unwrap();
                    fill_boot_info(plan, p as u16, v, &mut block).unwrap();
                    let block_bytes = at..at + tessera_vmx::guest_abi::BOOT_INFO_BYTES;
                    assert_eq!(in_place[block_bytes.clone()], area[block_bytes]);
                }
            }
        });
    }
}
