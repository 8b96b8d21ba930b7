//! Editing the guest's own page tables (built by the hypervisor in the boot area, identity, 2 MiB
//! pages): isolation tests map a block outside the partition's memory so that touching it reaches
//! EPT (and the hypervisor) instead of faulting inside the guest.

use core::sync::atomic::{AtomicU64, Ordering};

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const PAGE_SIZE: u64 = 1 << 7;
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
const BLOCK_2M_BYTES: u64 = 1 << 21;
const PAGE_TABLE_BYTES: u64 = 4096;

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

/// Where the page-directory-pointer entry for `address` lives, walking from `pml4` with `read`:
/// for a block in a GiB the hypervisor's tables do not cover (no page directory there yet).
pub fn pdpt_entry_address(
    pml4: u64,
    address: u64,
    read: impl Fn(u64) -> u64,
) -> Result<u64, MapError> {
    let entry = read(pml4 + 8 * ((address >> 39) & 0x1FF));
    if entry & PRESENT == 0 || entry & PAGE_SIZE != 0 {
        return Err(MapError::NoPageDirectory { level: 4, address });
    }
    Ok((entry & ADDRESS_MASK) + 8 * ((address >> 30) & 0x1FF))
}

/// A page directory of the guest's own (in its image, 4 KiB aligned), for mapping a block in a GiB
/// the hypervisor's tables leave out (another device's MMIO, the local APIC page).
#[repr(C, align(4096))]
pub struct SpareDirectory([AtomicU64; 512]);

impl SpareDirectory {
    pub const fn new() -> Self {
        SpareDirectory([const { AtomicU64::new(0) }; 512])
    }
}

impl Default for SpareDirectory {
    fn default() -> Self {
        Self::new()
    }
}

/// Maps the 2 MiB block holding `address` (identity, writable), through `spare` when no page
/// directory covers that GiB yet (the spare then serves that GiB only; several vCPUs may map
/// blocks of it).
pub fn map_block_anywhere(
    info: &tessera_vmx::guest_abi::BootInfo,
    address: u64,
    spare: &'static SpareDirectory,
) -> Result<(), MapError> {
    // Identity paging: the spare's address is its guest-physical address.
    let directory = spare.0.as_ptr() as u64;
    let in_spare = |at: u64| (directory..directory + PAGE_TABLE_BYTES).contains(&at);
    let read = |at| match in_spare(at) {
        true => spare.0[((at - directory) / 8) as usize].load(Ordering::Acquire),
        false => crate::cpu::read_page_table_word(info, at),
    };
    let cr3 = crate::cpu::read_cr3();
    let block = address & !(BLOCK_2M_BYTES - 1);
    match identity_block_entry(cr3, address, read) {
        Ok((at, value)) if in_spare(at) => {
            spare.0[((at - directory) / 8) as usize].store(value, Ordering::Release);
        }
        Ok((at, value)) => crate::cpu::write_page_table_word(info, at, value),
        Err(MapError::NoPageDirectory { level: 3, .. }) => {
            let at = pdpt_entry_address(cr3, address, read)?;
            let index = ((address >> 21) & 0x1FF) as usize;
            spare.0[index].store(block | PRESENT | WRITABLE | PAGE_SIZE, Ordering::Release);
            crate::cpu::write_page_table_word(info, at, directory | PRESENT | WRITABLE);
        }
        Err(other) => return Err(other),
    }
    crate::cpu::invalidate_page(block);
    Ok(())
}

/// U/S: the page may be used at CPL 3.
const USER: u64 = 1 << 2;

/// Opens the first GiB of the guest's identity map to CPL 3 (U/S set in PML4 entry 0, PDPT entry
/// 0 and every present page-directory entry), for a test that runs a few instructions in user
/// mode. Returns the number of 2 MiB blocks opened.
pub fn open_first_gib_to_user(info: &tessera_vmx::guest_abi::BootInfo) -> usize {
    let read = |at| crate::cpu::read_page_table_word(info, at);
    let write = |at, value| crate::cpu::write_page_table_word(info, at, value);
    let pml4 = crate::cpu::read_cr3() & ADDRESS_MASK;
    let pml4e = read(pml4);
    write(pml4, pml4e | USER);
    let pdpt = pml4e & ADDRESS_MASK;
    let pdpte = read(pdpt);
    write(pdpt, pdpte | USER);
    let pd = pdpte & ADDRESS_MASK;
    let mut opened = 0;
    for index in 0..512u64 {
        let entry = read(pd + 8 * index);
        if entry & PRESENT != 0 {
            write(pd + 8 * index, entry | USER);
            crate::cpu::invalidate_page(index * BLOCK_2M_BYTES);
            opened += 1;
        }
    }
    opened
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
    fn a_gib_without_a_directory_gets_its_pdpt_entry_located() {
        let t = tables();
        let read = |at| t.get(&at).copied().unwrap_or(0);
        assert_eq!(
            pdpt_entry_address(0x1000, 0xFEE0_0000, read),
            Ok(0x2000 + 8 * 3)
        );
        assert_eq!(
            pdpt_entry_address(0x1000, 1 << 39, read),
            Err(MapError::NoPageDirectory {
                level: 4,
                address: 1 << 39
            })
        );
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
