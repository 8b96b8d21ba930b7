//! Natural-width VMCS fields (SDM Vol. 3D, Appendix B.4 "Natural-Width Fields"): 64 bits on x86_64.

vmcs_fields! {
    /// Natural-width control fields (SDM Vol. 3D, B.4.1).
    NaturalControl {
        Cr0GuestHostMask = 0x6000,
        Cr4GuestHostMask = 0x6002,
        Cr0ReadShadow = 0x6004,
        Cr4ReadShadow = 0x6006,
        Cr3Target0 = 0x6008,
        Cr3Target1 = 0x600A,
        Cr3Target2 = 0x600C,
        Cr3Target3 = 0x600E,
    }
}

vmcs_fields! {
    /// Natural-width read-only data fields (SDM Vol. 3D, B.4.2).
    NaturalReadOnly {
        /// Exit qualification (meaning depends on the exit reason).
        ExitQualification = 0x6400,
        IoRcx = 0x6402,
        IoRsi = 0x6404,
        IoRdi = 0x6406,
        IoRip = 0x6408,
        GuestLinearAddress = 0x640A,
    }
}

vmcs_fields! {
    /// Natural-width guest-state fields (SDM Vol. 3D, B.4.3).
    NaturalGuest {
        Cr0 = 0x6800,
        Cr3 = 0x6802,
        Cr4 = 0x6804,
        EsBase = 0x6806,
        CsBase = 0x6808,
        SsBase = 0x680A,
        DsBase = 0x680C,
        FsBase = 0x680E,
        GsBase = 0x6810,
        LdtrBase = 0x6812,
        TrBase = 0x6814,
        GdtrBase = 0x6816,
        IdtrBase = 0x6818,
        Dr7 = 0x681A,
        Rsp = 0x681C,
        Rip = 0x681E,
        Rflags = 0x6820,
        PendingDebugExceptions = 0x6822,
        Ia32SysenterEsp = 0x6824,
        Ia32SysenterEip = 0x6826,
        Ia32SCet = 0x6828,
        Ssp = 0x682A,
        Ia32InterruptSspTableAddr = 0x682C,
    }
}

vmcs_fields! {
    /// Natural-width host-state fields (SDM Vol. 3D, B.4.4).
    NaturalHost {
        Cr0 = 0x6C00,
        Cr3 = 0x6C02,
        Cr4 = 0x6C04,
        FsBase = 0x6C06,
        GsBase = 0x6C08,
        TrBase = 0x6C0A,
        GdtrBase = 0x6C0C,
        IdtrBase = 0x6C0E,
        Ia32SysenterEsp = 0x6C10,
        Ia32SysenterEip = 0x6C12,
        Rsp = 0x6C14,
        Rip = 0x6C16,
        Ia32SCet = 0x6C18,
        Ssp = 0x6C1A,
        Ia32InterruptSspTableAddr = 0x6C1C,
    }
}
