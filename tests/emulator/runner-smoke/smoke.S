/* Runner smoke image: a Multiboot2 kernel that prints a greeting and
 * "TESSERA-RESULT: pass" on COM1, then halts. It proves the emulator runner
 * (GRUB ISO, boot, COM1 capture, result detection) without the hypervisor. */

    .set MB2_MAGIC, 0xe85250d6
    .set MB2_ARCH_I386, 0
    .set COM1, 0x3f8

    .section .multiboot2, "a"
    .balign 8
header_start:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long header_end - header_start
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (header_end - header_start))
    /* end tag */
    .short 0
    .short 0
    .long 8
header_end:

    .text
    .code32
    .globl _start
_start:
    /* COM1: 115200 baud, 8 data bits, no parity, 1 stop bit (GRUB leaves it unset) */
    mov $COM1 + 3, %dx
    mov $0x80, %al              /* LCR: divisor latch access */
    out %al, %dx
    mov $COM1, %dx
    mov $1, %al                 /* divisor 1 = 115200 baud */
    out %al, %dx
    mov $COM1 + 1, %dx
    xor %al, %al
    out %al, %dx
    mov $COM1 + 3, %dx
    mov $0x03, %al              /* LCR: 8N1, latch off */
    out %al, %dx
    mov $message, %esi
next_char:
    lodsb
    test %al, %al
    jz done
    mov %al, %ah
    mov $COM1 + 5, %dx          /* line status register */
wait_tx:
    in %dx, %al
    test $0x20, %al             /* transmit holding register empty */
    jz wait_tx
    mov $COM1, %dx
    mov %ah, %al
    out %al, %dx
    jmp next_char
done:
    cli
halt:
    hlt
    jmp halt

    .section .rodata
message:
    .asciz "runner smoke image: hello from Multiboot2\nTESSERA-RESULT: pass\n"
