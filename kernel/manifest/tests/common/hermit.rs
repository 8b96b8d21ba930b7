//! A hand-made Hermit application: an ET_DYN ELF64 with a `HERMIT` entry-version note, a dynamic
//! section with one `Elf64_Rela` table, a TLS segment and one loadable segment at address 0.

/// File offset (and address) of the relocated 8-byte word; the code is at [`ENTRY`].
pub const TARGET: u64 = 0x208;
pub const ENTRY: u64 = 0x200;
/// Bytes of memory the single PT_LOAD segment takes.
pub const MEMORY_BYTES: u64 = 0x1000;

/// The application with entry version `version` and one relocation of type `r_type` at `TARGET`
/// whose addend is `ENTRY`.
pub fn elf(version: u8, r_type: u32) -> Vec<u8> {
    let mut f = vec![0u8; 0x210];
    header(&mut f);
    let phdrs: [(u32, u32, [u64; 6]); 4] = [
        (1, 7, [0, 0, 0, 0x210, MEMORY_BYTES, 0x1000]), // PT_LOAD, RWX
        (4, 4, [0x160, 0x160, 0x160, 24, 24, 4]),       // PT_NOTE
        (2, 6, [0x180, 0x180, 0x180, 64, 64, 8]),       // PT_DYNAMIC
        (7, 4, [TARGET, TARGET, TARGET, 8, 16, 8]),     // PT_TLS
    ];
    for (i, (p_type, flags, words)) in phdrs.iter().enumerate() {
        let mut ph = Vec::new();
        ph.extend_from_slice(&p_type.to_le_bytes());
        ph.extend_from_slice(&flags.to_le_bytes());
        words
            .iter()
            .for_each(|w| ph.extend_from_slice(&w.to_le_bytes()));
        put(&mut f, 64 + 56 * i, &ph);
    }
    put(&mut f, 0x160, &note(version));
    let dynamic: [(u64, u64); 4] = [(7, 0x1C0), (8, 24), (9, 24), (0, 0)];
    let dynamic: Vec<u8> = dynamic
        .iter()
        .flat_map(|(tag, val)| [tag.to_le_bytes(), val.to_le_bytes()].concat())
        .collect();
    put(&mut f, 0x180, &dynamic);
    let rela = [TARGET, u64::from(r_type), ENTRY];
    put(
        &mut f,
        0x1C0,
        &rela
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    put(&mut f, ENTRY as usize, &[0xF4, 0xEB, 0xFD]); // hlt; jmp .-1
    f
}

fn header(f: &mut [u8]) {
    let mut h = Vec::new();
    h.extend_from_slice(b"\x7fELF\x02\x01\x01\xff\0\0\0\0\0\0\0\0"); // OSABI 0xff as Hermit's
    h.extend_from_slice(&3u16.to_le_bytes()); // e_type: DYN
    h.extend_from_slice(&62u16.to_le_bytes()); // e_machine: x86-64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&ENTRY.to_le_bytes());
    h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    h.extend_from_slice(&0u32.to_le_bytes());
    for half in [64u16, 56, 4, 64, 0, 0] {
        h.extend_from_slice(&half.to_le_bytes());
    }
    put(f, 0, &h);
}

/// `HERMIT` note of type 0x5a00 with one byte of description.
fn note(version: u8) -> Vec<u8> {
    let mut n = Vec::new();
    for word in [7u32, 1, 0x5a00] {
        n.extend_from_slice(&word.to_le_bytes());
    }
    n.extend_from_slice(b"HERMIT\0\0");
    n.extend_from_slice(&[version, 0, 0, 0]);
    n
}

fn put(f: &mut [u8], at: usize, bytes: &[u8]) {
    f[at..at + bytes.len()].copy_from_slice(bytes);
}
