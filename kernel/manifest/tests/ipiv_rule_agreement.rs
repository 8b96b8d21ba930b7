//! The IPIv eligibility rule exists twice: in the executable SDM model the planner is tested
//! against (`tessera_manifest::ipiv_model::classify_x2apic_icr`) and in the ICR decoder the
//! hypervisor's fallback path uses (`tessera_vmx::ipi::Icr`). They agree on every value of ICR
//! bits 8-31 (the bits either rule reads: delivery mode, destination mode, delivery status, level,
//! trigger mode, shorthand and the reserved bits), with the vector and destination they pass on
//! varied alongside.

use tessera_manifest::ipiv_model::{classify_x2apic_icr, IcrWrite};
use tessera_vmx::ipi::Icr;

/// What the decoder says of `raw`, in the model's terms.
fn decoder(raw: u64) -> IcrWrite {
    if Icr::reserved_bits_set(raw) {
        IcrWrite::GeneralProtection
    } else if Icr::ipiv_eligible(raw) {
        let icr = Icr::decode(raw);
        IcrWrite::Virtualize {
            vector: icr.vector,
            apic_id: icr.destination,
        }
    } else {
        IcrWrite::ApicWriteExit
    }
}

#[test]
fn the_sdm_model_and_the_icr_decoder_agree_on_every_control_bit_pattern() {
    let (mut gp, mut exits, mut virtualized) = (0u32, 0u32, 0u32);
    for control in 0u64..(1 << 24) {
        // Vector and destination vary with the pattern (all 256 vectors, destinations across
        // the whole 32-bit range), so a rule that read them would be caught too.
        let vector = (control.wrapping_mul(0x9E37) >> 3) & 0xFF;
        let destination = control.wrapping_mul(0x9E37_79B9) & 0xFFFF_FFFF;
        let raw = destination << 32 | control << 8 | vector;
        let model = classify_x2apic_icr(raw);
        assert_eq!(model, decoder(raw), "ICR {raw:#018x}");
        match model {
            IcrWrite::GeneralProtection => gp += 1,
            IcrWrite::ApicWriteExit => exits += 1,
            IcrWrite::Virtualize { .. } => virtualized += 1,
        }
    }
    // Bits 31:20, 17:16 and 13 reserved (15 bits): only 2^9 patterns of the other 9 are legal,
    // and of those exactly the 2 with only the level bit (14) free are virtualized.
    assert_eq!(gp, (1 << 24) - (1 << 9));
    assert_eq!(virtualized, 2);
    assert_eq!(exits, (1 << 9) - 2);
}
