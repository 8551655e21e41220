/*
 * Door errors by name, from C (doors-semantics.md): door_call's E2BIG,
 * EAGAIN (a caller waiting for a server thread, aborted with door_abort),
 * EBADF, EFAULT, EINTR (the server process exits while serving), EMFILE (a
 * server whose descriptor table is full), ENFILE, ENOBUFS, ENOTSUP, with
 * DOOR_RELEASE descriptors closed by a failed call (but on EFAULT);
 * door_return's EFAULT and EINVAL; door_abort's ESRCH and EINVAL;
 * door_setparam and door_getparam with their defaults and errors (EPERM in
 * another process).
 */
#include <ctest.h>
#include <door.h>
#include <limits.h>
#include <pthread.h>
#include <spawn_np.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((void *)8)

/* Echoes its arguments. */
static void
echo(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) dp, (void) n;
	door_return(argp, size, NULL, 0);
}

/* Tries bad door_returns, then returns their errnos. */
static void
bad_returns(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	int errs[3];
	door_desc_t no_flag = { .d_attributes = 0 };
	door_desc_t not_open = {
		.d_attributes = DOOR_DESCRIPTOR,
		.d_data.d_desc.d_descriptor = 999,
	};

	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	errs[0] = door_return(BAD, 10, NULL, 0) < 0 ? errno : 0;
	errs[1] = door_return(NULL, 0, &no_flag, 1) < 0 ? errno : 0;
	errs[2] = door_return(NULL, 0, &not_open, 1) < 0 ? errno : 0;
	door_return((char *)errs, sizeof (errs), NULL, 0);
}

static atomic_int mailbox_fd = -1;

/* The mailbox: keeps the descriptor a child hands over. */
static void
mailbox(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size;
	if (n == 1)
		mailbox_fd = dp[0].d_data.d_desc.d_descriptor;
	door_return(NULL, 0, NULL, 0);
}

static int
call_with(int d, door_desc_t *desc, uint_t n, size_t size)
{
	char data[16] = "args";
	door_arg_t a = {
		.data_ptr = data, .data_size = size,
		.desc_ptr = desc, .desc_num = n,
	};
	return (door_call(d, &a));
}

static door_desc_t
passing(int fd, int release)
{
	door_desc_t d = {
		.d_attributes = DOOR_DESCRIPTOR | (release ? DOOR_RELEASE : 0),
		.d_data.d_desc.d_descriptor = fd,
	};
	return (d);
}

static int
is_open(int fd)
{
	door_info_t info;

	return (door_info(fd, &info) == 0);
}

static void
call_errors(void)
{
	int d = door_create(echo, NULL, 0);
	CHECK(d >= 0);
	char rbuf[64];
	door_arg_t a = { .data_ptr = "abc", .data_size = 3 };
	/* EFAULT: the door_arg_t, the data, the descriptors, rbuf. */
	CHECK_ERR(door_call(d, BAD), EFAULT);
	a.data_ptr = BAD;
	CHECK_ERR(door_call(d, &a), EFAULT);
	int x = dup(d);
	door_desc_t dx = passing(x, 1);
	a = (door_arg_t){ .desc_ptr = BAD, .desc_num = 1 };
	CHECK_ERR(door_call(d, &a), EFAULT);
	a = (door_arg_t){ .data_ptr = "abc", .data_size = 3, .rbuf = BAD,
	    .rsize = sizeof (rbuf), .desc_ptr = &dx, .desc_num = 1 };
	CHECK_ERR(door_call(d, &a), EFAULT);
	/* EBADF: no descriptor, a closed one, a revoked door. */
	CHECK_ERR(door_call(-1, NULL), EBADF);
	CHECK_ERR(door_call(77, NULL), EBADF);
	int r = door_create(echo, NULL, 0);
	int r2 = dup(r);
	CHECK(close(r) == 0);
	CHECK_ERR(door_call(r, NULL), EBADF);
	CHECK(door_revoke(r2) == 0);
	r = door_create(echo, NULL, 0);
	r2 = dup(r);
	CHECK(door_revoke(r) == 0);
	CHECK_ERR(door_call(r2, NULL), EBADF);
	CHECK(close(r2) == 0);
	/* ENFILE, ENOBUFS, ENOTSUP: the door's limits; a DOOR_RELEASE
	 * descriptor of the failed call is closed. */
	int lim = door_create(echo, NULL, 0);
	CHECK(door_setparam(lim, DOOR_PARAM_DESC_MAX, 1) == 0);
	door_desc_t two[2] = { passing(x, 1), passing(d, 0) };
	CHECK(is_open(x));
	CHECK_ERR(call_with(lim, two, 2, 4), ENFILE);
	CHECK(!is_open(x) && is_open(d));
	CHECK(door_setparam(lim, DOOR_PARAM_DATA_MIN, 4) == 0);
	CHECK(door_setparam(lim, DOOR_PARAM_DATA_MAX, 8) == 0);
	CHECK_ERR(call_with(lim, NULL, 0, 3), ENOBUFS);
	CHECK_ERR(call_with(lim, NULL, 0, 9), ENOBUFS);
	CHECK(call_with(lim, NULL, 0, 8) == 0);
	int refuse = door_create(echo, NULL, DOOR_REFUSE_DESC);
	door_desc_t one = passing(d, 0);
	CHECK_ERR(call_with(refuse, &one, 1, 4), ENOTSUP);
	CHECK(call_with(refuse, NULL, 0, 4) == 0);
	/* E2BIG: more data than the server thread's stack area holds (the
	 * default server threads are musl's 128 KiB pthreads). */
	size_t huge = 512 * 1024;
	char *lots = calloc(1, huge);
	a = (door_arg_t){ .data_ptr = lots, .data_size = huge };
	CHECK_ERR(door_call(d, &a), E2BIG);
	free(lots);
	/* door_return's own errors, reported by the server in its results. */
	int br = door_create(bad_returns, NULL, 0);
	int errs[3];
	a = (door_arg_t){ .rbuf = (char *)errs, .rsize = sizeof (errs) };
	CHECK(door_call(br, &a) == 0);
	CHECK(errs[0] == EFAULT && errs[1] == EINVAL && errs[2] == EINVAL);
	CHECK(close(br) == 0 && close(lim) == 0 && close(refuse) == 0);
	CHECK(close(d) == 0);
	printf("c_door_errors: E2BIG, EBADF, EFAULT, ENFILE, ENOBUFS, ENOTSUP, "
	    "door_return's EFAULT and EINVAL ok\n");
}

static atomic_int waiting_tid;

static void *
stuck_caller(void *arg)
{
	int d = *(int *)arg;

	atomic_store(&waiting_tid, gettid());
	/* A private door with no bound thread: the call waits. */
	CHECK_ERR(door_call(d, NULL), EAGAIN);
	return (NULL);
}

static void
aborts(void)
{
	int p = door_create(echo, NULL, DOOR_PRIVATE);
	pthread_t t;

	CHECK(p >= 0);
	CHECK(pthread_create(&t, NULL, stuck_caller, &p) == 0);
	while (atomic_load(&waiting_tid) == 0)
		sched_yield();
	/* EINVAL until the thread is in its door_call. */
	int tries = 0;
	while (door_abort(atomic_load(&waiting_tid)) != 0) {
		CHECK(errno == EINVAL && ++tries < 10000);
		sched_yield();
	}
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_ERR(door_abort(atomic_load(&waiting_tid)), ESRCH);
	CHECK_ERR(door_abort(gettid()), EINVAL);
	CHECK(close(p) == 0);
	printf("c_door_errors: EAGAIN for an aborted waiting call, "
	    "door_abort's ESRCH and EINVAL ok\n");
}

static void
params(void)
{
	int d = door_create(echo, NULL, 0);
	int refuse = door_create(echo, NULL, DOOR_REFUSE_DESC);
	size_t v;

	CHECK(door_getparam(d, DOOR_PARAM_DATA_MIN, &v) == 0 && v == 0);
	CHECK(door_getparam(d, DOOR_PARAM_DATA_MAX, &v) == 0 && v == SIZE_MAX);
	CHECK(door_getparam(d, DOOR_PARAM_DESC_MAX, &v) == 0 && v == INT_MAX);
	CHECK(door_getparam(refuse, DOOR_PARAM_DESC_MAX, &v) == 0 && v == 0);
	CHECK(door_setparam(d, DOOR_PARAM_DATA_MAX, 100) == 0);
	CHECK(door_getparam(d, DOOR_PARAM_DATA_MAX, &v) == 0 && v == 100);
	CHECK_ERR(door_setparam(d, DOOR_PARAM_DATA_MIN, 101), EINVAL);
	CHECK_ERR(door_setparam(d, 99, 1), EINVAL);
	CHECK_ERR(door_setparam(refuse, DOOR_PARAM_DESC_MAX, 1), ENOTSUP);
	CHECK_ERR(door_setparam(d, DOOR_PARAM_DESC_MAX, (size_t)INT_MAX + 1),
	    ERANGE);
	CHECK_ERR(door_setparam(55, DOOR_PARAM_DATA_MAX, 1), EBADF);
	CHECK_ERR(door_getparam(55, DOOR_PARAM_DATA_MAX, &v), EBADF);
	CHECK_ERR(door_getparam(d, 99, &v), EINVAL);
	CHECK_ERR(door_getparam(d, DOOR_PARAM_DATA_MAX, BAD), EFAULT);
	CHECK(close(refuse) == 0 && close(d) == 0);
	printf("c_door_errors: door_setparam and door_getparam ok\n");
}

/* Child processes. "exits": hands its door over, then exits while
 * serving it. "full": hands its door over, fills its descriptor table,
 * serves until told to stop. Both get the mailbox as CHILD_FD(0) (and
 * "exits" the parent's echo door as CHILD_FD(1), to set a parameter on:
 * EPERM). */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop = PTHREAD_COND_INITIALIZER;
static int stopping;

static void
exit_now(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	_exit(3);
}

static void
until_stopped(void *cookie, char *argp, size_t size, door_desc_t *dp,
    uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	pthread_mutex_lock(&stop_lock);
	stopping = 1;
	pthread_cond_signal(&stop);
	pthread_mutex_unlock(&stop_lock);
	door_return(NULL, 0, NULL, 0);
}

static void
hand_over(int d)
{
	door_desc_t desc = passing(d, 1);
	CHECK(call_with(CHILD_FD(0), &desc, 1, 0) == 0);
}

static int
child(const char *role)
{
	if (strcmp(role, "exits") == 0) {
		CHECK_ERR(door_setparam(CHILD_FD(1), DOOR_PARAM_DATA_MAX, 1), EPERM);
		hand_over(door_create(exit_now, NULL, 0));
		pause();
	}
	int d = door_create(until_stopped, NULL, 0);
	int keep = dup(d);
	/* The console, the mailbox and `keep`, once `d` is handed over: full
	 * before the parent may call. */
	struct rlimit full = { CHILD_FD(1) + 1, CHILD_FD(1) + 1 };
	CHECK(setrlimit(RLIMIT_NOFILE, &full) == 0);
	hand_over(d);
	CHECK_ERR(dup(keep), EMFILE);
	pthread_mutex_lock(&stop_lock);
	while (!stopping)
		pthread_cond_wait(&stop, &stop_lock);
	pthread_mutex_unlock(&stop_lock);
	return (0);
}

static pid_t
start(const char *role, int *fds, unsigned n)
{
	char *args[] = { "c_door_errors", (char *)role, NULL };
	mailbox_fd = -1;
	pid_t c = ctest_spawn(args, fds, n);
	/* The child hands its door over first. */
	while (mailbox_fd < 0)
		sched_yield();
	return (c);
}

static void
other_processes(void)
{
	int m = door_create(mailbox, NULL, 0);
	int e = door_create(echo, NULL, 0);
	int status;

	int fds[] = { m, e };
	pid_t c = start("exits", fds, 2);
	CHECK_ERR(door_call(mailbox_fd, NULL), EINTR);
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 3);
	CHECK_ERR(door_call(mailbox_fd, NULL), EBADF);
	CHECK(close(mailbox_fd) == 0);

	c = start("full", fds, 1);
	int full = mailbox_fd;
	int x = dup(e);
	door_desc_t desc = passing(x, 1);
	CHECK_ERR(call_with(full, &desc, 1, 0), EMFILE);
	CHECK(!is_open(x));
	CHECK(door_call(full, NULL) == 0);
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 0);
	CHECK(close(full) == 0 && close(m) == 0 && close(e) == 0);
	printf("c_door_errors: EINTR, EMFILE and EPERM across processes ok\n");
}

int
main(int argc, char *argv[])
{
	if (argc > 1)
		return (child(argv[1]));
	call_errors();
	aborts();
	params();
	other_processes();
	printf("c_door_errors: ok\n");
	return (0);
}
