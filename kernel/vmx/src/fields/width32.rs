//! 32-bit VMCS fields (SDM Vol. 3D, Appendix B.3 "32-Bit Fields").

vmcs_fields! {
    /// 32-bit control fields (SDM Vol. 3D, B.3.1).
    Field32Control {
        PinBasedControls = 0x4000,
        /// Primary processor-based VM-execution controls.
        ProcBasedControls = 0x4002,
        ExceptionBitmap = 0x4004,
        PageFaultErrorCodeMask = 0x4006,
        PageFaultErrorCodeMatch = 0x4008,
        Cr3TargetCount = 0x400A,
        /// Primary VM-exit controls.
        ExitControls = 0x400C,
        ExitMsrStoreCount = 0x400E,
        ExitMsrLoadCount = 0x4010,
        EntryControls = 0x4012,
        EntryMsrLoadCount = 0x4014,
        EntryInterruptionInfo = 0x4016,
        EntryExceptionErrorCode = 0x4018,
        EntryInstructionLength = 0x401A,
        TprThreshold = 0x401C,
        /// Secondary processor-based VM-execution controls.
        SecondaryProcBasedControls = 0x401E,
        PleGap = 0x4020,
        PleWindow = 0x4022,
        InstructionTimeoutControl = 0x4024,
    }
}

vmcs_fields! {
    /// 32-bit read-only data fields (SDM Vol. 3D, B.3.2).
    Field32ReadOnly {
        /// VM-instruction error number (SDM Vol. 3C 31.4 "VM Instruction Error Numbers").
        VmInstructionError = 0x4400,
        /// Exit reason: basic reason in bits 15:0, VM-entry failure in bit 31.
        ExitReason = 0x4402,
        ExitInterruptionInfo = 0x4404,
        ExitInterruptionErrorCode = 0x4406,
        IdtVectoringInfo = 0x4408,
        IdtVectoringErrorCode = 0x440A,
        /// Length in bytes of the instruction that caused the exit.
        ExitInstructionLength = 0x440C,
        ExitInstructionInfo = 0x440E,
    }
}

vmcs_fields! {
    /// 32-bit guest-state fields (SDM Vol. 3D, B.3.3).
    Field32Guest {
        EsLimit = 0x4800,
        CsLimit = 0x4802,
        SsLimit = 0x4804,
        DsLimit = 0x4806,
        FsLimit = 0x4808,
        GsLimit = 0x480A,
        LdtrLimit = 0x480C,
        TrLimit = 0x480E,
        GdtrLimit = 0x4810,
        IdtrLimit = 0x4812,
        EsAccessRights = 0x4814,
        CsAccessRights = 0x4816,
        SsAccessRights = 0x4818,
        DsAccessRights = 0x481A,
        FsAccessRights = 0x481C,
        GsAccessRights = 0x481E,
        LdtrAccessRights = 0x4820,
        TrAccessRights = 0x4822,
        InterruptibilityState = 0x4824,
        /// Activity state: 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI.
        ActivityState = 0x4826,
        Smbase = 0x4828,
        Ia32SysenterCs = 0x482A,
        VmxPreemptionTimerValue = 0x482E,
    }
}

vmcs_fields! {
    /// 32-bit host-state fields (SDM Vol. 3D, B.3.4).
    Field32Host {
        Ia32SysenterCs = 0x4C00,
    }
}
