//! The boot loader: what gets from `qemu-system-x86_64 -kernel` to the
//! kernel's `bootloader_api` entry point.
//!
//! QEMU loads this small program with the multiboot (v1) protocol and starts
//! it in 32-bit protected mode. The assembly below switches to long mode with
//! the first 4 GiB identity-mapped; [`loader_main`] then reads the multiboot
//! information, loads the kernel ELF (module 0) into the higher half, maps
//! all physical memory, builds a [`bootloader_api::BootInfo`] whose ramdisk
//! is module 1 (the boot file system), and jumps to the kernel. The kernel
//! never learns about multiboot, so it stays loadable by the rust-osdev
//! bootloader as well.
// no_std and the panic handler on bare metal only: a host `cargo check
// --workspace` (what editors run) then sees an ordinary std crate.
#![cfg_attr(target_os = "none", no_std)]
#![no_main]

mod console;
mod frames;
mod load;
mod multiboot;

use core::arch::global_asm;

// The multiboot header (flags: page-aligned modules, memory information,
// a.out-kludge addresses) and the 32-bit entry code.
global_asm!(
    r#"
    .section .multiboot, "a"
    .align 4
multiboot_header:
    .long 0x1BADB002
    .long 0x00010003
    .long -(0x1BADB002 + 0x00010003)
    .long multiboot_header
    .long __image_start
    .long __load_end
    .long __bss_end
    .long start32

    .section .text.start32, "ax"
    .code32
    .global start32
start32:
    cli
    mov esp, offset boot_stack_top
    mov edi, ebx                      // multiboot information
    mov esi, eax                      // multiboot magic

    // PML4[0] -> PDPT; PDPT[0..4] -> four page directories of 2 MiB pages.
    mov eax, offset boot_pdpt
    or eax, 3
    mov [boot_pml4], eax
    xor ecx, ecx
1:  mov eax, ecx
    shl eax, 12
    add eax, offset boot_pd
    or eax, 3
    mov [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb 1b
    xor ecx, ecx
2:  mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jb 2b

    mov eax, cr4
    or eax, 1 << 5                    // PAE
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    mov ecx, 0xC0000080               // EFER
    rdmsr
    or eax, 1 << 8                    // LME
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1 // PG, WP, PE
    mov cr0, eax
    lgdt [boot_gdt_ptr]
    ljmp 0x08, offset start64

    .code64
start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov edi, edi                      // zero-extend both arguments
    mov esi, esi
    call loader_main
3:  hlt
    jmp 3b

    .section .rodata
    .align 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff          // 64-bit code
    .quad 0x00cf92000000ffff          // data
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .align 4096
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd: .skip 4096 * 4
boot_stack: .skip 65536
boot_stack_top:
"#
);

/// Rust entry, in long mode with the first 4 GiB identity-mapped.
#[unsafe(no_mangle)]
extern "C" fn loader_main(info_addr: u32, magic: u32) -> ! {
    if magic != multiboot::BOOT_MAGIC {
        console::fail(format_args!(
            "not started by a multiboot loader (eax={magic:#x})"
        ));
    }
    // SAFETY: a multiboot loader passed this address in EBX, and the first
    // 4 GiB are identity-mapped.
    let info = unsafe { multiboot::Info::read(info_addr as u64) };
    let Err(why) = load::boot(&info);
    console::fail(format_args!("{why}"))
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    console::fail(format_args!("panic: {info}"))
}
