//! A Hermit application's boot (see `tessera_manifest::hermit`): after its segments are copied,
//! its relocations are applied and its boot information and device tree written where the plan
//! says; every vCPU then enters with RDI = the boot information, RSI = its index, RSP = the
//! lowest byte of the boot stack and EFER.NXE set, as uhyve enters it.

use super::image::PlaceError;
use tessera_manifest::hermit::relocate;
use tessera_manifest::{HermitBoot, Partition};
use tessera_vmx::guest_state::{EFER_NXE, GUEST_EFER};

/// Relocates the copied image (relocation table read from the load `image`) and writes the boot
/// information and device tree into `memory` (the partition's RAM, starting at guest-physical
/// `guest_base`).
pub fn place(
    memory: &mut [u8],
    guest_base: u64,
    image: &[u8],
    boot: &HermitBoot<'_>,
) -> Result<u64, PlaceError> {
    let applied = relocate::apply(memory, guest_base, image, boot.relocations, boot.load_bias)
        .map_err(PlaceError::Relocation)?;
    for (guest, bytes) in [
        (boot.boot_info_guest, boot.boot_info),
        (boot.fdt_guest, boot.fdt),
    ] {
        let bad = PlaceError::Segment {
            guest_phys: guest,
            bytes: bytes.len() as u64,
        };
        let at = guest.checked_sub(guest_base).ok_or(bad)? as usize;
        let end = at.checked_add(bytes.len()).ok_or(bad)?;
        memory.get_mut(at..end).ok_or(bad)?.copy_from_slice(bytes);
    }
    Ok(applied)
}

/// The registers a vCPU starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRegisters {
    pub rdi: u64,
    pub rsi: u64,
    pub rsp: u64,
    pub efer: u64,
}

/// Entry registers of vCPU `vcpu` of `part`: a Hermit application's (above), otherwise RDI = the
/// vCPU's Tessera boot-info block (`tessera_boot_info`) and the rest 0.
pub fn entry_registers(part: &Partition<'_>, vcpu: u16, tessera_boot_info: u64) -> EntryRegisters {
    match part.image.and_then(|i| i.hermit) {
        Some(boot) => EntryRegisters {
            rdi: boot.boot_info_guest,
            rsi: u64::from(vcpu),
            rsp: boot.stack_guest,
            efer: GUEST_EFER | EFER_NXE,
        },
        None => EntryRegisters {
            rdi: tessera_boot_info,
            rsi: 0,
            rsp: 0,
            efer: GUEST_EFER,
        },
    }
}

/// Whether `part` runs a Hermit application (its I/O exits are uhyve hypercalls).
pub fn is_hermit(part: &Partition<'_>) -> bool {
    part.image.is_some_and(|i| i.hermit.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_manifest::Relocations;

    fn rela(offset: u64, addend: u64) -> [u8; 24] {
        let mut r = [0u8; 24];
        r[..8].copy_from_slice(&offset.to_le_bytes());
        r[8..16].copy_from_slice(&8u64.to_le_bytes());
        r[16..].copy_from_slice(&addend.to_le_bytes());
        r
    }

    fn boot(offset: u64) -> HermitBoot<'static> {
        HermitBoot {
            load_bias: 0x4_0000,
            relocations: Relocations { offset, count: 1 },
            stack_guest: 0x3_8000,
            boot_info_guest: 0x9000,
            boot_info: &[0xB1; 128],
            fdt_guest: 0x5000,
            fdt: &[0xD7; 64],
        }
    }

    #[test]
    fn relocations_boot_information_and_device_tree_land_where_planned() {
        let file = rela(0x10, 0x200).to_vec();
        let mut memory = vec![0u8; 0x10_0000];
        assert_eq!(place(&mut memory, 0, &file, &boot(0)), Ok(1));
        assert_eq!(memory[0x4_0010..0x4_0018], 0x4_0200u64.to_le_bytes());
        assert!(memory[0x9000..0x9080].iter().all(|&b| b == 0xB1));
        assert!(memory[0x5000..0x5040].iter().all(|&b| b == 0xD7));
        assert_eq!(memory[0x5040], 0);
    }

    #[test]
    fn a_relocation_outside_the_memory_refuses_the_boot() {
        let file = rela(0x10_0000, 0).to_vec();
        let mut memory = vec![0u8; 0x10_0000];
        assert!(matches!(
            place(&mut memory, 0, &file, &boot(0)),
            Err(PlaceError::Relocation(_))
        ));
    }
}
