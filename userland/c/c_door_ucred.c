/*
 * door_ucred(3C) and door_cred from C, across three processes: the server
 * sees the pid and credentials of the immediate caller (each child takes
 * its own effective uid with seteuid, so the ids tell them apart); in a
 * chain A -> B -> C, C sees B, and B still sees A after its nested call;
 * EINVAL outside an invocation; EFAULT for a bad buffer; a ucred_t given
 * to door_ucred is reused.
 */
#include <ctest.h>
#include <door.h>
#include <sched.h>
#include <signal.h>
#include <spawn_np.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a server saw of its caller. */
struct seen {
	pid_t pid;
	uid_t euid, ruid;
	door_cred_t cred;
};

static struct seen
caller(void)
{
	ucred_t *u = NULL;
	struct seen s;

	CHECK(door_ucred(&u) == 0);
	ucred_t *again = u;
	CHECK(door_ucred(&again) == 0 && again == u);
	s.pid = ucred_getpid(u);
	s.euid = ucred_geteuid(u);
	s.ruid = ucred_getruid(u);
	CHECK(ucred_getegid(u) == 0 && ucred_getrgid(u) == 0);
	ucred_free(u);
	CHECK(door_cred(&s.cred) == 0);
	return (s);
}

static atomic_int handed = -1;

/* Reports its caller; a descriptor is handed over. */
static void
report(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	struct seen s;

	(void) cookie;
	if (n == 1) {
		handed = dp[0].d_data.d_desc.d_descriptor;
		door_return(NULL, 0, NULL, 0);
	}
	if (size == 1 && argp[0] == 'f') {
		/* Bad buffers in an invocation: EFAULT. */
		ucred_t *bad = (ucred_t *)8;
		int errs[2];
		errs[0] = door_ucred(&bad) < 0 ? errno : 0;
		errs[1] = door_cred((door_cred_t *)8) < 0 ? errno : 0;
		door_return((char *)errs, sizeof (errs), NULL, 0);
	}
	s = caller();
	door_return((char *)&s, sizeof (s), NULL, 0);
}

static struct seen
ask(int d)
{
	struct seen s;
	door_arg_t a = { .rbuf = (char *)&s, .rsize = sizeof (s) };

	CHECK(door_call(d, &a) == 0 && a.data_size == sizeof (s));
	return (s);
}

/* B's door: what it sees before and after calling C (descriptor 1). */
static void
nested(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	struct seen s[3];

	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	s[0] = caller();
	s[1] = ask(CHILD_FD(1));
	s[2] = caller();
	door_return((char *)s, sizeof (s), NULL, 0);
}

static void
hand_over(int mailbox, int d)
{
	door_desc_t pass = {
		.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE,
		.d_data.d_desc.d_descriptor = d,
	};
	door_arg_t a = { .desc_ptr = &pass, .desc_num = 1 };

	CHECK(door_call(mailbox, &a) == 0);
}

/* A child ends when A tells it to with SIGTERM, once no call of A's is
 * in flight (ending while a server thread still returns would end that
 * call with EINTR, as door_call(3C) says of a server that exits). */
static void
bye(int sig)
{
	(void) sig;
	_exit(0);
}

/* The children get A's mailbox as CHILD_FD(0) (B gets C's door as
 * CHILD_FD(1)). */
static int
child(const char *role)
{
	int b = strcmp(role, "b") == 0;
	struct sigaction sa = { .sa_handler = bye };

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGTERM, &sa, NULL) == 0);
	CHECK(seteuid(b ? 100 : 200) == 0);
	CHECK(geteuid() == (uid_t)(b ? 100 : 200) && getuid() == 0);
	hand_over(CHILD_FD(0), door_create(b ? nested : report, NULL, 0));
	for (;;)
		pause();
}

static int
start(const char *role, int *fds, unsigned n)
{
	char *args[] = { "c_door_ucred", (char *)role, NULL };

	handed = -1;
	(void) ctest_spawn(args, fds, n);
	while (handed < 0)
		sched_yield();
	return (handed);
}

int
main(int argc, char *argv[])
{
	if (argc > 1)
		return (child(argv[1]));
	struct seen s;
	ucred_t *u = NULL;
	door_cred_t dc;
	CHECK_ERR(door_ucred(&u), EINVAL);
	CHECK(u == NULL);
	CHECK_ERR(door_cred(&dc), EINVAL);

	int mailbox = door_create(report, NULL, 0);
	s = ask(mailbox);
	CHECK(s.pid == getpid() && s.euid == 0 && s.ruid == 0);
	CHECK(s.cred.dc_pid == getpid() && s.cred.dc_euid == 0);

	int fds[2] = { mailbox };
	int dc_door = start("c", fds, 1);
	fds[1] = dc_door;
	int db_door = start("b", fds, 2);
	door_info_t info_b, info_c;
	CHECK(door_info(db_door, &info_b) == 0 && door_info(dc_door, &info_c) == 0);
	pid_t b = info_b.di_target, c = info_c.di_target;

	/* C sees A when A calls it. */
	s = ask(dc_door);
	CHECK(s.pid == getpid() && s.euid == 0);
	/* A -> B -> C. */
	struct seen chain[3];
	door_arg_t a = { .rbuf = (char *)chain, .rsize = sizeof (chain) };
	CHECK(door_call(db_door, &a) == 0 && a.data_size == sizeof (chain));
	CHECK(chain[0].pid == getpid() && chain[0].euid == 0);
	CHECK(chain[1].pid == b && chain[1].euid == 100 && chain[1].ruid == 0);
	CHECK(chain[1].cred.dc_pid == b && chain[1].cred.dc_euid == 100);
	CHECK(chain[2].pid == getpid() && chain[2].euid == 0);
	printf("c_door_ucred: A %d -> B %d -> C %d: C sees B (euid %u), B sees "
	    "A ok\n", getpid(), b, c, chain[1].euid);
	CHECK_ERR(door_cred((door_cred_t *)8), EINVAL);
	int errs[2];
	a = (door_arg_t){ .data_ptr = "f", .data_size = 1,
	    .rbuf = (char *)errs, .rsize = sizeof (errs) };
	CHECK(door_call(mailbox, &a) == 0);
	CHECK(errs[0] == EFAULT && errs[1] == EFAULT);

	CHECK(kill(b, SIGTERM) == 0 && kill(c, SIGTERM) == 0);
	int status;
	CHECK(waitpid(b, &status, 0) == b && WEXITSTATUS(status) == 0);
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 0);
	printf("c_door_ucred: ok\n");
	return (0);
}
