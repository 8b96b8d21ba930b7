//! Fixed sizes of a test guest's memory use: one stack per vCPU in .bss, found again from a stack
//! address (interrupt handlers learn which vCPU they run on this way).

/// Most vCPUs a guest partition may have (stacks are reserved for each).
pub const MAX_VCPUS: usize = 16;
/// Bytes of each vCPU's stack.
pub const STACK_BYTES: usize = 32 * 1024;

/// The vCPU whose stack holds `stack_address`, given the start of the stack array.
pub fn vcpu_of_stack(stacks_address: u64, stack_address: u64) -> Option<usize> {
    let offset = stack_address.checked_sub(stacks_address)?;
    let index = (offset / STACK_BYTES as u64) as usize;
    (index < MAX_VCPUS).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_addresses_map_to_their_vcpu() {
        let base = 0x20_0000;
        assert_eq!(vcpu_of_stack(base, base), Some(0));
        assert_eq!(vcpu_of_stack(base, base + STACK_BYTES as u64 - 8), Some(0));
        assert_eq!(vcpu_of_stack(base, base + STACK_BYTES as u64), Some(1));
        let end = base + (MAX_VCPUS * STACK_BYTES) as u64;
        assert_eq!(vcpu_of_stack(base, end - 1), Some(MAX_VCPUS - 1));
        assert_eq!(vcpu_of_stack(base, end), None);
        assert_eq!(vcpu_of_stack(base, base - 1), None);
    }
}
