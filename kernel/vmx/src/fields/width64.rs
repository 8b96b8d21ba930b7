//! 64-bit VMCS fields (SDM Vol. 3D, Appendix B.2 "64-Bit Fields"); the high half is `encoding | 1`.

vmcs_fields! {
    /// 64-bit control fields (SDM Vol. 3D, B.2.1).
    Field64Control {
        /// Address of I/O bitmap A (ports 0x0000-0x7FFF), 4 KiB aligned.
        IoBitmapA = 0x2000,
        /// Address of I/O bitmap B (ports 0x8000-0xFFFF), 4 KiB aligned.
        IoBitmapB = 0x2002,
        /// Address of the 4 KiB MSR bitmap.
        MsrBitmap = 0x2004,
        VmExitMsrStoreAddress = 0x2006,
        VmExitMsrLoadAddress = 0x2008,
        VmEntryMsrLoadAddress = 0x200A,
        ExecutiveVmcsPointer = 0x200C,
        PmlAddress = 0x200E,
        TscOffset = 0x2010,
        /// Virtual-APIC page address (use TPR shadow).
        VirtualApicAddress = 0x2012,
        /// APIC-access page address (virtualize APIC accesses).
        ApicAccessAddress = 0x2014,
        /// Posted-interrupt descriptor address (64-byte aligned).
        PostedInterruptDescriptor = 0x2016,
        VmFunctionControls = 0x2018,
        /// EPT pointer.
        Eptp = 0x201A,
        EoiExitBitmap0 = 0x201C,
        EoiExitBitmap1 = 0x201E,
        EoiExitBitmap2 = 0x2020,
        EoiExitBitmap3 = 0x2022,
        EptpListAddress = 0x2024,
        VmreadBitmap = 0x2026,
        VmwriteBitmap = 0x2028,
        VirtualizationExceptionInfo = 0x202A,
        XssExitingBitmap = 0x202C,
        EnclsExitingBitmap = 0x202E,
        SubPagePermissionTable = 0x2030,
        TscMultiplier = 0x2032,
        /// Tertiary processor-based VM-execution controls (64 bits).
        TertiaryProcBasedControls = 0x2034,
        EnclvExitingBitmap = 0x2036,
        LowPasidDirectory = 0x2038,
        HighPasidDirectory = 0x203A,
        SharedEptp = 0x203C,
        PconfigExitingBitmap = 0x203E,
        HlatPointer = 0x2040,
        /// PID-pointer table address (IPIv): one 8-byte entry per virtual APIC ID.
        PidPointerTable = 0x2042,
        SecondaryExitControls = 0x2044,
        /// Guest deadline shadow (APIC-timer virtualization): IA32_TSC_DEADLINE as the guest wrote
        /// it, in guest TSC.
        GuestDeadlineShadow = 0x204E,
    }
}

vmcs_fields! {
    /// 64-bit read-only data fields (SDM Vol. 3D, B.2.2).
    Field64ReadOnly {
        /// Guest-physical address of an EPT violation or misconfiguration.
        GuestPhysicalAddress = 0x2400,
    }
}

vmcs_fields! {
    /// 64-bit guest-state fields (SDM Vol. 3D, B.2.3).
    Field64Guest {
        /// VMCS link pointer (all ones when unused).
        VmcsLinkPointer = 0x2800,
        Ia32Debugctl = 0x2802,
        Ia32Pat = 0x2804,
        Ia32Efer = 0x2806,
        Ia32PerfGlobalCtrl = 0x2808,
        Pdpte0 = 0x280A,
        Pdpte1 = 0x280C,
        Pdpte2 = 0x280E,
        Pdpte3 = 0x2810,
        Ia32Bndcfgs = 0x2812,
        Ia32RtitCtl = 0x2814,
        Ia32LbrCtl = 0x2816,
        Ia32Pkrs = 0x2818,
        /// Guest deadline (APIC-timer virtualization): the armed deadline in host TSC, 0 = disarmed.
        GuestDeadline = 0x2830,
    }
}

vmcs_fields! {
    /// 64-bit host-state fields (SDM Vol. 3D, B.2.4).
    Field64Host {
        Ia32Pat = 0x2C00,
        Ia32Efer = 0x2C02,
        Ia32PerfGlobalCtrl = 0x2C04,
        Ia32Pkrs = 0x2C06,
    }
}
