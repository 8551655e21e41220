/*
 * CPU time as C programs measure it: clock(), the CPU-time clocks of the
 * process and the thread, getrusage (self, thread, children), times(),
 * and wait4's rusage. CPU time is sampled here (each 10 ms timer tick is
 * charged to the thread it finds running), so the checks are orderings
 * and sums, never amounts of time.
 */
#include <ctest.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { TICK_NS = 10000000 };

static int64_t
ns_of(clockid_t clock)
{
	struct timespec ts;
	CHECK(clock_gettime(clock, &ts) == 0);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static int64_t
ns_of_timeval(struct timeval tv)
{
	return ((int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000);
}

/* Spins until `clock` has advanced by `ticks` timer ticks (failing if
 * that takes more than 20 s of monotonic time). */
static void
spin(clockid_t clock, int ticks)
{
	int64_t start = ns_of(clock), wall = ns_of(CLOCK_MONOTONIC);
	while (ns_of(clock) - start < (int64_t)ticks * TICK_NS)
		CHECK(ns_of(CLOCK_MONOTONIC) - wall < 20000000000LL);
}

static void
busy_and_idle(void)
{
	clock_t c0 = clock();
	CHECK(c0 != (clock_t)-1);
	int64_t wall = ns_of(CLOCK_MONOTONIC);
	spin(CLOCK_PROCESS_CPUTIME_ID, 3);
	clock_t c1 = clock();
	int64_t spent = ns_of(CLOCK_MONOTONIC) - wall;
	CHECK(c1 - c0 >= 3 * CLOCKS_PER_SEC / 100);
	/* CPU time never runs ahead of the time that passed (a tick of
	 * slack: the one charged as the spin began). */
	CHECK((int64_t)(c1 - c0) * (1000000000 / CLOCKS_PER_SEC) <= spent + TICK_NS);
	int64_t before = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	struct timespec nap = { 0, 200000000 };
	CHECK(nanosleep(&nap, NULL) == 0);
	/* Asleep for 20 ticks, it was charged at most a few. */
	CHECK(ns_of(CLOCK_PROCESS_CPUTIME_ID) - before <= 3 * TICK_NS);
	struct timespec res;
	CHECK(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0 && res.tv_nsec == TICK_NS);
	CHECK(clock_getres(CLOCK_THREAD_CPUTIME_ID, &res) == 0 && res.tv_nsec == TICK_NS);
	printf("c_cputime: clock() counts a busy loop, not a sleep ok\n");
}

static void *
thread_spins(void *arg)
{
	spin(CLOCK_THREAD_CPUTIME_ID, 2);
	*(int64_t *)arg = ns_of(CLOCK_THREAD_CPUTIME_ID);
	return (NULL);
}

static void
threads(void)
{
	int64_t start = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	int64_t t1 = 0, t2 = 0;
	pthread_t a, b;
	CHECK(pthread_create(&a, NULL, thread_spins, &t1) == 0);
	CHECK(pthread_create(&b, NULL, thread_spins, &t2) == 0);
	CHECK(pthread_join(a, NULL) == 0 && pthread_join(b, NULL) == 0);
	CHECK(t1 >= 2 * TICK_NS && t2 >= 2 * TICK_NS);
	/* The process's time is all its threads'. */
	CHECK(ns_of(CLOCK_PROCESS_CPUTIME_ID) - start >= t1 + t2);
	int64_t mine = ns_of(CLOCK_THREAD_CPUTIME_ID);
	struct rusage ru;
	CHECK(getrusage(RUSAGE_THREAD, &ru) == 0);
	int64_t again = ns_of(CLOCK_THREAD_CPUTIME_ID);
	CHECK(mine <= ns_of_timeval(ru.ru_utime) && ns_of_timeval(ru.ru_utime) <= again);
	int64_t self0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
	int64_t self1 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(self0 <= ns_of_timeval(ru.ru_utime) && ns_of_timeval(ru.ru_utime) <= self1);
	CHECK(ru.ru_stime.tv_sec == 0 && ru.ru_stime.tv_usec == 0);
	printf("c_cputime: threads' CPU time adds up in the process's ok\n");
}

static void
children(void)
{
	struct rusage before;
	CHECK(getrusage(RUSAGE_CHILDREN, &before) == 0);
	CHECK(ns_of_timeval(before.ru_utime) == 0);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		CHECK(ns_of(CLOCK_PROCESS_CPUTIME_ID) <= TICK_NS);
		spin(CLOCK_PROCESS_CPUTIME_ID, 3);
		_exit(0);
	}
	int status;
	struct rusage ru;
	CHECK(wait4(child, &status, 0, &ru) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(ns_of_timeval(ru.ru_utime) >= 3 * TICK_NS);
	struct rusage after;
	CHECK(getrusage(RUSAGE_CHILDREN, &after) == 0);
	CHECK(ns_of_timeval(after.ru_utime) == ns_of_timeval(ru.ru_utime));
	struct tms t;
	clock_t now = times(&t);
	CHECK(now != (clock_t)-1 && now > 0);
	long hz = sysconf(_SC_CLK_TCK);
	CHECK(hz == 100);
	CHECK((int64_t)t.tms_cutime * (1000000000 / hz) == ns_of_timeval(ru.ru_utime));
	CHECK(t.tms_utime > 0 && t.tms_stime == 0 && t.tms_cstime == 0);
	CHECK(times(NULL) >= now);
	printf("c_cputime: children's time through wait4, getrusage and times ok\n");
}

static void
errors(void)
{
	struct rusage ru;
	struct timespec ts = { 0, 1 };
	CHECK_ERR(getrusage(5, &ru), EINVAL);
	CHECK_ERR(getrusage(RUSAGE_SELF, (struct rusage *)8), EFAULT);
	CHECK_ERR(syscall(SYS_times, (void *)8), EFAULT);
	CHECK(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ts, NULL) == EINVAL);
	CHECK(clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &ts, NULL) == ENOTSUP);
	/* A process's CPU clock by pid (clock_getcpuclockid's ids) is not
	 * kept, not even its own. */
	clockid_t other = (clockid_t)((-getpid() - 1) * 8U + 2);
	CHECK_ERR(clock_gettime(other, &ts), EINVAL);
	CHECK_ERR(clock_getres(other, &ts), EINVAL);
	printf("c_cputime: Linux's errors ok\n");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	busy_and_idle();
	threads();
	children();
	errors();
	printf("c_cputime: done\n");
	return (0);
}
