/*
 * Real-time signals queue, as POSIX and Linux have them: sigqueue's
 * values arrive one instance each, in order, with SI_QUEUE and the
 * sender; lower signals go first; a standard signal sent twice while
 * blocked arrives once; kill queues real-time signals too; another
 * process's values and a thread's (rt_tgsigqueueinfo); the system's
 * bound (EAGAIN, kill then loses the instance, a discard makes room); and
 * Linux's errors.
 */
#include <ctest.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { LOG = 64 };

static volatile int logged;
static volatile int log_sig[LOG];
static volatile int log_value[LOG];
static volatile int log_code[LOG];
static volatile pid_t log_pid[LOG];

static void
record(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	if (logged < LOG) {
		log_sig[logged] = sig;
		log_value[logged] = info->si_value.sival_int;
		log_code[logged] = info->si_code;
		log_pid[logged] = info->si_pid;
		logged++;
	}
}

static void
on_info(int sig)
{
	struct sigaction sa = { .sa_sigaction = record, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void
block(int sig, int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	CHECK(sigprocmask(how, &set, NULL) == 0);
}

static void
queue(pid_t pid, int sig, int value)
{
	CHECK(sigqueue(pid, sig, (union sigval){ .sival_int = value }) == 0);
}

/* Takes a pending instance of blocked signal `sig` (sigwaitinfo): its value. */
static int
take(int sig, pid_t from)
{
	sigset_t set;
	siginfo_t info;
	sigemptyset(&set);
	sigaddset(&set, sig);
	CHECK(sigwaitinfo(&set, &info) == sig);
	CHECK(info.si_code == SI_QUEUE);
	CHECK(info.si_pid == from);
	CHECK(info.si_uid == getuid());
	return (info.si_value.sival_int);
}

static int
is_pending(int sig)
{
	sigset_t set;
	CHECK(sigpending(&set) == 0);
	return (sigismember(&set, sig));
}

static void
instances_in_order(void)
{
	int rt = SIGRTMIN + 1;
	block(rt, SIG_BLOCK);
	block(rt + 1, SIG_BLOCK);
	block(SIGUSR1, SIG_BLOCK);
	queue(getpid(), rt + 1, 20);
	queue(getpid(), rt, 10);
	queue(getpid(), rt + 1, 21);
	queue(getpid(), rt, 11);
	queue(getpid(), rt, 12);
	queue(getpid(), SIGUSR1, 1);
	queue(getpid(), SIGUSR1, 2);
	CHECK(is_pending(rt) && is_pending(rt + 1) && is_pending(SIGUSR1));
	/* The standard signal once (its first value), then the lower real-time
	 * signal's instances, then the higher's, each oldest first. */
	int sigs[] = { SIGUSR1, rt, rt, rt, rt + 1, rt + 1 };
	int values[] = { 1, 10, 11, 12, 20, 21 };
	sigset_t all;
	sigemptyset(&all);
	sigaddset(&all, rt);
	sigaddset(&all, rt + 1);
	sigaddset(&all, SIGUSR1);
	for (int i = 0; i < 6; i++) {
		siginfo_t info;
		CHECK(sigwaitinfo(&all, &info) == sigs[i]);
		CHECK(info.si_value.sival_int == values[i]);
		CHECK(info.si_code == SI_QUEUE);
		CHECK(info.si_pid == getpid());
	}
	CHECK(!is_pending(rt) && !is_pending(rt + 1) && !is_pending(SIGUSR1));
	printf("c_sigqueue: each instance once, in Linux's order, with its value ok\n");

	/* A handler takes the instances one by one, as its mask lets them. */
	on_info(rt);
	queue(getpid(), rt, 1);
	queue(getpid(), rt, 2);
	queue(getpid(), rt, 3);
	CHECK(logged == 0);
	block(rt, SIG_UNBLOCK);
	CHECK(logged == 3);
	for (int i = 0; i < 3; i++)
		CHECK(log_sig[i] == rt && log_value[i] == i + 1 && log_code[i] == SI_QUEUE);
	printf("c_sigqueue: a handler runs once per instance, oldest first ok\n");

	logged = 0;
	block(rt, SIG_BLOCK);
	CHECK(kill(getpid(), rt) == 0);
	CHECK(kill(getpid(), rt) == 0);
	queue(getpid(), rt, 7);
	block(rt, SIG_UNBLOCK);
	CHECK(logged == 3);
	CHECK(log_code[0] == SI_USER && log_code[1] == SI_USER);
	CHECK(log_code[2] == SI_QUEUE && log_value[2] == 7);
	block(rt + 1, SIG_UNBLOCK);
	block(SIGUSR1, SIG_UNBLOCK);
	printf("c_sigqueue: kill queues a real-time signal too ok\n");
}

static void
from_another_process(void)
{
	int rt = SIGRTMIN;
	int ready[2];
	CHECK(pipe(ready) == 0);
	block(rt, SIG_BLOCK);
	pid_t parent = getpid();
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		/* The mask is inherited: nothing is lost before sigwaitinfo. */
		CHECK(write(ready[1], "r", 1) == 1);
		for (int i = 0; i < 5; i++)
			CHECK(take(rt, parent) == 100 + i);
		_exit(0);
	}
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	for (int i = 0; i < 5; i++)
		queue(child, rt, 100 + i);
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(ready[1]);
	block(rt, SIG_UNBLOCK);
	printf("c_sigqueue: another process's values arrive in order ok\n");
}

struct waiter {
	int sig;
	pid_t tid;
	int values[3];
	int ready[2];
};

static void *
thread_waits(void *arg)
{
	struct waiter *w = arg;
	w->tid = gettid();
	CHECK(write(w->ready[1], "r", 1) == 1);
	for (int i = 0; i < 3; i++)
		w->values[i] = take(w->sig, getpid());
	return (NULL);
}

static long
tgsigqueue(pid_t tgid, pid_t tid, int sig, int code, int value)
{
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = sig;
	info.si_code = code;
	info.si_pid = getpid();
	info.si_uid = getuid();
	info.si_value.sival_int = value;
	return (syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, &info));
}

static long
rawqueue(pid_t pid, int sig, int code, void *at)
{
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = sig;
	info.si_code = code;
	return (syscall(SYS_rt_sigqueueinfo, pid, sig, at ? at : &info));
}

static void
to_a_thread(void)
{
	struct waiter w = { .sig = SIGRTMIN + 3 };
	CHECK(pipe(w.ready) == 0);
	/* Every thread blocks it: only the thread it is sent to takes it. */
	block(w.sig, SIG_BLOCK);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, thread_waits, &w) == 0);
	char c;
	CHECK(read(w.ready[0], &c, 1) == 1);
	for (int i = 0; i < 3; i++)
		CHECK(tgsigqueue(getpid(), w.tid, w.sig, SI_QUEUE, 30 + i) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(w.values[0] == 30 && w.values[1] == 31 && w.values[2] == 32);
	CHECK(!is_pending(w.sig));
	CHECK_ERR(tgsigqueue(getpid(), 0, w.sig, SI_QUEUE, 0), EINVAL);
	CHECK_ERR(tgsigqueue(0, gettid(), w.sig, SI_QUEUE, 0), EINVAL);
	CHECK_ERR(tgsigqueue(getpid(), w.tid, w.sig, SI_QUEUE, 0), ESRCH);
	CHECK_ERR(tgsigqueue(1, 1, w.sig, SI_USER, 0), EPERM);
	block(w.sig, SIG_UNBLOCK);
	close(w.ready[0]);
	close(w.ready[1]);
	printf("c_sigqueue: rt_tgsigqueueinfo to a thread ok\n");
}

static void
the_bound(void)
{
	int rt = SIGRTMAX;
	block(rt, SIG_BLOCK);
	/* The bound is the system's: this program is the only one queueing. */
	int sent = 0;
	for (;;) {
		int r = sigqueue(getpid(), rt, (union sigval){ .sival_int = sent });
		if (r != 0) {
			CHECK(errno == EAGAIN);
			break;
		}
		sent++;
		CHECK(sent <= 100000);
	}
	CHECK(sent > 1);
	/* kill still succeeds: the instance merges (its info is lost). */
	CHECK(kill(getpid(), rt) == 0);
	for (int i = 0; i < sent; i++)
		CHECK(take(rt, getpid()) == i);
	CHECK(!is_pending(rt));
	queue(getpid(), rt, 1);
	queue(getpid(), rt, 2);
	printf("c_sigqueue: %d instances queue, then EAGAIN; kill then merges ok\n", sent);

	/* Ignoring it discards every instance: the room comes back. */
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	CHECK(sigaction(rt, &ignore, NULL) == 0);
	CHECK(!is_pending(rt));
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	CHECK(sigaction(rt, &dfl, NULL) == 0);
	for (int i = 0; i < sent; i++)
		queue(getpid(), rt, i);
	CHECK_ERR(sigqueue(getpid(), rt, (union sigval){ 0 }), EAGAIN);
	CHECK(sigaction(rt, &ignore, NULL) == 0);
	CHECK(sigaction(rt, &dfl, NULL) == 0);
	block(rt, SIG_UNBLOCK);
	printf("c_sigqueue: a discarded signal's instances make room ok\n");
}

static void
errors(void)
{
	CHECK_ERR(sigqueue(getpid(), 65, (union sigval){ 0 }), EINVAL);
	CHECK_ERR(sigqueue(0, SIGRTMIN, (union sigval){ 0 }), ESRCH);
	CHECK_ERR(sigqueue(-1, SIGRTMIN, (union sigval){ 0 }), ESRCH);
	CHECK_ERR(sigqueue(999999, SIGRTMIN, (union sigval){ 0 }), ESRCH);
	CHECK(sigqueue(getpid(), 0, (union sigval){ 0 }) == 0);
	/* Passing for kill or the kernel: only to oneself. */
	CHECK_ERR(rawqueue(1, SIGRTMIN, SI_USER, NULL), EPERM);
	CHECK_ERR(rawqueue(1, SIGRTMIN, SI_TKILL, NULL), EPERM);
	CHECK_ERR(rawqueue(1, SIGRTMIN, 0x80, NULL), EPERM);
	block(SIGRTMIN, SIG_BLOCK);
	CHECK(rawqueue(getpid(), SIGRTMIN, SI_USER, NULL) == 0);
	sigset_t set;
	siginfo_t info;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	CHECK(sigwaitinfo(&set, &info) == SIGRTMIN && info.si_code == SI_USER);
	block(SIGRTMIN, SIG_UNBLOCK);
	CHECK_ERR(rawqueue(getpid(), SIGRTMIN, SI_QUEUE, (void *)8), EFAULT);
	CHECK_ERR(rawqueue(getpid(), SIGRTMIN, SI_QUEUE, (void *)0xffff800000000000), EFAULT);
	printf("c_sigqueue: Linux's errors ok\n");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	instances_in_order();
	from_another_process();
	to_a_thread();
	the_bound();
	errors();
	printf("c_sigqueue: done\n");
	return (0);
}
