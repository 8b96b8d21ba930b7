//! Reference capability MSR values, for tests here and in the images that use this crate: a
//! Sapphire Rapids-like CPU (IPIv offered), an older server CPU without tertiary controls, and the
//! values recorded from the emulator. Defaults follow the SDM's default-1 classes (Vol. 3D A.3-A.5).

use super::CapabilityMsrs;

/// Sapphire Rapids-like: TRUE_* MSRs, tertiary controls allowed (primary bit 49), CTLS3 offers IPIv.
pub fn sapphire_rapids() -> CapabilityMsrs {
    CapabilityMsrs {
        basic: 0x00DA_0400_0000_0004,
        pinbased: 0x0000_00FF_0000_0016,
        procbased: 0xFFFB_FFFE_0401_E172,
        exit: 0xF7FF_FFFF_0003_6DFF,
        entry: 0x0077_FFFF_0000_11FF,
        procbased2: 0x17FF_FFFF_0000_0000,
        ept_vpid: 0x0000_0F01_0673_4141,
        true_pinbased: 0x0000_00FF_0000_0016,
        true_procbased: 0xFFFB_FFFE_0400_6172,
        true_exit: 0xF7FF_FFFF_0003_6DFB,
        true_entry: 0x0077_FFFF_0000_11FB,
        procbased3: 0x0000_0000_0000_0011,
        // Preemption timer rate 5 (one count every 32 TSC cycles), as on many Intel server CPUs.
        misc: 0x2000_0000_7004_C1E5,
    }
}

/// Skylake/Ice Lake server-like: no "activate tertiary controls" (primary allowed-1 bit 49 is 0).
pub fn without_tertiary() -> CapabilityMsrs {
    CapabilityMsrs {
        procbased: 0xFFF9_FFFE_0401_E172,
        true_procbased: 0xFFF9_FFFE_0400_6172,
        procbased3: 0,
        ..sapphire_rapids()
    }
}

/// Same CPU as `sapphire_rapids` but IA32_VMX_BASIC bit 55 clear: only the non-TRUE MSRs count.
pub fn without_true_msrs() -> CapabilityMsrs {
    CapabilityMsrs {
        basic: 0x005A_0400_0000_0004,
        ..sapphire_rapids()
    }
}

/// Recorded from the emulator (Bochs `sapphire_rapids` model with Tessera's IPIv patch, `--ipiv on`)
/// by reading the capability MSRs in VMX root; with `--ipiv off` CTLS3 reads 0x80.
pub fn emulator_ipiv_on() -> CapabilityMsrs {
    CapabilityMsrs {
        basic: 0x00D8_1000_0000_0004,
        pinbased: 0x0000_00FF_0000_0016,
        procbased: 0xFFFB_FFFE_0401_E172,
        exit: 0xC87F_FFFF_0003_6DFF,
        entry: 0x0008_FFFF_0000_11FF,
        procbased2: 0x06D7_7FFF_0000_0000,
        ept_vpid: 0x0000_0F01_0673_4141,
        true_pinbased: 0x0000_00FF_0000_0016,
        true_procbased: 0xFFFB_FFFE_0400_6172,
        true_exit: 0xC87F_FFFF_0003_6DFB,
        true_entry: 0x0008_FFFF_0000_11FB,
        procbased3: 0x90,
        // Preemption timer rate 0: one count per TSC cycle (Bochs VMX_MSR_MISC).
        misc: 0x6004_01E0,
    }
}
