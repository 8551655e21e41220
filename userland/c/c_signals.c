/*
 * Signal handlers as OS-course exercises use them, through musl: a
 * SIGUSR1/SIGUSR2 ping-pong between parent and child with sigsuspend
 * (siginfo names the sender), alarm and setitimer interrupting a blocking
 * pipe read (EINTR, or restarted with SA_RESTART), pause, nanosleep's
 * time left, wait4 restarted, a SIGCHLD handler, a SIGSEGV handler that
 * siglongjmps out of a fault or fixes the page and returns, a stack
 * overflow caught on the alternate stack, deferred and nested signals
 * with masks, sigpending, SA_NODEFER, SA_RESETHAND, the FPU registers
 * and a busy loop's registers kept across handlers, musl's setuid
 * with a second thread alive (it signals that thread), sigwait,
 * sigwaitinfo and sigtimedwait (in a thread, from another process,
 * timeouts, polls, interrupted), and what execve keeps (run as
 * "c_signals exec", the new image checks it).
 */
#include <ctest.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got[65];
static volatile pid_t sender;
static volatile int code;

static void
count(int sig)
{
	got[sig]++;
}

static void
with_info(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	got[sig]++;
	sender = info->si_pid;
	code = info->si_code;
}

static void
on(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void
on_info(int sig, void (*handler)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO | flags };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void
reset(void)
{
	memset((void *)got, 0, sizeof got);
}

enum { ROUNDS = 50 };

static void
ping_pong(void)
{
	sigset_t both, none;
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	sigemptyset(&none);
	CHECK(sigprocmask(SIG_BLOCK, &both, NULL) == 0);
	on_info(SIGUSR1, with_info, 0);
	on_info(SIGUSR2, with_info, 0);
	reset();
	pid_t parent = getpid();
	fflush(stdout);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		for (int i = 1; i <= ROUNDS; i++) {
			while (got[SIGUSR1] < i)
				CHECK_ERR(sigsuspend(&none), EINTR);
			CHECK(sender == parent && code == SI_USER);
			CHECK(kill(parent, SIGUSR2) == 0);
		}
		_exit(0);
	}
	for (int i = 1; i <= ROUNDS; i++) {
		CHECK(kill(child, SIGUSR1) == 0);
		while (got[SIGUSR2] < i)
			CHECK_ERR(sigsuspend(&none), EINTR);
		CHECK(sender == child && code == SI_USER);
	}
	int status;
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(got[SIGUSR2] == ROUNDS && got[SIGUSR1] == 0);
	CHECK(sigprocmask(SIG_UNBLOCK, &both, NULL) == 0);
	printf("c_signals: SIGUSR1/SIGUSR2 ping-pong with sigsuspend ok\n");
}

static int pipe_in = -1;
/*
 * The alarm that interrupts a blocking call fires again every 20 ms (its
 * handler re-arms it) until the call is over: the call is interrupted even
 * when the first alarm comes before it blocks, so no test here depends on
 * how fast the machine runs. write_at names the delivery that writes a
 * byte into the pipe (0: none).
 */
static volatile sig_atomic_t rearm, write_at;

static void
set_timer(long usec)
{
	struct itimerval it = { .it_value = { usec / 1000000, usec % 1000000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static void
alarm_again(int sig)
{
	got[sig]++;
	if (got[sig] == write_at)
		CHECK(write(pipe_in, "h", 1) == 1);
	if (rearm)
		set_timer(20000);
}

/* Makes alarm_again (with `flags`) the handler of the alarm, which
 * `first` microseconds from now (0: alarm(1), a second) fires for the first
 * time. */
static void
start_alarm(int flags, int write_on, long first)
{
	reset();
	rearm = 1;
	write_at = write_on;
	on(SIGALRM, alarm_again, flags);
	if (first == 0)
		CHECK(alarm(1) == 0);
	else
		set_timer(first);
}

/* No alarm is delivered once this returns. */
static void
stop_alarm(void)
{
	rearm = 0;
	set_timer(0);
}

static void
interrupted_calls(void)
{
	int p[2];
	char c;
	CHECK(pipe(p) == 0);
	pipe_in = p[1];

	start_alarm(0, 0, 0);
	CHECK_ERR(read(p[0], &c, 1), EINTR);
	stop_alarm();
	CHECK(got[SIGALRM] >= 1);
	printf("c_signals: alarm interrupts a pipe read (EINTR) ok\n");

	/* The first delivery interrupts the read, the second writes. */
	start_alarm(SA_RESTART, 2, 20000);
	CHECK(read(p[0], &c, 1) == 1 && c == 'h');
	stop_alarm();
	CHECK(got[SIGALRM] >= 2);
	printf("c_signals: a pipe read restarted with SA_RESTART ok\n");

	start_alarm(0, 0, 20000);
	CHECK_ERR(pause(), EINTR);
	CHECK(got[SIGALRM] >= 1);
	struct timespec req = { 30, 0 }, rem = { 0, 0 };
	CHECK_ERR(nanosleep(&req, &rem), EINTR);
	stop_alarm();
	CHECK(rem.tv_sec < 30 && rem.tv_sec >= 20);
	printf("c_signals: pause and nanosleep interrupted ok\n");
	close(p[0]);
	close(p[1]);
}

static pid_t victim;

static void
kill_victim(int sig)
{
	got[sig]++;
	CHECK(kill(victim, SIGTERM) == 0);
}

static volatile pid_t chld_pid;
static volatile int chld_status, chld_code;

static void
on_child(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	got[sig]++;
	chld_pid = info->si_pid;
	chld_status = info->si_status;
	chld_code = info->si_code;
}

static pid_t
pauser(void)
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		for (;;)
			pause();
	}
	return (c);
}

static void
children(void)
{
	int status;
	reset();
	on(SIGALRM, kill_victim, SA_RESTART);
	victim = pauser();
	set_timer(100000);
	CHECK(waitpid(victim, &status, 0) == victim);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM && got[SIGALRM] == 1);
	victim = pauser();
	start_alarm(0, 0, 20000);
	CHECK_ERR(waitpid(victim, &status, 0), EINTR);
	stop_alarm();
	CHECK(kill(victim, SIGTERM) == 0);
	CHECK(waitpid(victim, &status, 0) == victim && WTERMSIG(status) == SIGTERM);
	printf("c_signals: wait4 restarted with SA_RESTART, else EINTR ok\n");

	on_info(SIGCHLD, on_child, 0);
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0)
		_exit(7);
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 7);
	CHECK(got[SIGCHLD] == 1 && chld_pid == c && chld_status == 7 && chld_code == CLD_EXITED);
	on(SIGCHLD, SIG_DFL, 0);
	printf("c_signals: a SIGCHLD handler ok\n");
}

static sigjmp_buf jump;
static void *volatile fault_addr;
static volatile int fault_code;
static char *volatile fix_page;

static void
on_segv(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	got[sig]++;
	fault_addr = info->si_addr;
	fault_code = info->si_code;
	if (fix_page != NULL) {
		CHECK(mprotect(fix_page, 4096, PROT_READ | PROT_WRITE) == 0);
		return;
	}
	siglongjmp(jump, 1);
}

/* Always true, though the compiler cannot know: the recursion below never
 * ends, and is meant not to. */
static volatile int deeper = 1;

static int
recurse(volatile char *prev)
{
	volatile char frame[512];
	frame[0] = prev != NULL ? prev[0] + 1 : 0;
	if (!deeper)
		return (frame[0]);
	return (recurse(frame) + frame[1]);
}

/* An address nothing is mapped at (the compiler cannot tell). */
static volatile uintptr_t unmapped = 16;

static void
faults(void)
{
	reset();
	on_info(SIGSEGV, on_segv, 0);
	if (sigsetjmp(jump, 1) == 0) {
		*(volatile int *)unmapped = 1;
		CHECK(0);
	}
	CHECK(got[SIGSEGV] == 1 && fault_addr == (void *)16 && fault_code == SEGV_MAPERR);
	sigset_t now;
	CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && !sigismember(&now, SIGSEGV));
	printf("c_signals: siglongjmp out of a SIGSEGV handler ok\n");

	char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	fix_page = page;
	page[100] = 42;
	CHECK(got[SIGSEGV] == 2 && fault_addr == page + 100 && fault_code == SEGV_ACCERR);
	CHECK(page[100] == 42);
	fix_page = NULL;
	munmap(page, 4096);
	printf("c_signals: a handler that fixes the page re-runs the write ok\n");

	static char alt[64 * 1024];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	CHECK(sigaltstack(&ss, NULL) == 0);
	on_info(SIGSEGV, on_segv, SA_ONSTACK);
	if (sigsetjmp(jump, 1) == 0) {
		recurse(NULL);
		CHECK(0);
	}
	CHECK(got[SIGSEGV] == 3 && fault_code == SEGV_MAPERR);
	on(SIGSEGV, SIG_DFL, 0);
	printf("c_signals: a stack overflow caught on the alternate stack ok\n");
}

static volatile char *volatile handler_local;
static volatile int on_alt, order[4], order_n, depth, max_depth;

static void
where(int sig, siginfo_t *info, void *ucv)
{
	(void)info;
	ucontext_t *uc = ucv;
	volatile char here;
	got[sig]++;
	handler_local = &here;
	on_alt = uc->uc_stack.ss_flags & SS_ONSTACK;
}

static void
first(int sig)
{
	order[order_n++] = sig;
	raise(SIGUSR2);
	order[order_n++] = -sig;
}

static void
second(int sig)
{
	order[order_n++] = sig;
}

static void
nested(int sig)
{
	got[sig]++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (got[sig] == 1)
		raise(sig);
	depth--;
}

static void
masks_and_stacks(void)
{
	static char alt[32 * 1024];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt }, old;
	CHECK(sigaltstack(&ss, NULL) == 0);
	reset();
	on_info(SIGUSR1, where, SA_ONSTACK);
	CHECK(raise(SIGUSR1) == 0);
	/* uc_stack tells where the interrupted code ran: not on it. */
	CHECK(got[SIGUSR1] == 1 && !on_alt);
	CHECK(handler_local >= alt && handler_local < alt + sizeof alt);
	on_info(SIGUSR1, where, 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(!(handler_local >= alt && handler_local < alt + sizeof alt));
	ss.ss_flags = SS_DISABLE;
	CHECK(sigaltstack(&ss, &old) == 0 && old.ss_sp == alt);
	printf("c_signals: a handler on the alternate stack ok\n");

	struct sigaction sa = { .sa_handler = first };
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	on(SIGUSR2, second, 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(order_n == 3 && order[0] == SIGUSR1 && order[1] == -SIGUSR1 && order[2] == SIGUSR2);

	sigset_t block, pending;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	reset();
	on(SIGUSR2, count, 0);
	CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
	CHECK(raise(SIGUSR2) == 0 && raise(SIGUSR2) == 0);
	CHECK(got[SIGUSR2] == 0);
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR2));
	CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
	CHECK(got[SIGUSR2] == 1);
	CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR2));
	printf("c_signals: deferred signals with masks and sigpending ok\n");

	reset();
	on(SIGUSR1, nested, 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(got[SIGUSR1] == 2 && max_depth == 1);
	reset();
	max_depth = 0;
	on(SIGUSR1, nested, SA_NODEFER);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(got[SIGUSR1] == 2 && max_depth == 2);
	printf("c_signals: SA_NODEFER nests, else the signal waits ok\n");

	reset();
	on(SIGUSR1, count, SA_RESETHAND);
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(raise(SIGUSR1) == 0 && got[SIGUSR1] == 1);
		raise(SIGUSR1);
		_exit(3);
	}
	int status;
	CHECK(waitpid(c, &status, 0) == c && WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1);
	printf("c_signals: SA_RESETHAND runs the handler once ok\n");
}

static void
clobber(int sig)
{
	got[sig]++;
	uint32_t mxcsr = 0x7f80;
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	__asm__ volatile(
	    "pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\t"
	    "pcmpeqd %%xmm7, %%xmm7\n\tpcmpeqd %%xmm8, %%xmm8\n\t"
	    "pcmpeqd %%xmm15, %%xmm15\n\tfninit\n\tfldpi\n\tfldpi"
	    ::: "xmm0", "xmm1", "xmm7", "xmm8", "xmm15", "st", "st(1)");
}

static volatile sig_atomic_t ticks;

static void
tick(int sig)
{
	(void)sig;
	ticks++;
}

static void
registers(void)
{
	reset();
	on(SIGUSR1, clobber, 0);
	uint64_t in[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL }, out[2];
	uint32_t mxcsr = 0x5f80, mxcsr_after = 0;
	long pid = getpid();
	__asm__ volatile(
	    "ldmxcsr %[mx]\n\t"
	    "movdqu %[in], %%xmm8\n\t"
	    "mov $62, %%eax\n\t"
	    "mov %[pid], %%rdi\n\t"
	    "mov $10, %%esi\n\t"
	    "syscall\n\t"
	    "movdqu %%xmm8, %[out]\n\t"
	    "stmxcsr %[after]"
	    : [out] "=m"(out), [after] "=m"(mxcsr_after)
	    : [in] "m"(in), [mx] "m"(mxcsr), [pid] "r"(pid)
	    : "rax", "rdi", "rsi", "rcx", "r11", "xmm8", "memory");
	CHECK(got[SIGUSR1] == 1);
	CHECK(out[0] == in[0] && out[1] == in[1] && mxcsr_after == mxcsr);
	uint32_t normal = 0x1f80;
	__asm__ volatile("ldmxcsr %0" : : "m"(normal));

	on(SIGALRM, tick, 0);
	struct itimerval it = { .it_value = { 0, 10000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	volatile double sum = 0;
	double x = 0;
	uint64_t n = 0;
	while (ticks == 0) {
		x += 0.5;
		n++;
	}
	sum = x;
	CHECK(sum == 0.5 * (double)n);
	printf("c_signals: registers and FPU state kept across handlers ok\n");
}

static void *
sleeper(void *arg)
{
	(void)arg;
	sleep(1);
	return (NULL);
}

/* musl's setuid with another thread alive signals it (SIGSYNCCALL) to
 * change its ids too: its handler has to run there. */
static void
setuid_with_threads(void)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
	CHECK(setuid(getuid()) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	printf("c_signals: setuid with another thread alive ok\n");
}

static volatile pid_t waited_pid;
static volatile int waited_code;

static void *
sigwait_thread(void *set)
{
	int sig = 0;
	CHECK(sigwait(set, &sig) == 0);
	return ((void *)(long)sig);
}

static void *
sigwaitinfo_thread(void *set)
{
	siginfo_t info;
	int sig = sigwaitinfo(set, &info);
	CHECK(sig > 0 && info.si_signo == sig);
	waited_pid = info.si_pid;
	waited_code = info.si_code;
	return ((void *)(long)sig);
}

static long
elapsed_ns(struct timespec from, struct timespec to)
{
	return ((to.tv_sec - from.tv_sec) * 1000000000L + (to.tv_nsec - from.tv_nsec));
}

/* The raw call: musl's sigtimedwait retries on EINTR. */
static long
raw_sigtimedwait(const void *set, void *info, const void *timeout, long size)
{
	return (syscall(SYS_rt_sigtimedwait, set, info, timeout, size));
}

/*
 * SIGUSR1 and SIGUSR2 keep their default action (the end of the process)
 * but every thread blocks them: they stay pending until taken. The
 * waiting threads usually block before the signal comes (the main thread
 * sleeps first); if not, they find it pending: either way the same.
 */
static void
waiting_for_signals(void)
{
	sigset_t usr1, usr2, both, only_kill, pending;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	on(SIGUSR1, SIG_DFL, 0);
	on(SIGUSR2, SIG_DFL, 0);
	CHECK(sigprocmask(SIG_BLOCK, &both, NULL) == 0);
	struct timespec a_while = { 0, 30000000 }, zero = { 0, 0 };
	struct timespec ms50 = { 0, 50000000 }, bad = { 0, 1000000000 };

	pthread_t t;
	void *sig;
	CHECK(pthread_create(&t, NULL, sigwait_thread, &usr1) == 0);
	nanosleep(&a_while, NULL);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(pthread_join(t, &sig) == 0 && (long)sig == SIGUSR1);
	CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR1));
	printf("c_signals: sigwait in a thread takes a signal every thread blocks ok\n");

	CHECK(pthread_create(&t, NULL, sigwaitinfo_thread, &usr2) == 0);
	nanosleep(&a_while, NULL);
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(kill(getppid(), SIGUSR2) == 0);
		_exit(0);
	}
	CHECK(pthread_join(t, &sig) == 0 && (long)sig == SIGUSR2);
	CHECK(waited_pid == c && waited_code == SI_USER);
	int status;
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("c_signals: sigwaitinfo names the sender in another process ok\n");

	struct timespec before, after;
	CHECK_ERR(sigtimedwait(&both, NULL, &zero), EAGAIN);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &before) == 0);
	CHECK_ERR(sigtimedwait(&both, NULL, &ms50), EAGAIN);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &after) == 0);
	CHECK(elapsed_ns(before, after) >= 50000000);
	printf("c_signals: sigtimedwait times out with EAGAIN, never early ok\n");

	siginfo_t info;
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1) &&
	    sigismember(&pending, SIGUSR2));
	/* The thread's own (raise: tkill) first, then the process's. */
	CHECK(sigtimedwait(&both, &info, &zero) == SIGUSR2 && info.si_code == SI_TKILL);
	CHECK(sigtimedwait(&both, &info, &zero) == SIGUSR1 && info.si_code == SI_USER &&
	    info.si_pid == getpid());
	CHECK_ERR(sigtimedwait(&both, NULL, &zero), EAGAIN);
	printf("c_signals: a {0, 0} poll takes what is pending, the thread's own first ok\n");

	start_alarm(0, 0, 20000);
	CHECK_ERR(raw_sigtimedwait(&usr1, NULL, NULL, 8), EINTR);
	stop_alarm();
	CHECK(got[SIGALRM] >= 1);
	printf("c_signals: a handled signal interrupts sigtimedwait (EINTR) ok\n");

	sigemptyset(&only_kill);
	sigaddset(&only_kill, SIGKILL);
	sigaddset(&only_kill, SIGSTOP);
	CHECK_ERR(sigtimedwait(&only_kill, NULL, &zero), EAGAIN);
	CHECK_ERR(raw_sigtimedwait(&usr1, NULL, &zero, 4), EINVAL);
	CHECK_ERR(raw_sigtimedwait(&usr1, NULL, &bad, 8), EINVAL);
	CHECK_ERR(raw_sigtimedwait((void *)8, NULL, &zero, 8), EFAULT);
	CHECK_ERR(raw_sigtimedwait(&usr1, NULL, (void *)8, 8), EFAULT);
	/* A bad siginfo_t is found before the signal is taken. */
	CHECK(raise(SIGUSR1) == 0);
	CHECK_ERR(raw_sigtimedwait(&usr1, (void *)8, &zero, 8), EFAULT);
	CHECK(raw_sigtimedwait(&usr1, NULL, &zero, 8) == SIGUSR1);
	CHECK(sigprocmask(SIG_UNBLOCK, &both, NULL) == 0);
	printf("c_signals: sigtimedwait's bad arguments ok\n");
}

/*
 * execve keeps the mask, pending signals and ignored signals; handlers
 * become SIG_DFL without their flags; the alternate stack goes. The child
 * sets all that up and runs "c_signals exec", which checks it.
 */
static void
exec_keeps(void)
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		static char alt[16 * 1024];
		stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
		CHECK(sigaltstack(&ss, NULL) == 0);
		on(SIGUSR1, SIG_IGN, 0);
		on(SIGCHLD, SIG_IGN, 0);
		on(SIGTERM, count, SA_RESTART | SA_ONSTACK);
		on(SIGUSR2, count, SA_RESTART);
		sigset_t block;
		sigemptyset(&block);
		sigaddset(&block, SIGUSR2);
		sigaddset(&block, SIGINT);
		CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
		CHECK(kill(getpid(), SIGUSR2) == 0);
		CHECK(raise(SIGINT) == 0);
		execl("/bin/c_signals", "c_signals", "exec", (char *)NULL);
		CHECK(0);
	}
	int status;
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("c_signals: execve keeps the mask, pending and ignored signals ok\n");
}

/* The image exec_keeps runs. */
static int
exec_image(void)
{
	struct sigaction sa;
	CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN);
	CHECK(sigaction(SIGCHLD, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN);
	CHECK(sigaction(SIGTERM, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
	CHECK((sa.sa_flags & (SA_RESTART | SA_ONSTACK)) == 0);
	CHECK(sigaction(SIGUSR2, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
	sigset_t mask, pending, both;
	CHECK(sigprocmask(SIG_BLOCK, NULL, &mask) == 0);
	CHECK(sigismember(&mask, SIGUSR2) && sigismember(&mask, SIGINT));
	CHECK(!sigismember(&mask, SIGUSR1) && !sigismember(&mask, SIGTERM));
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR2) &&
	    sigismember(&pending, SIGINT));
	stack_t ss;
	CHECK(sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE));
	CHECK(raise(SIGUSR1) == 0);
	struct timespec zero = { 0, 0 };
	siginfo_t info;
	sigemptyset(&both);
	sigaddset(&both, SIGUSR2);
	sigaddset(&both, SIGINT);
	CHECK(sigtimedwait(&both, &info, &zero) == SIGINT && info.si_code == SI_TKILL);
	CHECK(sigtimedwait(&both, &info, &zero) == SIGUSR2 && info.si_code == SI_USER);
	CHECK(info.si_pid == getpid());
	printf("c_signals exec: ignored stays ignored, handlers reset, mask and pending kept ok\n");
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "exec") == 0)
		return (exec_image());
	ping_pong();
	interrupted_calls();
	children();
	faults();
	masks_and_stacks();
	registers();
	setuid_with_threads();
	waiting_for_signals();
	exec_keeps();
	printf("c_signals: done\n");
	return (0);
}
