//! 16-bit VMCS fields (SDM Vol. 3D, Appendix B.1 "16-Bit Fields").

vmcs_fields! {
    /// 16-bit control fields (SDM Vol. 3D, B.1.1).
    Field16Control {
        /// Virtual-processor identifier.
        Vpid = 0x0000,
        /// Posted-interrupt notification vector (bits 15:8 must be 0).
        PostedInterruptNotificationVector = 0x0002,
        /// EPTP index (with EPT-violation #VE).
        EptpIndex = 0x0004,
        /// HLAT prefix size.
        HlatPrefixSize = 0x0006,
        /// Last PID-pointer index: the highest virtual APIC ID the PID-pointer table covers (IPIv).
        LastPidPointerIndex = 0x0008,
        /// Virtual timer vector (APIC-timer virtualization; bits 15:8 must be 0). Encoding from
        /// KVM's patches, not yet in a published SDM appendix (apic-timer-virt.md section 1).
        VirtualTimerVector = 0x000A,
    }
}

vmcs_fields! {
    /// 16-bit guest-state fields (SDM Vol. 3D, B.1.2).
    Field16Guest {
        EsSelector = 0x0800,
        CsSelector = 0x0802,
        SsSelector = 0x0804,
        DsSelector = 0x0806,
        FsSelector = 0x0808,
        GsSelector = 0x080A,
        LdtrSelector = 0x080C,
        TrSelector = 0x080E,
        /// Guest interrupt status: RVI (bits 7:0) and SVI (bits 15:8), used by virtual-interrupt delivery.
        InterruptStatus = 0x0810,
        /// PML index.
        PmlIndex = 0x0812,
        /// User-interrupt notification vector.
        Uinv = 0x0814,
    }
}

vmcs_fields! {
    /// 16-bit host-state fields (SDM Vol. 3D, B.1.3).
    Field16Host {
        EsSelector = 0x0C00,
        CsSelector = 0x0C02,
        SsSelector = 0x0C04,
        DsSelector = 0x0C06,
        FsSelector = 0x0C08,
        GsSelector = 0x0C0A,
        TrSelector = 0x0C0C,
    }
}
