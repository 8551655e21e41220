/*
 * A hostile static binary: raw Linux system calls with bad arguments. Each
 * gets an error (Linux's, by name), never a kernel fault or hang, and
 * nothing is left behind (init's leak check after this program): bad clone
 * flag combinations and tid, TLS and stack addresses, futexes on unmapped,
 * misaligned and kernel words, mprotect of kernel addresses, brk below its
 * start, huge mmap lengths, tid addresses in kernel space, bad signal
 * calls, and a call this kernel does not have.
 */
#include <ctest.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
/* <linux/futex.h> (musl-gcc has no kernel headers). */
#define FUTEX_WAIT		0
#define FUTEX_WAKE		1
#define FUTEX_CMP_REQUEUE	4
#define FUTEX_LOCK_PI		6
#define FUTEX_WAIT_BITSET	9
#define KERNEL ((long)0xffffffff80000000UL)
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
	CLONE_THREAD | CLONE_SYSVSEM)

static long
sys(long nr, long a, long b, long c, long d, long e, long f)
{
	return (syscall(nr, a, b, c, d, e, f));
}

static void
clones(void)
{
	/* Linux's own rules. */
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS & ~CLONE_SIGHAND, 0, 0, 0, 0, 0),
	    EINVAL);
	CHECK_ERR(sys(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_PIDFD, 0, 0, 0, 0, 0),
	    EINVAL);
	/* Threads here share everything. */
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS & ~CLONE_FILES, 0, 0, 0, 0, 0),
	    EINVAL);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_VFORK, 0, 0, 0, 0, 0),
	    EINVAL);
	/* New processes through clone and namespaces are not supported (fork
	 * and vfork are: c_fork). */
	CHECK_ERR(sys(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0), ENOSYS);
	CHECK_ERR(sys(SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0,
	    0), ENOSYS);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_NEWNET, 0, 0, 0, 0, 0),
	    ENOSYS);
	/* Kernel addresses for the stack, the TLS and the tid words. */
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS, KERNEL, 0, 0, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_SETTLS, 0, 0, 0, KERNEL,
	    0), EINVAL);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_PARENT_SETTID, 0, KERNEL,
	    0, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_CHILD_SETTID, 0, 0,
	    KERNEL, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_CHILD_CLEARTID, 0, 0,
	    KERNEL, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_clone, THREAD_FLAGS | CLONE_PARENT_SETTID, 0, 0x1000,
	    0, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_set_tid_address, KERNEL, 0, 0, 0, 0, 0), EFAULT);
	CHECK(sys(SYS_set_tid_address, 0, 0, 0, 0, 0, 0) == gettid());
	printf("c_hostile: clone and tid addresses ok\n");
}

static void
futexes(void)
{
	static int word = 5;
	char *gone = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(gone != MAP_FAILED && munmap(gone, PAGE) == 0);
	struct timespec bad = { 0, 1000000000 }, past = { 0, 0 };
	struct timespec short_wait = { 0, 20000000 };

	CHECK_ERR(sys(SYS_futex, (long)gone, FUTEX_WAIT, 0, 0, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_futex, (long)&word + 1, FUTEX_WAIT, 5, 0, 0, 0),
	    EINVAL);
	CHECK_ERR(sys(SYS_futex, (long)&word + 2, FUTEX_WAKE, 1, 0, 0, 0),
	    EINVAL);
	CHECK_ERR(sys(SYS_futex, KERNEL, FUTEX_WAIT, 0, 0, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_futex, KERNEL, FUTEX_WAKE, 1, 0, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_WAIT, 4, 0, 0, 0), EAGAIN);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_WAIT, 5, (long)&bad, 0, 0),
	    EINVAL);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_WAIT, 5, KERNEL, 0, 0),
	    EFAULT);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_WAIT, 5, (long)&short_wait,
	    0, 0), ETIMEDOUT);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_WAIT_BITSET, 5, (long)&past,
	    0, 0), EINVAL);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_WAIT_BITSET, 5, (long)&past,
	    0, ~0), ETIMEDOUT);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_LOCK_PI, 0, 0, 0, 0),
	    ENOSYS);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_CMP_REQUEUE, 1, 1,
	    (long)&word + 1, 5), EINVAL);
	CHECK_ERR(sys(SYS_futex, (long)&word, FUTEX_CMP_REQUEUE, 1, 1,
	    (long)&word, 6), EAGAIN);
	CHECK(sys(SYS_futex, (long)&word, FUTEX_WAKE, 1, 0, 0, 0) == 0);
	CHECK(sys(SYS_futex, (long)gone, FUTEX_WAKE, 1, 0, 0, 0) == 0);
	printf("c_hostile: futexes ok\n");
}

static void
memory(void)
{
	CHECK_ERR(sys(SYS_mprotect, KERNEL, PAGE, PROT_READ, 0, 0, 0), ENOMEM);
	CHECK_ERR(sys(SYS_mprotect, 0x1000, -PAGE, PROT_READ, 0, 0, 0), ENOMEM);
	CHECK_ERR(sys(SYS_mprotect, 0x1001, PAGE, PROT_READ, 0, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_mprotect, 0x7000000, PAGE, PROT_READ, 0, 0, 0),
	    ENOMEM);
	CHECK_ERR(sys(SYS_mprotect, (long)&errno & ~(PAGE - 1), PAGE, 0x100, 0,
	    0, 0), EINVAL);
	CHECK_ERR(sys(SYS_munmap, KERNEL, PAGE, 0, 0, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_munmap, 0x1001, PAGE, 0, 0, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_munmap, 0x1000, 0, 0, 0, 0, 0), EINVAL);
	int anon = MAP_PRIVATE | MAP_ANONYMOUS;
	CHECK_ERR(sys(SYS_mmap, 0, -1L, PROT_READ, anon, -1, 0), ENOMEM);
	CHECK_ERR(sys(SYS_mmap, 0, 1L << 46, PROT_READ | PROT_WRITE, anon, -1,
	    0), ENOMEM);
	CHECK_ERR(sys(SYS_mmap, 0, 0, PROT_READ, anon, -1, 0), EINVAL);
	CHECK_ERR(sys(SYS_mmap, KERNEL, PAGE, PROT_READ, anon | MAP_FIXED, -1,
	    0), ENOMEM);
	CHECK_ERR(sys(SYS_mmap, 0, PAGE, PROT_READ, anon | MAP_FIXED, -1, 0),
	    ENOMEM);
	CHECK_ERR(sys(SYS_mmap, 0, PAGE, 0x100, anon, -1, 0), EINVAL);
	CHECK_ERR(sys(SYS_mmap, 0, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0),
	    EINVAL);
	CHECK_ERR(sys(SYS_mremap, KERNEL, PAGE, 2 * PAGE, 0, 0, 0), EINVAL);
	/* brk below its start, or into the kernel: the break stays. */
	long start = sys(SYS_brk, 0, 0, 0, 0, 0, 0);
	CHECK(sys(SYS_brk, start - PAGE, 0, 0, 0, 0, 0) == start);
	CHECK(sys(SYS_brk, 1, 0, 0, 0, 0, 0) == start);
	CHECK(sys(SYS_brk, KERNEL, 0, 0, 0, 0, 0) == start);
	CHECK(sys(SYS_brk, start + (1L << 45), 0, 0, 0, 0, 0) == start);
	CHECK_ERR(sys(SYS_arch_prctl, 0x1002, KERNEL, 0, 0, 0, 0), EPERM);
	CHECK_ERR(sys(SYS_arch_prctl, 0x1003, KERNEL, 0, 0, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_arch_prctl, 0x1001, 0, 0, 0, 0, 0), EINVAL);
	printf("c_hostile: memory calls ok\n");
}

static void
signals(void)
{
	struct sigaction act = { .sa_handler = SIG_IGN };

	CHECK_ERR(sys(SYS_rt_sigaction, SIGINT, 0, 0, 4, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_rt_sigaction, 0, 0, 0, 8, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_rt_sigaction, 65, 0, 0, 8, 0, 0), EINVAL);
	CHECK_ERR(sigaction(SIGKILL, &act, NULL), EINVAL);
	CHECK_ERR(sys(SYS_rt_sigaction, SIGINT, KERNEL, 0, 8, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_rt_sigaction, SIGINT, 0, KERNEL, 8, 0, 0), EFAULT);
	CHECK_ERR(sys(SYS_rt_sigprocmask, 7, (long)&act.sa_mask, 0, 8, 0, 0),
	    EINVAL);
	CHECK_ERR(sys(SYS_sigaltstack, KERNEL, 0, 0, 0, 0, 0), EFAULT);
	stack_t small = { .ss_sp = &act, .ss_size = 100 };
	CHECK_ERR(sigaltstack(&small, NULL), ENOMEM);
	/* As on Linux: init, with no handler, ignores it (root may send it). */
	CHECK(kill(1, SIGTERM) == 0);
	CHECK_ERR(kill(99999, 0), ESRCH);
	CHECK_ERR(sys(SYS_tgkill, getpid(), 99999, SIGTERM, 0, 0, 0), ESRCH);
	CHECK_ERR(sys(SYS_tkill, 0, SIGTERM, 0, 0, 0, 0), EINVAL);
	CHECK_ERR(sys(SYS_tkill, gettid(), 99, 0, 0, 0, 0), EINVAL);
	CHECK(kill(getpid(), 0) == 0);
	CHECK(raise(SIGCHLD) == 0);
	printf("c_hostile: signal calls ok\n");
}

int
main(void)
{
	clones();
	futexes();
	memory();
	signals();
	/* keyctl: a call this kernel does not have (one log line). */
	CHECK_ERR(sys(SYS_keyctl, 0, 0, 0, 0, 0, 0), ENOSYS);
	CHECK_ERR(sys(600, 0, 0, 0, 0, 0, 0), ENOSYS);
	CHECK_ERR(sys(SYS_wait4, -1, 0, 0, 0, 0, 0), ECHILD);
	CHECK_ERR(sys(SYS_wait4, -1, 0, WNOHANG, 0, 0, 0), ECHILD);
	CHECK_ERR(sys(SYS_wait4, -1, 0, 0x40, 0, 0, 0), EINVAL);
	printf("c_hostile: done\n");
	return (0);
}
