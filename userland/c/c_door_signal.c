/*
 * Signals to a door server parked in door_return, as on illumos: the
 * server (a child process whose only thread, its main one, serves its
 * door from door_return(NULL, 0, NULL, 0), as a ported daemon's does)
 * takes a signal it handles there: the handler runs in that thread, and
 * libdoor's door_return, which the kernel ended with EINTR, parks it
 * again, so the next call is served:
 * - SIGUSR1 from the parent (kill): the handler runs in the main thread,
 *   three times, and calls in between are served;
 * - SIGUSR2, which the server blocks: it stays pending (the call's
 *   results say so), no handler runs, and SIGUSR1 still gets through;
 * - SIGTERM, whose handler holds the thread until the parent lets it go:
 *   a call made meanwhile (the pool has no idle thread) is served once
 *   the thread parks again;
 * - SIGINT, left to its default action, ends the parked server.
 */
#include <ctest_door.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn_np.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the server's procedure answers: what its handlers did, and
 * whether SIGUSR2 is pending. */
struct state {
	int usr1;
	int usr2;
	int term;
	int usr2_pending;
};

/* The server's: its report pipe (a byte per handler run), the pipe its
 * SIGTERM handler waits on, its main thread; what the handlers did. */
static int report_fd, go_fd;
static pid_t main_tid;
static volatile sig_atomic_t usr1, usr2, term;

static void
on_usr1(int sig)
{
	/* 'M': it runs in the main thread, the one parked in door_return. */
	char c = gettid() == main_tid ? 'M' : 'O';

	(void) sig;
	usr1++;
	(void) write(report_fd, &c, 1);
}

static void
on_usr2(int sig)
{
	(void) sig;
	usr2++;
	(void) write(report_fd, "2", 1);
}

static void
on_term(int sig)
{
	char c;

	(void) sig;
	(void) write(report_fd, "T", 1);
	(void) read(go_fd, &c, 1);
	term++;
}

static void
serve(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	sigset_t pending;
	struct state s = { usr1, usr2, term, 0 };

	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	CHECK(sigpending(&pending) == 0);
	s.usr2_pending = sigismember(&pending, SIGUSR2);
	door_return((char *)&s, sizeof (s), NULL, 0);
	CHECK(0);
}

/* The create procedure: no threads, the main thread serves alone. */
static void
no_threads(door_info_t *info)
{
	(void) info;
}

static void
handle(int sig, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* The server: CHILD_FD(0) is the parent's mailbox, (1) the report pipe,
 * (2) the pipe its SIGTERM handler reads. */
static int
server(void)
{
	sigset_t usr2_set;

	main_tid = gettid();
	report_fd = CHILD_FD(1);
	go_fd = CHILD_FD(2);
	handle(SIGUSR1, on_usr1);
	handle(SIGUSR2, on_usr2);
	handle(SIGTERM, on_term);
	sigemptyset(&usr2_set);
	sigaddset(&usr2_set, SIGUSR2);
	CHECK(sigprocmask(SIG_BLOCK, &usr2_set, NULL) == 0);
	(void) door_server_create(no_threads);
	ctest_hand(CHILD_FD(0), door_create(serve, NULL, 0));
	door_return(NULL, 0, NULL, 0);
	CHECK(0);
	return (1);
}

/* The server's state, by a call to its door. */
static struct state
ask(int d)
{
	struct state s;
	door_arg_t a = { .rbuf = (char *)&s, .rsize = sizeof (s) };

	CHECK(door_call(d, &a) == 0 && a.data_size == sizeof (s));
	CHECK(a.data_ptr == (char *)&s);
	return (s);
}

/* The next byte a server's handler reported. */
static char
reported(int fd)
{
	char c;

	CHECK(read(fd, &c, 1) == 1);
	return (c);
}

static atomic_int calling;
static struct state during_term;

static void *
call_during_term(void *arg)
{
	calling = 1;
	during_term = ask(*(int *)arg);
	return (NULL);
}

int
main(int argc, char *argv[])
{
	(void) argv;
	if (argc > 1)
		return (server());
	int m = door_create(ctest_mailbox, NULL, 0);
	int report[2], go[2];
	CHECK(m >= 0 && pipe(report) == 0 && pipe(go) == 0);
	int fds[] = { m, report[1], go[0] };
	char *args[] = { "c_door_signal", "server", NULL };
	pid_t srv = ctest_spawn(args, fds, 3);
	CHECK(close(report[1]) == 0 && close(go[0]) == 0);
	int d = ctest_await_handed();
	struct state s = ask(d);
	CHECK(s.usr1 == 0 && s.usr2 == 0 && s.term == 0 && !s.usr2_pending);

	for (int i = 1; i <= 3; i++) {
		CHECK(kill(srv, SIGUSR1) == 0);
		CHECK(reported(report[0]) == 'M');
		s = ask(d);
		CHECK(s.usr1 == i && s.usr2 == 0 && !s.usr2_pending);
	}
	printf("c_door_signal: a handler runs in the main thread parked in "
	    "door_return, which parks again ok\n");

	CHECK(kill(srv, SIGUSR2) == 0);
	s = ask(d);
	CHECK(s.usr2 == 0 && s.usr2_pending);
	CHECK(kill(srv, SIGUSR1) == 0);
	CHECK(reported(report[0]) == 'M');
	s = ask(d);
	CHECK(s.usr1 == 4 && s.usr2 == 0 && s.usr2_pending);
	printf("c_door_signal: a signal the parked thread blocks stays "
	    "pending ok\n");

	CHECK(kill(srv, SIGTERM) == 0);
	CHECK(reported(report[0]) == 'T');
	pthread_t caller;
	CHECK(pthread_create(&caller, NULL, call_during_term, &d) == 0);
	while (!calling)
		sched_yield();
	/* Gives the call time to reach the kernel and wait there (were it
	 * later, it would find the thread parked: the same answer). */
	usleep(20000);
	CHECK(write(go[1], "g", 1) == 1);
	CHECK(pthread_join(caller, NULL) == 0);
	CHECK(during_term.term == 1 && during_term.usr1 == 4);
	printf("c_door_signal: a call that comes while the only server "
	    "thread runs a handler is served once it parks again ok\n");

	CHECK(kill(srv, SIGINT) == 0);
	int status;
	CHECK(waitpid(srv, &status, 0) == srv);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
	CHECK_ERR(door_call(d, NULL), EBADF);
	char c;
	CHECK(read(report[0], &c, 1) == 0);
	printf("c_door_signal: a signal's default action ends the parked "
	    "server ok\n");
	CHECK(close(d) == 0 && close(m) == 0);
	CHECK(close(report[0]) == 0 && close(go[1]) == 0);
	printf("c_door_signal: ok\n");
	return (0);
}
