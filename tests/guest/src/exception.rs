//! Which vectors push an error code: the x86 exceptions that do (Intel SDM Vol. 3A, Table 6-1
//! "Protected-Mode Exceptions and Interrupts", "Error Code" column), as the interrupt stubs in
//! `cpu` read it.
//!
//! Yes: 8 #DF (always 0), 10 #TS, 11 #NP, 12 #SS, 13 #GP, 14 #PF, 17 #AC (always 0) and 21 #CP.
//! No: every other exception, and every interrupt, NMI and `INT n` whatever its vector. Vectors
//! 22-31 are Intel-reserved: the processor raises none of them. (AMD uses 29 for #VC and 30 for
//! #SX, both with an error code, but only under SEV-ES and SVM; a VT-x guest sees them, if ever,
//! as an interrupt or `INT n`, which pushes none.) The stub of a vector in the list cannot tell
//! an exception from an interrupt on the same vector, so test guests never send interrupts below
//! vector 32 that reach an IDT.

/// Bit `v` set: exception vector `v` pushes an error code (8, 10-14, 17, 21).
pub const ERROR_CODE_VECTORS: u32 =
    1 << 8 | 1 << 10 | 1 << 11 | 1 << 12 | 1 << 13 | 1 << 14 | 1 << 17 | 1 << 21;

/// Whether the processor pushes an error code when it delivers an exception on `vector`.
pub const fn pushes_error_code(vector: u8) -> bool {
    vector < 32 && ERROR_CODE_VECTORS & (1 << vector) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Intel SDM Vol. 3A, Table 6-1: vector, mnemonic, "Error Code" column ("Yes" / "Yes (Zero)"
    /// = true). Rows 22-31 are "Intel reserved. Do not use." (no error code from the processor).
    const SDM_TABLE_6_1: [(u8, &str, bool); 22] = [
        (0, "#DE", false),
        (1, "#DB", false),
        (2, "NMI", false),
        (3, "#BP", false),
        (4, "#OF", false),
        (5, "#BR", false),
        (6, "#UD", false),
        (7, "#NM", false),
        (8, "#DF", true),
        (9, "coprocessor segment overrun", false),
        (10, "#TS", true),
        (11, "#NP", true),
        (12, "#SS", true),
        (13, "#GP", true),
        (14, "#PF", true),
        (15, "reserved", false),
        (16, "#MF", false),
        (17, "#AC", true),
        (18, "#MC", false),
        (19, "#XM", false),
        (20, "#VE", false),
        (21, "#CP", true),
    ];

    #[test]
    fn the_stub_table_matches_the_sdm_for_every_vector() {
        for (vector, name, error_code) in SDM_TABLE_6_1 {
            assert_eq!(
                pushes_error_code(vector),
                error_code,
                "vector {vector} {name}"
            );
        }
        for vector in 22..=255u8 {
            assert!(
                !pushes_error_code(vector),
                "vector {vector}: reserved or an interrupt, no error code"
            );
        }
    }

    #[test]
    fn the_amd_only_vectors_take_no_error_code_on_vt_x() {
        // 29 #VC and 30 #SX exist only on AMD (SEV-ES, SVM); on Intel they can only arrive as an
        // interrupt or INT n, which push none.
        assert!(!pushes_error_code(29));
        assert!(!pushes_error_code(30));
    }
}
