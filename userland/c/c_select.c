/*
 * select, pselect and ppoll, through musl and as raw system calls (musl
 * passes copies of the timeouts, so the kernel's write-back of the time
 * left, and its own EINVAL, are seen only raw): a pipe becoming readable
 * when a child writes to it, writable ends, end of file and broken pipes,
 * timeouts expiring with the time left written back as 0, EBADF, EINVAL,
 * EFAULT, and the signal masks of pselect and ppoll: a signal the thread
 * blocks interrupts the wait when the wait's mask lets it through (EINTR,
 * the handler having run), and stays pending when a descriptor is ready
 * first; the thread's own mask is back afterwards either way.
 */
#include <ctest.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void
on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static long
raw_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	return (syscall(SYS_select, n, r, w, e, tv));
}

static long
raw_pselect6(int n, fd_set *r, fd_set *w, fd_set *e, struct timespec *ts,
    const sigset_t *mask, long size)
{
	uintptr_t pack[2] = { (uintptr_t)mask, (uintptr_t)size };
	return (syscall(SYS_pselect6, n, r, w, e, ts, pack));
}

static long
raw_ppoll(struct pollfd *fds, long n, struct timespec *ts, const sigset_t *mask,
    long size)
{
	return (syscall(SYS_ppoll, fds, n, ts, mask, size));
}

/* Forks a child that sleeps a short while before going on: 0 in the
 * child, its pid in the parent. */
static pid_t
napping_child(void)
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		struct timespec nap = { 0, 30 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	return (c);
}

/* A child that writes one byte to `fd` after a short sleep, then exits. */
static pid_t
late_writer(int fd)
{
	pid_t c = napping_child();
	if (c == 0) {
		CHECK(write(fd, "x", 1) == 1);
		_exit(0);
	}
	return (c);
}

/* A child that sends SIGUSR1 to its parent after a short sleep. */
static pid_t
late_signal(void)
{
	pid_t parent = getpid();
	pid_t c = napping_child();
	if (c == 0) {
		CHECK(kill(parent, SIGUSR1) == 0);
		_exit(0);
	}
	return (c);
}

static void
reap(pid_t c)
{
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
selects(void)
{
	fd_set r, w, e;
	int p[2], eof[2], broken[2];
	CHECK(pipe(p) == 0 && pipe(eof) == 0 && pipe(broken) == 0);

	/* A pipe becoming readable, no timeout. */
	pid_t c = late_writer(p[1]);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK(select(p[0] + 1, &r, NULL, NULL, NULL) == 1 && FD_ISSET(p[0], &r));
	reap(c);
	char byte;
	CHECK(read(p[0], &byte, 1) == 1);

	/* Again with a generous timeout: the time left comes back. */
	c = late_writer(p[1]);
	struct timeval tv = { 30, 0 };
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK(raw_select(p[0] + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &r));
	CHECK(tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	CHECK(tv.tv_sec < 30 || (tv.tv_sec == 30 && tv.tv_usec == 0));
	reap(c);
	CHECK(read(p[0], &byte, 1) == 1);

	/* The empty pipe's write end is writable, its read end not, and
	 * nothing is exceptional. */
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[0], &e);
	FD_SET(p[1], &e);
	FD_SET(0, &e);
	struct timeval zero = { 0, 0 };
	CHECK(select(p[1] + 1, &r, &w, &e, &zero) == 1);
	CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w));
	CHECK(!FD_ISSET(p[0], &e) && !FD_ISSET(p[1], &e) && !FD_ISSET(0, &e));

	/* Expiry: 0, every set cleared, no time left. */
	tv = (struct timeval){ 0, 20000 };
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK(raw_select(p[0] + 1, &r, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &r));
	CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);
	tv = (struct timeval){ 0, 20000 };
	CHECK(raw_select(0, NULL, NULL, NULL, &tv) == 0);
	CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);
	/* As Linux: microseconds beyond a second count as seconds. */
	tv = (struct timeval){ -1, 1000000 };
	CHECK(raw_select(0, NULL, NULL, NULL, &tv) == 0);

	/* End of file is readable; a pipe without readers is writable. */
	close(eof[1]);
	FD_ZERO(&r);
	FD_SET(eof[0], &r);
	CHECK(select(eof[0] + 1, &r, NULL, NULL, NULL) == 1 && FD_ISSET(eof[0], &r));
	close(eof[0]);
	close(broken[0]);
	FD_ZERO(&w);
	FD_SET(broken[1], &w);
	CHECK(select(broken[1] + 1, NULL, &w, NULL, NULL) == 1 && FD_ISSET(broken[1], &w));
	close(broken[1]);

	/* Errors. */
	FD_ZERO(&r);
	FD_SET(100, &r);
	CHECK_ERR(select(101, &r, NULL, NULL, &zero), EBADF);
	FD_ZERO(&r);
	FD_SET(eof[0], &r);
	CHECK_ERR(select(eof[0] + 1, &r, NULL, NULL, NULL), EBADF);
	CHECK_ERR(raw_select(-1, NULL, NULL, NULL, &zero), EINVAL);
	CHECK_ERR(raw_select(1025, NULL, NULL, NULL, &zero), EINVAL);
	tv = (struct timeval){ -1, 0 };
	CHECK_ERR(raw_select(0, NULL, NULL, NULL, &tv), EINVAL);
	tv = (struct timeval){ 0, -1 };
	CHECK_ERR(raw_select(0, NULL, NULL, NULL, &tv), EINVAL);
	CHECK_ERR(raw_select(1, (fd_set *)8, NULL, NULL, &zero), EFAULT);
	CHECK_ERR(raw_select(0, NULL, NULL, NULL, (struct timeval *)8), EFAULT);
	/* A set past nfds's words is not read. */
	CHECK(raw_select(0, (fd_set *)8, NULL, NULL, &zero) == 0);
	close(p[0]);
	close(p[1]);
	printf("c_select: select on pipes, timeouts, time left, errors ok\n");
}

static void
masked_waits(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	sigset_t usr1, empty, now, pending;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&empty);
	CHECK(sigprocmask(SIG_BLOCK, &usr1, NULL) == 0);
	/* Made after selects() closed its pipes: their numbers again. */
	int p[2];
	CHECK(pipe(p) == 0 && p[0] == 3 && p[1] == 4);
	fd_set r;

	/* pselect: a pending blocked signal interrupts a wait that unblocks it. */
	CHECK(raise(SIGUSR1) == 0 && handled == 0);
	struct timespec ts = { 30, 0 };
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK_ERR(pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty), EINTR);
	CHECK(handled == 1);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGUSR1));

	/* A signal sent while it waits. */
	pid_t c = late_signal();
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK_ERR(pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty), EINTR);
	CHECK(handled == 2);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGUSR1));
	reap(c);

	/* A ready descriptor first: the signal stays pending, unhandled. */
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(raise(SIGUSR1) == 0);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK(pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty) == 1 && FD_ISSET(p[0], &r));
	CHECK(handled == 2);
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1));

	/* ppoll: the same with the pending signal and a ready pipe... */
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	CHECK(ppoll(&pfd, 1, &ts, &empty) == 1 && pfd.revents == POLLIN);
	CHECK(handled == 2);
	char byte;
	CHECK(read(p[0], &byte, 1) == 1);
	/* ...then nothing ready: the pending signal interrupts it. */
	CHECK_ERR(ppoll(&pfd, 1, &ts, &empty), EINTR);
	CHECK(handled == 3);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGUSR1));
	c = late_signal();
	CHECK_ERR(ppoll(&pfd, 1, NULL, &empty), EINTR);
	CHECK(handled == 4);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGUSR1));
	reap(c);
	CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR1));

	/* Without a mask the blocked signal stays blocked: the wait expires. */
	CHECK(raise(SIGUSR1) == 0);
	struct timespec short_ts = { 0, 20 * 1000 * 1000 };
	CHECK(raw_ppoll(&pfd, 1, &short_ts, NULL, 8) == 0 && pfd.revents == 0);
	CHECK(short_ts.tv_sec == 0 && short_ts.tv_nsec == 0);
	short_ts = (struct timespec){ 0, 20 * 1000 * 1000 };
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK(raw_pselect6(p[0] + 1, &r, NULL, NULL, &short_ts, NULL, 8) == 0);
	CHECK(!FD_ISSET(p[0], &r) && short_ts.tv_sec == 0 && short_ts.tv_nsec == 0);
	CHECK(handled == 4);

	/* Errors. */
	ts = (struct timespec){ 0, 0 };
	CHECK_ERR(raw_ppoll(&pfd, 1, &ts, &empty, 4), EINVAL);
	CHECK_ERR(raw_pselect6(0, NULL, NULL, NULL, &ts, &empty, 4), EINVAL);
	ts = (struct timespec){ 0, 1000000000 };
	CHECK_ERR(raw_ppoll(&pfd, 1, &ts, NULL, 8), EINVAL);
	CHECK_ERR(raw_pselect6(0, NULL, NULL, NULL, &ts, NULL, 8), EINVAL);
	ts = (struct timespec){ -1, 0 };
	CHECK_ERR(raw_ppoll(&pfd, 1, &ts, NULL, 8), EINVAL);
	ts = (struct timespec){ 0, 0 };
	CHECK_ERR(raw_ppoll(&pfd, 1, &ts, (sigset_t *)8, 8), EFAULT);
	CHECK_ERR(raw_ppoll((struct pollfd *)8, 1, &ts, NULL, 8), EFAULT);
	CHECK_ERR(raw_pselect6(0, NULL, NULL, NULL, &ts, (sigset_t *)8, 8), EFAULT);
	CHECK_ERR(syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, (void *)8), EFAULT);
	CHECK(handled == 4);

	/* The signal still pending comes once unblocked. */
	CHECK(sigprocmask(SIG_UNBLOCK, &usr1, NULL) == 0);
	CHECK(handled == 5);
	close(p[0]);
	close(p[1]);
	printf("c_select: pselect and ppoll masks, time left, errors ok\n");
}

int
main(void)
{
	selects();
	masked_waits();
	printf("c_select: ok\n");
	return (0);
}
