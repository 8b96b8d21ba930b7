//! The guest's local APIC timer (x2APIC registers, SDM Vol. 3A 11.5.4): software enable, the LVT
//! timer entry, initial and current count, divide configuration, and IA32_TSC_DEADLINE.

use crate::cpu::{read_msr, write_tsc_deadline, write_x2apic};

const SVR: u32 = 0x80F;
const LVT_TIMER: u32 = 0x832;
const INITIAL_COUNT: u32 = 0x838;
const CURRENT_COUNT: u32 = 0x839;
const DIVIDE_CONFIGURATION: u32 = 0x83E;
const TSC_DEADLINE: u32 = 0x6E0;

/// LVT timer mode bits (18:17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    OneShot = 0,
    Periodic = 1 << 17,
    TscDeadline = 1 << 18,
}

/// LVT mask bit.
pub const MASKED: u32 = 1 << 16;

/// Enables the APIC in software (SVR bit 8, spurious vector 0xFF): until then the timer stays
/// masked, as on bare metal.
pub fn enable_apic() {
    write_x2apic(SVR, 0x1FF);
}

/// Programs the LVT timer entry: `mode`, `vector`, masked or not.
pub fn set_lvt(mode: Mode, vector: u8, masked: bool) {
    let mask = if masked { MASKED } else { 0 };
    write_x2apic(LVT_TIMER, u64::from(mode as u32 | mask | u32::from(vector)));
}

/// The LVT timer entry as the guest reads it.
pub fn lvt() -> u32 {
    read_msr(LVT_TIMER) as u32
}

/// Starts (or with 0 stops) a one-shot or periodic count.
pub fn set_initial_count(count: u32) {
    write_x2apic(INITIAL_COUNT, u64::from(count));
}

pub fn current_count() -> u32 {
    read_msr(CURRENT_COUNT) as u32
}

/// Divide configuration (bits 3, 1:0): 0b1011 divides by 1, 0b0000 by 2 ... 0b1010 by 128.
pub fn set_divide_configuration(value: u32) {
    write_x2apic(DIVIDE_CONFIGURATION, u64::from(value));
}

/// Arms the TSC-deadline timer for `tsc` (0 disarms).
pub fn arm_deadline(tsc: u64) {
    write_tsc_deadline(tsc);
}

/// IA32_TSC_DEADLINE as the guest reads it (0 once the timer fired).
pub fn deadline() -> u64 {
    read_msr(TSC_DEADLINE)
}
