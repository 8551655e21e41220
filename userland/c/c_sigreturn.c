/*
 * Hostile signal frames and actions, each in a child: rt_sigreturn with
 * the stack pointer on unmapped memory, with a kernel address for rip,
 * with reserved MXCSR bits, an action without SA_RESTORER, a handler at a
 * kernel address, an alternate stack that cannot hold the frame: each
 * child is killed with SIGSEGV and a report, the kernel goes on. A frame
 * asking for IOPL 3 and NT gets neither, and the code it names runs; one
 * with TF set traps after one instruction (SIGTRAP), as on Linux.
 */
#include <ctest.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define KERNEL 0xffff800000000000UL

/* A frame as rt_sigreturn reads it: the return address, then ucontext_t. */
static _Alignas(64) unsigned char frame[2048];
static _Alignas(64) unsigned char fpu[512];
static _Alignas(16) unsigned char stack[16384];

static ucontext_t *
uc(void)
{
	return ((ucontext_t *)(frame + 8));
}

static void __attribute__((noreturn))
sigreturn_at(void *sp)
{
	__asm__ volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall" : : "r"(sp) : "memory");
	__builtin_unreachable();
}

static void __attribute__((noreturn))
flags_checked(void)
{
	uint64_t flags;
	__asm__ volatile("pushfq\n\tpop %0" : "=r"(flags));
	/* IOPL 0, no NT, IF set. */
	int ok = (flags & 0x3000) == 0 && (flags & 0x4000) == 0 && (flags & 0x200) != 0;
	syscall(SYS_exit_group, ok ? 42 : 1);
	__builtin_unreachable();
}

static void
valid_frame(void)
{
	memset(frame, 0, sizeof frame);
	memset(fpu, 0, sizeof fpu);
	fpu[0] = 0x7f;
	fpu[1] = 0x03;
	uint32_t mxcsr = 0x1f80;
	memcpy(fpu + 24, &mxcsr, 4);
	uc()->uc_mcontext.gregs[REG_RIP] = (greg_t)flags_checked;
	uc()->uc_mcontext.gregs[REG_RSP] = (greg_t)(stack + sizeof stack - 8);
	uc()->uc_mcontext.gregs[REG_EFL] = 0x202;
	uc()->uc_mcontext.fpregs = (fpregset_t)fpu;
}

static void
handler(int sig)
{
	(void)sig;
}

/* Runs f in a child; returns its wait status. */
static int
in_child(void (*f)(void))
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		f();
		_exit(0);
	}
	int status;
	CHECK(waitpid(c, &status, 0) == c);
	return (status);
}

static void
unmapped_stack(void)
{
	sigreturn_at((void *)0x10);
}

static void
kernel_rip(void)
{
	valid_frame();
	uc()->uc_mcontext.gregs[REG_RIP] = (greg_t)KERNEL;
	sigreturn_at(frame + 8);
}

static void
bad_mxcsr(void)
{
	valid_frame();
	uint32_t mxcsr = 0xffffffff;
	memcpy(fpu + 24, &mxcsr, 4);
	sigreturn_at(frame + 8);
}

static void
bad_fpu_pointer(void)
{
	valid_frame();
	uc()->uc_mcontext.fpregs = (fpregset_t)KERNEL;
	sigreturn_at(frame + 8);
}

/* Every flag but TF (which traps after one instruction, as on Linux). */
static void
all_flags(void)
{
	valid_frame();
	uc()->uc_mcontext.gregs[REG_EFL] = ~0x100L;
	sigreturn_at(frame + 8);
}

static void
single_step(void)
{
	valid_frame();
	uc()->uc_mcontext.gregs[REG_EFL] = 0x302;
	sigreturn_at(frame + 8);
}

struct kernel_sigaction {
	unsigned long handler, flags, restorer, mask;
};

static void
no_restorer(void)
{
	struct kernel_sigaction act = { .handler = (unsigned long)handler };
	CHECK(syscall(SYS_rt_sigaction, SIGUSR1, &act, NULL, 8) == 0);
	syscall(SYS_kill, getpid(), SIGUSR1);
}

static void
kernel_handler(void)
{
	struct kernel_sigaction act = {
		.handler = KERNEL, .flags = 0x04000000, .restorer = (unsigned long)handler
	};
	CHECK(syscall(SYS_rt_sigaction, SIGUSR1, &act, NULL, 8) == 0);
	syscall(SYS_kill, getpid(), SIGUSR1);
}

static void
unmapped_altstack(void)
{
	stack_t ss = { .ss_sp = (void *)0x10000000000UL, .ss_size = 65536 };
	CHECK(sigaltstack(&ss, NULL) == 0);
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_ONSTACK };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	raise(SIGUSR1);
}

int
main(void)
{
	void (*killed[])(void) = {
		unmapped_stack, kernel_rip, bad_mxcsr, bad_fpu_pointer,
		no_restorer, kernel_handler, unmapped_altstack,
	};
	for (unsigned i = 0; i < sizeof killed / sizeof killed[0]; i++) {
		int status = in_child(killed[i]);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	}
	printf("c_sigreturn: hostile frames and actions end with SIGSEGV\n");
	int status = in_child(all_flags);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);
	status = in_child(single_step);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTRAP);
	printf("c_sigreturn: a frame's flags are tamed\n");
	printf("c_sigreturn: done\n");
	return (0);
}
