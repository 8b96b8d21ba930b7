//! GRUB for both firmware kinds, made with `grub-mkimage` (no root, no loop device): a BIOS core
//! image for the BIOS boot partition with GRUB's boot sector in the MBR, and `BOOTX64.EFI` for the
//! EFI system partition. Both carry the same embedded script, which finds the ESP by its FAT
//! volume ID and boots the hypervisor with Multiboot2; no menu, no `grub.cfg` to read.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian's `grub-pc-bin` and `grub-efi-amd64-bin` install their modules.
const MODULE_ROOT: &str = "/usr/lib/grub";
/// Modules of both images: GPT, FAT, finding the ESP, Multiboot2, COM1.
const MODULES: [&str; 7] = [
    "part_gpt",
    "fat",
    "search",
    "multiboot2",
    "serial",
    "terminal",
    "boot",
];

/// Offset in GRUB's boot sector of the 64-bit LBA of the core image's first sector.
const KERNEL_SECTOR_OFFSET: usize = 0x5C;
/// Bytes of boot code an MBR has room for (the rest is the partition table).
pub const BOOT_CODE_BYTES: usize = 440;
/// Offset in the core image's first sector (diskboot) of its block list: 64-bit start LBA,
/// 16-bit sector count, 16-bit segment.
const BLOCKLIST_OFFSET: usize = 512 - 12;

/// The three pieces GRUB contributes to an image.
#[derive(Debug, Clone)]
pub struct GrubImages {
    /// `boot.img`: the BIOS boot sector (512 bytes).
    pub boot_sector: Vec<u8>,
    /// `core.img` for `i386-pc`.
    pub core: Vec<u8>,
    /// `BOOTX64.EFI` for `x86_64-efi`.
    pub efi: Vec<u8>,
}

/// The embedded script: COM1 and the screen, the ESP by volume ID, then the hypervisor.
pub fn script(fat_uuid: &str, hypervisor_path: &str) -> String {
    format!(
        "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n\
         terminal_output serial console\n\
         search --no-floppy --fs-uuid --set=root {fat_uuid}\n\
         multiboot2 {hypervisor_path}\n\
         boot\n"
    )
}

/// Runs `grub-mkimage` for both platforms with `script` embedded (in `work`).
pub fn make(script: &str, work: &Path) -> Result<GrubImages, String> {
    let config = work.join("embedded.cfg");
    std::fs::write(&config, script).map_err(|e| format!("{}: {e}", config.display()))?;
    let core = mkimage("i386-pc", &["biosdisk"], &config, &work.join("core.img"))?;
    let efi = mkimage("x86_64-efi", &[], &config, &work.join("BOOTX64.EFI"))?;
    let boot_path = Path::new(MODULE_ROOT).join("i386-pc").join("boot.img");
    let boot_sector =
        std::fs::read(&boot_path).map_err(|e| format!("{}: {e}", boot_path.display()))?;
    Ok(GrubImages {
        boot_sector,
        core: std::fs::read(&core).map_err(|e| format!("{}: {e}", core.display()))?,
        efi: std::fs::read(&efi).map_err(|e| format!("{}: {e}", efi.display()))?,
    })
}

fn mkimage(platform: &str, extra: &[&str], config: &Path, out: &Path) -> Result<PathBuf, String> {
    let output = Command::new("grub-mkimage")
        .args(["-O", platform, "-p", "/boot/grub", "-c"])
        .arg(config)
        .arg("-o")
        .arg(out)
        .args(extra)
        .args(MODULES)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run grub-mkimage: {e} (Debian package grub-common)"))?;
    if output.status.success() {
        Ok(out.to_path_buf())
    } else {
        Err(format!(
            "grub-mkimage -O {platform} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The MBR boot code: GRUB's boot sector told to load the core image from `core_lba`.
pub fn boot_code(boot_sector: &[u8], core_lba: u64) -> Result<[u8; BOOT_CODE_BYTES], String> {
    if boot_sector.len() != 512 || boot_sector[510..] != [0x55, 0xAA] {
        return Err(format!(
            "GRUB boot.img: expected a 512-byte boot sector ending in 55 AA, found {} bytes",
            boot_sector.len()
        ));
    }
    let mut code: [u8; BOOT_CODE_BYTES] = boot_sector[..BOOT_CODE_BYTES]
        .try_into()
        .expect("440 bytes");
    code[KERNEL_SECTOR_OFFSET..KERNEL_SECTOR_OFFSET + 8].copy_from_slice(&core_lba.to_le_bytes());
    Ok(code)
}

/// Points the core image's block list at its own sectors once placed at `core_lba`: the boot
/// sector loads the first sector, which loads the rest (one contiguous run).
pub fn place_core(core: &mut [u8], core_lba: u64) -> Result<(), String> {
    let rest_sectors = (core.len() as u64).div_ceil(512).saturating_sub(1);
    let entry = core
        .get_mut(BLOCKLIST_OFFSET..BLOCKLIST_OFFSET + 12)
        .ok_or("GRUB core.img: shorter than one sector")?;
    let length = u16::from_le_bytes([entry[8], entry[9]]);
    if u64::from(length) != rest_sectors {
        return Err(format!(
            "GRUB core.img: its block list says {length} sectors follow the first, the file has \
             {rest_sectors} (not an i386-pc core image from grub-mkimage?)"
        ));
    }
    entry[..8].copy_from_slice(&(core_lba + 1).to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot_sector() -> Vec<u8> {
        let mut sector = vec![0xEB; 512];
        sector[510] = 0x55;
        sector[511] = 0xAA;
        sector
    }

    #[test]
    fn the_boot_sector_points_at_the_core_image() {
        let code = boot_code(&boot_sector(), 2048).unwrap();
        assert_eq!(&code[0x5C..0x64], &2048u64.to_le_bytes());
        assert_eq!(code[0x64], 0xEB, "the rest is GRUB's code");
        assert!(boot_code(&boot_sector()[..511], 1).is_err());
    }

    #[test]
    fn the_core_block_list_starts_after_its_first_sector() {
        let mut core = vec![0u8; 512 * 3 + 100];
        core[508..510].copy_from_slice(&3u16.to_le_bytes());
        place_core(&mut core, 2048).unwrap();
        assert_eq!(&core[500..508], &2049u64.to_le_bytes());
        let mut wrong = vec![0u8; 512 * 2];
        let error = place_core(&mut wrong, 2048).unwrap_err();
        assert!(error.contains("says 0 sectors"), "{error}");
    }

    #[test]
    fn the_script_finds_the_esp_and_boots_multiboot2() {
        let text = script("1234-abcd", "/tessera/hypervisor.elf");
        assert!(text.contains("search --no-floppy --fs-uuid --set=root 1234-abcd\n"));
        assert!(text.contains("multiboot2 /tessera/hypervisor.elf\nboot\n"));
        assert!(text.starts_with("serial --unit=0 --speed=115200"));
    }
}
