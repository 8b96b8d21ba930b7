//! Placeholder entry point and panic handler until the boot path lands.

use core::panic::PanicInfo;

/// First instruction of the image: halts forever until the real boot path exists.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    loop {
        x86_64::instructions::hlt();
    }
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {
        x86_64::instructions::hlt();
    }
}
