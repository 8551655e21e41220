/*
 * This kernel's native ABI, as libdoor needs it (the Rust definition is the
 * abi crate; the host test qemu/tests/c_header.rs checks every value here
 * against it). A Linux program may make native calls: their numbers start
 * at NATIVE_BASE, above every Linux call's, and their errors come back as
 * -errno with the C library's (Linux's) numbers.
 */
#ifndef LIBDOOR_NATIVE_H
#define LIBDOOR_NATIVE_H

#include <stdint.h>

#define NATIVE_BASE		0x400
#define SYS_native_spawn	(NATIVE_BASE + 4)
#define SYS_mem_map		(NATIVE_BASE + 10)
#define SYS_mem_unmap		(NATIVE_BASE + 11)
#define SYS_kstat		(NATIVE_BASE + 14)
#define SYS_door_create		(NATIVE_BASE + 16)
#define SYS_door_call		(NATIVE_BASE + 17)
#define SYS_door_return		(NATIVE_BASE + 18)
#define SYS_door_info		(NATIVE_BASE + 19)
#define SYS_door_revoke		(NATIVE_BASE + 20)
#define SYS_door_setparam	(NATIVE_BASE + 21)
#define SYS_door_getparam	(NATIVE_BASE + 22)
#define SYS_door_ucred		(NATIVE_BASE + 23)
#define SYS_door_cred		(NATIVE_BASE + 24)
#define SYS_door_bind		(NATIVE_BASE + 25)
#define SYS_door_unbind		(NATIVE_BASE + 26)
#define SYS_door_cancelled	(NATIVE_BASE + 27)
#define SYS_door_abort		(NATIVE_BASE + 28)
#define SYS_fattach		(NATIVE_BASE + 29)
#define SYS_fdetach		(NATIVE_BASE + 30)

/* kstat's counter of free frames (the tests' memory measurements) and the
 * longest native mem_map. */
#define KSTAT_FREE_FRAMES	2
#define MEM_MAP_MAX		(16 << 20)

/* Set in door_create's result (above the descriptor) when the library must
 * run its door_server_create procedure now. */
#define DOOR_CREATE_RUN_SERVER_CREATE	(1LL << 32)

/* How an invocation arrives (rax): run the procedure, or first run the
 * door_server_create procedure for the shared pool; any other value is the
 * address of the door_info_t of a depleted private pool. */
#define INVOCATION_RUN			1
#define INVOCATION_DEPLETED_SHARED	2

/* The main thread's stack: its top holds the program's arguments, the rest
 * is the main thread's door stack area. */
#define MAIN_STACK_TOP		0x00007fffffff0000ULL
#define MAIN_STACK_SIZE		(256 * 1024)
#define MAIN_STACK_ARGS_RESERVE	(16 * 1024)

/* abi::SpawnArgs. */
struct native_spawn_args {
	uint64_t name_ptr, name_len;
	uint64_t args_ptr, args_len;
	uint64_t descs_ptr, descs_len;
};

/* abi::Ucred, the contents of a ucred_t. */
struct ucred_s {
	int32_t uc_pid;
	uint32_t uc_euid, uc_egid, uc_ruid, uc_rgid;
	uint32_t uc_resv[3];
};

/* A native system call with up to six arguments: its raw result. */
static inline long native_call(long nr, long a0, long a1, long a2, long a3,
    long a4, long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;
	__asm__ volatile ("syscall"
	    : "=a"(ret)
	    : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
	    : "rcx", "r11", "memory");
	return ret;
}

/* A native system call that reads exactly two argument registers (rdi,
 * rsi), leaving the others as they are (door_call, where every
 * instruction counts). */
static inline long native_call_of_two(long nr, long a0, long a1)
{
	long ret;
	__asm__ volatile ("syscall"
	    : "=a"(ret)
	    : "a"(nr), "D"(a0), "S"(a1)
	    : "rcx", "r11", "memory");
	return ret;
}

#define native0(nr)		native_call(nr, 0, 0, 0, 0, 0, 0)
#define native1(nr, a)		native_call(nr, (long)(a), 0, 0, 0, 0, 0)
#define native2(nr, a, b)	native_call(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define native3(nr, a, b, c)	\
	native_call(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* The C convention: the result, or -1 with errno set. */
long libdoor_result(long raw);

#endif
