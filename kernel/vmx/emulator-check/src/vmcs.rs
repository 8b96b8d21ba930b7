//! The two VMCS accesses every exit check needs, each failing the check when the processor refuses.

use tessera_arch::fatal;
use tessera_arch::vmx::ActiveVmcs;
use tessera_vmx::exit::rip_after;
use tessera_vmx::fields::{Field32ReadOnly as R32, NaturalGuest as GN};

/// VMREAD or a failed check.
pub fn read(v: &ActiveVmcs, encoding: u32) -> u64 {
    v.read(encoding)
        .unwrap_or_else(|e| fatal(format_args!("VMREAD {encoding:#x}: {e:?}")))
}

/// Moves the guest past the instruction that exited.
pub fn skip_instruction(v: &mut ActiveVmcs) {
    let next = rip_after(
        read(v, GN::Rip.encoding()),
        read(v, R32::ExitInstructionLength.encoding()),
    );
    v.write(GN::Rip, next)
        .unwrap_or_else(|e| fatal(format_args!("RIP: {e:?}")));
}
