//! The guest state a hypervisor must change when it completes an instruction for the guest and moves
//! RIP past it (SDM Vol. 3C 28.3.x "Saving Non-Register State", 27.3.1.5 "Checks on Guest
//! Non-Register State"; KVM's `skip_emulated_instruction` does the same): the instruction ran, so
//! the one-instruction shadow of an STI or MOV SS before it is over, and a single-step trap is due
//! after it if RFLAGS.TF was set when it began.

/// Interruptibility state bit 0: blocking by STI.
pub const BLOCKING_BY_STI: u32 = 1 << 0;
/// Interruptibility state bit 1: blocking by MOV SS (or POP SS).
pub const BLOCKING_BY_MOV_SS: u32 = 1 << 1;
/// Pending debug exceptions bit 14 (BS): a single-step trap is pending.
pub const PENDING_SINGLE_STEP: u64 = 1 << 14;
/// RFLAGS bit 8: trap flag.
pub const RFLAGS_TF: u64 = 1 << 8;
/// IA32_DEBUGCTL bit 1: single-step on branches only (TF then traps on branches, not here).
pub const DEBUGCTL_BTF: u64 = 1 << 1;

/// What the guest's VMCS holds at the exit of an instruction the hypervisor completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestEventState {
    /// Guest interruptibility state (VMCS 4824H).
    pub interruptibility: u32,
    /// Guest pending debug exceptions (VMCS 6822H).
    pub pending_debug: u64,
    /// Guest RFLAGS (VMCS 6820H).
    pub rflags: u64,
    /// Guest IA32_DEBUGCTL (VMCS 2802H).
    pub debugctl: u64,
}

impl GuestEventState {
    /// The state after the instruction completed: STI and MOV-SS blocking cleared (their shadow
    /// covered only this instruction; NMI and SMI blocking stay), and BS set when the instruction
    /// began with TF set and BTF clear, so the guest takes its single-step #DB right after the
    /// instruction as on bare metal. Breakpoint bits saved with the exit stay pending.
    pub const fn after_skip(self) -> GuestEventState {
        let single_step = self.rflags & RFLAGS_TF != 0 && self.debugctl & DEBUGCTL_BTF == 0;
        let pending_debug = if single_step {
            self.pending_debug | PENDING_SINGLE_STEP
        } else {
            self.pending_debug
        };
        GuestEventState {
            interruptibility: self.interruptibility & !(BLOCKING_BY_STI | BLOCKING_BY_MOV_SS),
            pending_debug,
            ..self
        }
    }

    /// Whether skipping changes the interruptibility state or pending debug exceptions (the fields
    /// to write back; most exits change neither).
    pub const fn changed_by_skip(self) -> bool {
        let after = self.after_skip();
        after.interruptibility != self.interruptibility || after.pending_debug != self.pending_debug
    }

    /// Whether a skip can change anything given only the interruptibility state and RFLAGS: no
    /// STI or MOV-SS shadow and TF clear leave both fields as they are whatever the pending debug
    /// exceptions and IA32_DEBUGCTL hold, so an exit handler reads those two only when this is
    /// true (an ordinary exit reads two fields instead of four).
    pub const fn skip_may_change(interruptibility: u32, rflags: u64) -> bool {
        interruptibility & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS) != 0 || rflags & RFLAGS_TF != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(interruptibility: u32, rflags: u64) -> GuestEventState {
        GuestEventState {
            interruptibility,
            pending_debug: 0,
            rflags,
            debugctl: 0,
        }
    }

    /// RFLAGS with only the reserved bit 1 set, as every valid RFLAGS has.
    const RFLAGS: u64 = 1 << 1;

    #[test]
    fn mov_ss_shadow_ends_and_a_single_step_trap_is_pending() {
        let after = state(BLOCKING_BY_MOV_SS, RFLAGS | RFLAGS_TF).after_skip();
        assert_eq!(after.interruptibility, 0);
        assert_eq!(after.pending_debug, PENDING_SINGLE_STEP);
    }

    #[test]
    fn sti_shadow_ends_without_a_trap_when_tf_is_clear() {
        let before = state(BLOCKING_BY_STI, RFLAGS | 1 << 9);
        let after = before.after_skip();
        assert_eq!((after.interruptibility, after.pending_debug), (0, 0));
        assert!(before.changed_by_skip());
    }

    #[test]
    fn nmi_blocking_and_saved_breakpoints_stay() {
        const NMI_BLOCKING: u32 = 1 << 3;
        const B0_AND_ENABLED: u64 = 1 << 0 | 1 << 12;
        let before = GuestEventState {
            pending_debug: B0_AND_ENABLED,
            ..state(NMI_BLOCKING | BLOCKING_BY_MOV_SS, RFLAGS)
        };
        let after = before.after_skip();
        assert_eq!(after.interruptibility, NMI_BLOCKING);
        assert_eq!(after.pending_debug, B0_AND_ENABLED);
    }

    #[test]
    fn branch_stepping_takes_no_trap_on_a_skipped_instruction() {
        let before = GuestEventState {
            debugctl: DEBUGCTL_BTF,
            ..state(0, RFLAGS | RFLAGS_TF)
        };
        assert_eq!(before.after_skip().pending_debug, 0);
        assert!(!before.changed_by_skip(), "nothing to write back");
    }

    /// `skip_may_change` false implies `changed_by_skip` false, for every value of the bits that
    /// matter (STI, MOV SS, NMI blocking; TF and a neighbour; BS, B0 and BTF) in every combination.
    #[test]
    fn the_two_field_test_never_misses_a_change() {
        const INTERRUPTIBILITY_BITS: [u32; 3] = [BLOCKING_BY_STI, BLOCKING_BY_MOV_SS, 1 << 3];
        const RFLAGS_BITS: [u64; 2] = [RFLAGS_TF, 1 << 9];
        const PENDING_BITS: [u64; 2] = [PENDING_SINGLE_STEP, 1 << 0];
        let combine = |bits: &[u64], mask: u32| {
            (0..bits.len())
                .filter(|i| mask & 1 << i != 0)
                .fold(0, |acc, i| acc | bits[i])
        };
        let interruptibility = INTERRUPTIBILITY_BITS.map(u64::from);
        let mut may_change = 0;
        for i in 0..8 {
            for r in 0..4 {
                for p in 0..4 {
                    for debugctl in [0, DEBUGCTL_BTF] {
                        let before = GuestEventState {
                            interruptibility: combine(&interruptibility, i) as u32,
                            pending_debug: combine(&PENDING_BITS, p),
                            rflags: RFLAGS | combine(&RFLAGS_BITS, r),
                            debugctl,
                        };
                        let quick = GuestEventState::skip_may_change(
                            before.interruptibility,
                            before.rflags,
                        );
                        assert!(quick || !before.changed_by_skip(), "{before:?}");
                        may_change += usize::from(quick);
                    }
                }
            }
        }
        assert_eq!(
            may_change,
            8 * 4 * 4 * 2 - 2 * 2 * 4 * 2,
            "only STI/MOV SS or TF need the rest"
        );
    }

    #[test]
    fn an_ordinary_exit_changes_nothing() {
        assert!(!state(0, RFLAGS | 1 << 9).changed_by_skip());
        assert!(state(0, RFLAGS | RFLAGS_TF).changed_by_skip());
    }
}
