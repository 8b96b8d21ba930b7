//! Editing the guest's own page tables (built by the hypervisor in the boot area, identity, 2 MiB
//! pages): isolation tests map a block outside the partition's memory so that touching it reaches
//! EPT (and the hypervisor) instead of faulting inside the guest.

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const PAGE_SIZE: u64 = 1 << 7;
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
const BLOCK_2M_BYTES: u64 = 1 << 21;

/// Why a block cannot be mapped with the tables the guest has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No page directory covers the address (a PML4 or PDPT entry is missing).
    NoPageDirectory { level: u8, address: u64 },
}

/// The page-directory entry (its address and new value) that maps the 2 MiB block holding
/// `address` to itself, walking the tables from `pml4` with `read` (guest-physical reads).
pub fn identity_block_entry(
    pml4: u64,
    address: u64,
    read: impl Fn(u64) -> u64,
) -> Result<(u64, u64), MapError> {
    let mut table = pml4;
    for (level, shift) in [(4u8, 39u32), (3, 30)] {
        let entry = read(table + 8 * ((address >> shift) & 0x1FF));
        if entry & PRESENT == 0 || entry & PAGE_SIZE != 0 {
            return Err(MapError::NoPageDirectory { level, address });
        }
        table = entry & ADDRESS_MASK;
    }
    let block = address & !(BLOCK_2M_BYTES - 1);
    let at = table + 8 * ((address >> 21) & 0x1FF);
    Ok((at, block | PRESENT | WRITABLE | PAGE_SIZE))
}

/// Maps the 2 MiB block holding `address` (identity, writable) in this partition's page tables.
pub fn map_block(info: &tessera_vmx::guest_abi::BootInfo, address: u64) -> Result<(), MapError> {
    let read = |at| crate::cpu::read_page_table_word(info, at);
    let (at, value) = identity_block_entry(crate::cpu::read_cr3(), address, read)?;
    crate::cpu::write_page_table_word(info, at, value);
    crate::cpu::invalidate_page(address & !(BLOCK_2M_BYTES - 1));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// PML4 at 0x1000 -> PDPT at 0x2000 -> PD at 0x3000 (the first GiB).
    fn tables() -> HashMap<u64, u64> {
        HashMap::from([
            (0x1000, 0x2000 | PRESENT | WRITABLE),
            (0x2000, 0x3000 | PRESENT | WRITABLE),
        ])
    }

    #[test]
    fn block_after_memory_maps_in_the_same_directory() {
        let t = tables();
        let read = |at| t.get(&at).copied().unwrap_or(0);
        let (at, value) = identity_block_entry(0x1000, 0x0200_0010, read).unwrap();
        assert_eq!(at, 0x3000 + 8 * 16, "32 MiB is block 16");
        assert_eq!(value, 0x0200_0000 | PRESENT | WRITABLE | PAGE_SIZE);
    }

    #[test]
    fn addresses_without_a_directory_are_refused() {
        let t = tables();
        let read = |at| t.get(&at).copied().unwrap_or(0);
        assert_eq!(
            identity_block_entry(0x1000, 1 << 30, read),
            Err(MapError::NoPageDirectory {
                level: 3,
                address: 1 << 30
            })
        );
        assert_eq!(
            identity_block_entry(0x1000, 1 << 39, read),
            Err(MapError::NoPageDirectory {
                level: 4,
                address: 1 << 39
            })
        );
    }
}
