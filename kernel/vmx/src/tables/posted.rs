//! The 64-byte posted-interrupt descriptor (SDM Vol. 3C 30.6; layout in ipiv.md section 2: PIR bits
//! 255:0, ON 256, SN 257, NV 279:272, NDST 319:288) and PID-pointer table entries (address | 1).
//! Fields are atomics because the processor updates them concurrently (lock-prefixed, like KVM's).

use core::sync::atomic::{AtomicU64, Ordering};

/// Control word bit 0 (PID bit 256): outstanding notification.
pub const PID_ON: u64 = 1 << 0;
/// Control word bit 1 (PID bit 257): suppress notification.
pub const PID_SN: u64 = 1 << 1;
const NV_SHIFT: u32 = 16;
const NDST_SHIFT: u32 = 32;

/// Bit 0 of a PID-pointer table entry: valid.
pub const PID_TABLE_ENTRY_VALID: u64 = 1;

/// A posted-interrupt descriptor; allocate it 64-byte aligned (a VM-entry check).
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct PostedInterruptDescriptor {
    /// Posted-interrupt requests: bit `v` of the 256 is vector `v`.
    pir: [AtomicU64; 4],
    /// ON, SN, NV and NDST (PID bits 319:256).
    control: AtomicU64,
    reserved: [u64; 3],
}

/// Whether a post must be followed by a notification IPI (NV to NDST).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostOutcome {
    /// ON was clear and SN clear: ON is now set, send NV to NDST.
    Notify,
    /// A notification is outstanding or suppressed: nothing to send.
    NoNotify,
}

/// The control word for notification vector `nv` and destination `ndst`, ON and SN clear.
pub const fn control_word(nv: u8, ndst: u32) -> u64 {
    (nv as u64) << NV_SHIFT | (ndst as u64) << NDST_SHIFT
}

/// NDST for an x2APIC host: the 32-bit APIC ID.
pub const fn ndst_x2apic(apic_id: u32) -> u32 {
    apic_id
}

/// NDST for an xAPIC host: the 8-bit APIC ID in bits 15:8.
pub const fn ndst_xapic(apic_id: u8) -> u32 {
    (apic_id as u32) << 8
}

impl PostedInterruptDescriptor {
    /// An empty descriptor that notifies `ndst` with vector `nv`.
    pub const fn new(nv: u8, ndst: u32) -> Self {
        PostedInterruptDescriptor {
            pir: [
                AtomicU64::new(0),
                AtomicU64::new(0),
                AtomicU64::new(0),
                AtomicU64::new(0),
            ],
            control: AtomicU64::new(control_word(nv, ndst)),
            reserved: [0; 3],
        }
    }

    /// Sets NV and NDST and clears ON and SN (for a descriptor whose destination CPU is known only
    /// at run time, such as one in a `static`).
    pub fn set_notification(&self, nv: u8, ndst: u32) {
        self.control.store(control_word(nv, ndst), Ordering::SeqCst);
    }

    /// Posts `vector` as the processor does (ipiv.md section 4): set its PIR bit, then set ON if ON
    /// and SN are both clear; returns whether the caller must send the notification.
    pub fn post(&self, vector: u8) -> PostOutcome {
        self.pir[usize::from(vector / 64)].fetch_or(1 << (vector % 64), Ordering::SeqCst);
        let mut control = self.control.load(Ordering::SeqCst);
        while control & (PID_ON | PID_SN) == 0 {
            let set_on = control | PID_ON;
            match self
                .control
                .compare_exchange(control, set_on, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return PostOutcome::Notify,
                Err(now) => control = now,
            }
        }
        PostOutcome::NoNotify
    }

    /// Whether vector `vector` is pending in PIR.
    pub fn pending(&self, vector: u8) -> bool {
        self.pir[usize::from(vector / 64)].load(Ordering::SeqCst) & (1 << (vector % 64)) != 0
    }

    /// Takes every pending request and clears ON (what the processor does on notification).
    pub fn take_pending(&self) -> [u64; 4] {
        self.control.fetch_and(!PID_ON, Ordering::SeqCst);
        core::array::from_fn(|i| self.pir[i].swap(0, Ordering::SeqCst))
    }

    pub fn outstanding(&self) -> bool {
        self.control.load(Ordering::SeqCst) & PID_ON != 0
    }

    pub fn suppressed(&self) -> bool {
        self.control.load(Ordering::SeqCst) & PID_SN != 0
    }

    /// Sets or clears SN (suppress notification).
    pub fn set_suppressed(&self, suppress: bool) {
        self.set_control_bit(PID_SN, suppress);
    }

    /// Sets or clears ON (outstanding notification), as a test does to start from either state.
    pub fn set_outstanding(&self, outstanding: bool) {
        self.set_control_bit(PID_ON, outstanding);
    }

    fn set_control_bit(&self, bit: u64, set: bool) {
        match set {
            true => self.control.fetch_or(bit, Ordering::SeqCst),
            false => self.control.fetch_and(!bit, Ordering::SeqCst),
        };
    }

    /// Notification vector (NV).
    pub fn notification_vector(&self) -> u8 {
        (self.control.load(Ordering::SeqCst) >> NV_SHIFT) as u8
    }

    /// Notification destination (NDST) in the host's APIC format.
    pub fn notification_destination(&self) -> u32 {
        (self.control.load(Ordering::SeqCst) >> NDST_SHIFT) as u32
    }
}

/// A PID-pointer table entry is refused: the descriptor address is not 64-byte aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PidNotAligned {
    pub pid_phys: u64,
}

/// The PID-pointer table entry for the descriptor at `pid_phys`: address | valid.
pub const fn pid_table_entry(pid_phys: u64) -> Result<u64, PidNotAligned> {
    if !pid_phys.is_multiple_of(64) {
        return Err(PidNotAligned { pid_phys });
    }
    Ok(pid_phys | PID_TABLE_ENTRY_VALID)
}

/// The descriptor address an entry names, as the processor reads it (bits 5:0 must be 000001b).
pub const fn pid_table_entry_target(entry: u64) -> Option<u64> {
    if entry & 0x3F == PID_TABLE_ENTRY_VALID {
        Some(entry & !0x3F)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn layout_is_64_bytes_with_control_at_byte_32() {
        assert_eq!(size_of::<PostedInterruptDescriptor>(), 64);
        assert_eq!(align_of::<PostedInterruptDescriptor>(), 64);
        assert_eq!(offset_of!(PostedInterruptDescriptor, control), 32);
    }

    #[test]
    fn control_word_places_nv_and_ndst() {
        assert_eq!(control_word(0xF2, 3), 0x0000_0003_00F2_0000);
        assert_eq!(ndst_xapic(3), 0x300);
        let pid = PostedInterruptDescriptor::new(0xF2, ndst_x2apic(7));
        assert_eq!(
            (pid.notification_vector(), pid.notification_destination()),
            (0xF2, 7)
        );
    }

    #[test]
    fn first_post_notifies_and_later_posts_do_not() {
        let pid = PostedInterruptDescriptor::new(0xF2, 1);
        assert_eq!(pid.post(0x40), PostOutcome::Notify);
        assert!(pid.outstanding());
        assert_eq!(pid.post(0xC1), PostOutcome::NoNotify);
        assert!(pid.pending(0x40) && pid.pending(0xC1) && !pid.pending(0x41));
        assert_eq!(pid.take_pending(), [0, 1, 0, 2]);
        assert!(!pid.outstanding() && !pid.pending(0x40));
        assert_eq!(pid.post(0x41), PostOutcome::Notify);
    }

    #[test]
    fn suppressed_descriptor_records_but_does_not_notify() {
        let pid = PostedInterruptDescriptor::new(0xF2, 1);
        pid.set_suppressed(true);
        assert_eq!(pid.post(0x50), PostOutcome::NoNotify);
        assert!(pid.pending(0x50) && !pid.outstanding());
        pid.set_suppressed(false);
        assert!(!pid.suppressed());
        assert_eq!(pid.post(0x51), PostOutcome::Notify);
    }

    #[test]
    fn set_notification_replaces_nv_and_ndst_and_clears_on_and_sn() {
        let pid = PostedInterruptDescriptor::new(0, 0);
        pid.set_suppressed(true);
        pid.set_outstanding(true);
        assert!(pid.suppressed() && pid.outstanding());
        assert_eq!(pid.post(0x60), PostOutcome::NoNotify);
        pid.set_notification(0xF2, 3);
        assert!(!pid.suppressed() && !pid.outstanding(), "ON and SN cleared");
        assert!(pid.pending(0x60), "PIR is left alone");
        assert_eq!(
            (pid.notification_vector(), pid.notification_destination()),
            (0xF2, 3)
        );
        pid.set_outstanding(true);
        assert_eq!(pid.post(0x61), PostOutcome::NoNotify);
        pid.set_outstanding(false);
        assert_eq!(pid.post(0x62), PostOutcome::Notify);
    }

    #[test]
    fn table_entries_are_address_or_one() {
        assert_eq!(pid_table_entry(0x1234_5640), Ok(0x1234_5641));
        assert_eq!(
            pid_table_entry(0x1234_5650),
            Err(PidNotAligned {
                pid_phys: 0x1234_5650
            })
        );
        assert_eq!(pid_table_entry_target(0x1234_5641), Some(0x1234_5640));
        assert_eq!(pid_table_entry_target(0), None);
        assert_eq!(
            pid_table_entry_target(0x1234_5643),
            None,
            "reserved bits 5:1 set"
        );
    }
}
