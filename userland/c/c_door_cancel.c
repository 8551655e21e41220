/*
 * Cancellation and death from C (a server learns of an abandoned call
 * from door_cancelled()):
 * - a client process exits while its call is served: door_cancelled()
 *   turns 1 (stays 0 with DOOR_NO_CANCEL); the server's door_return
 *   discards the results (closing a DOOR_RELEASE descriptor among them)
 *   without error, and the thread serves the next call;
 * - door_abort(tid) from another thread of the client: EINTR for the
 *   aborted caller, the same notice for the server;
 * - a handled signal to the caller interrupts its call, as door_call(3C)
 *   says: EINTR while served (the server is cancelled, unless
 *   DOOR_NO_CANCEL), EAGAIN while waiting for a server thread; the handler
 *   runs in the caller before door_call returns, and SA_RESTART does not
 *   restart the call;
 * - a server procedure that returns instead of calling door_return: its
 *   caller in another process gets EINTR, the server goes on serving;
 * - door_revoke while callers wait: they get EBADF; a call already being
 *   served completes normally.
 */
#include <ctest_door.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn_np.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int serving, release, finished, saw_cancel;
static int released_fd = -1;

static void
await(atomic_int *flag)
{
	for (int i = 0; !atomic_load(flag); i++) {
		CHECK(i < 1000000);
		sched_yield();
	}
}

/* Holds the call until it is released or cancelled, then returns a
 * DOOR_RELEASE descriptor. */
static void
hold(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	int no_cancel = cookie != NULL;

	(void) argp, (void) size, (void) dp, (void) n;
	serving = 1;
	while (!atomic_load(&release) && door_cancelled() == 0)
		sched_yield();
	saw_cancel = door_cancelled();
	if (no_cancel)
		CHECK(saw_cancel == 0);
	door_desc_t out = {
		.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE,
		.d_data.d_desc.d_descriptor = released_fd,
	};
	finished = 1;
	door_return("done", 4, &out, 1);
	CHECK(0);
}

static void
gives_up(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	/* Returns without door_return: the thread ends. */
}

static void
exit_now(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	_exit(0);
}

static void *
call_forever(void *arg)
{
	door_arg_t a = { .rbuf = NULL, .rsize = 0 };

	door_call(*(int *)arg, &a);
	CHECK(0);
	return (NULL);
}

/* Children: "abandon" gets the mailbox and the door to abandon
 * (CHILD_FD(0) and (1)); "returns" gets the door whose procedure gives up
 * (CHILD_FD(0)). */
static int
child(const char *role)
{
	if (strcmp(role, "returns") == 0) {
		CHECK_ERR(door_call(CHILD_FD(0), NULL), EINTR);
		return (0);
	}
	ctest_hand(CHILD_FD(0), door_create(exit_now, NULL, 0));
	pthread_t t;
	int d = CHILD_FD(1);
	CHECK(pthread_create(&t, NULL, call_forever, &d) == 0);
	pthread_join(t, NULL);
	return (1);
}

static int
is_open(int fd)
{
	door_info_t info;

	return (door_info(fd, &info) == 0);
}

/* The server of an abandoned call: with DOOR_NO_CANCEL it is not
 * cancelled and holds the call until released, else it sees the
 * cancellation; either way its results went nowhere (the released
 * descriptor among them is closed). */
static void
server_done(int no_cancel)
{
	if (no_cancel) {
		usleep(20000);
		CHECK(!finished);
		release = 1;
	}
	await(&finished);
	CHECK(saw_cancel == !no_cancel);
	for (int i = 0; is_open(released_fd); i++) {
		CHECK(i < 100000);
		sched_yield();
	}
}

/* A child calls `d` and exits while the call is served. */
static void
abandoned_by_exit(int d, int m, int no_cancel)
{
	serving = finished = release = 0;
	ctest_handed = -1;
	released_fd = dup(m);
	int fds[] = { m, d };
	char *args[] = { "c_door_cancel", "abandon", NULL };
	pid_t c = ctest_spawn(args, fds, 2);
	await(&serving);
	int handed = ctest_await_handed();
	/* The child's door ends it. */
	CHECK_ERR(door_call(handed, NULL), EINTR);
	int status;
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 0);
	server_done(no_cancel);
	CHECK(close(handed) == 0);
	/* The thread serves the next call. */
	serving = finished = 0;
	release = 1;
	released_fd = dup(m);
	char rbuf[64];
	door_arg_t a = { .rbuf = rbuf, .rsize = sizeof (rbuf) };
	CHECK(door_call(d, &a) == 0 && a.data_size == 4 && a.desc_num == 1);
	CHECK(close(a.desc_ptr[0].d_data.d_desc.d_descriptor) == 0);
}

static atomic_int caller_tid, caller_errno, ebadf_callers;
/* SIGUSR1 handler runs, in which thread, how many had run when the
 * caller's door_call returned, and whether it has. */
static atomic_int handled, handler_tid, handled_at_return, call_over;

static void *
aborted_caller(void *arg)
{
	char rbuf[64];
	door_arg_t a = { .rbuf = rbuf, .rsize = sizeof (rbuf) };

	caller_tid = gettid();
	int r = door_call(*(int *)arg, &a);
	caller_errno = r < 0 ? errno : 0;
	handled_at_return = handled;
	call_over = 1;
	if (r < 0 && errno == EBADF)
		atomic_fetch_add(&ebadf_callers, 1);
	if (r == 0 && a.desc_num == 1)
		CHECK(close(a.desc_ptr[0].d_data.d_desc.d_descriptor) == 0);
	return (NULL);
}

static void
on_usr1(int sig)
{
	(void) sig;
	atomic_fetch_add(&handled, 1);
	handler_tid = gettid();
}

/* Sends SIGUSR1 to the caller thread alone (it may have ended: ESRCH). */
static int
signal_caller(void)
{
	return (syscall(SYS_tgkill, getpid(), caller_tid, SIGUSR1));
}

/* A signal to a caller whose call `d` serves: EINTR, its handler run
 * first; the server is cancelled unless `no_cancel`, and its results
 * (a DOOR_RELEASE descriptor) are discarded. */
static void
interrupted_while_served(int d, int m, int no_cancel)
{
	serving = finished = release = 0;
	handled = call_over = 0;
	released_fd = dup(m);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, aborted_caller, &d) == 0);
	await(&serving);
	CHECK(signal_caller() == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(caller_errno == EINTR);
	CHECK(handled_at_return == 1 && handler_tid == caller_tid);
	server_done(no_cancel);
}

/* A signal to a caller waiting for a server thread (a private door
 * without one): EAGAIN. Signals go until one finds the call waiting (one
 * that comes before it only runs the handler). */
static void
interrupted_while_waiting(void)
{
	int p = door_create(hold, NULL, DOOR_PRIVATE);
	CHECK(p >= 0);
	caller_tid = 0;
	handled = call_over = 0;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, aborted_caller, &p) == 0);
	while (caller_tid == 0)
		sched_yield();
	for (int i = 0; !call_over; i++) {
		CHECK(i < 100000);
		CHECK(signal_caller() == 0 || (errno == ESRCH && call_over));
		sched_yield();
	}
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(caller_errno == EAGAIN && handled_at_return >= 1);
	CHECK(close(p) == 0);
}

int
main(int argc, char *argv[])
{
	if (argc > 1)
		return (child(argv[1]));
	int m = door_create(ctest_mailbox, NULL, 0);
	int d = door_create(hold, NULL, 0);
	int nc = door_create(hold, (void *)1, DOOR_NO_CANCEL);
	CHECK(m >= 0 && d >= 0 && nc >= 0);

	abandoned_by_exit(d, m, 0);
	printf("c_door_cancel: a client's exit cancels the call, results "
	    "discarded ok\n");
	abandoned_by_exit(nc, m, 1);
	printf("c_door_cancel: DOOR_NO_CANCEL keeps door_cancelled() 0 ok\n");

	/* door_abort from another thread of the client. */
	serving = finished = release = 0;
	released_fd = dup(m);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, aborted_caller, &d) == 0);
	await(&serving);
	CHECK(door_abort(caller_tid) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(caller_errno == EINTR);
	await(&finished);
	CHECK(saw_cancel == 1);
	printf("c_door_cancel: door_abort: EINTR for the caller, a notice for "
	    "the server ok\n");

	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	interrupted_while_served(d, m, 0);
	interrupted_while_served(nc, m, 1);
	interrupted_while_waiting();
	printf("c_door_cancel: a signal interrupts door_call: EINTR (server "
	    "cancelled), EAGAIN while waiting, the handler first ok\n");

	/* A procedure that returns: EINTR in the other process. */
	int g = door_create(gives_up, NULL, 0);
	int fds[] = { g };
	char *args[] = { "c_door_cancel", "returns", NULL };
	pid_t c = ctest_spawn(args, fds, 1);
	int status;
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 0);
	serving = finished = 0;
	release = 1;
	released_fd = dup(m);
	char rbuf[64];
	door_arg_t a = { .rbuf = rbuf, .rsize = sizeof (rbuf) };
	CHECK(door_call(d, &a) == 0 && a.data_size == 4);
	CHECK(close(a.desc_ptr[0].d_data.d_desc.d_descriptor) == 0);
	printf("c_door_cancel: a procedure that returns: EINTR, serving goes "
	    "on ok\n");

	/* door_revoke: waiting callers get EBADF, a served call completes. */
	int v = door_create(hold, NULL, DOOR_PRIVATE);
	pthread_t w[2];
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&w[i], NULL, aborted_caller, &v) == 0);
	serving = finished = release = 0;
	released_fd = dup(m);
	int e = dup(d);
	pthread_t running;
	CHECK(pthread_create(&running, NULL, aborted_caller, &e) == 0);
	await(&serving);
	usleep(20000);
	CHECK(door_revoke(v) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_join(w[i], NULL) == 0);
	CHECK(ebadf_callers == 2);
	CHECK(door_revoke(d) == 0);
	release = 1;
	CHECK(pthread_join(running, NULL) == 0);
	CHECK(caller_errno == 0);
	printf("c_door_cancel: door_revoke: EBADF for waiting callers, the "
	    "served call completes ok\n");
	printf("c_door_cancel: ok\n");
	return (0);
}
