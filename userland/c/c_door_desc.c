/*
 * Descriptor passing with DOOR_DESCRIPTOR from C, between two processes:
 * client to server (B hands its door to A with DOOR_RELEASE: B keeps no
 * copy), server to client (B returns a new door in its results, released),
 * A to B in a call's arguments (B calls the door at once), and back; and a
 * file, whose open-file description (and so its offset) the two processes
 * then share. Every received door carries DOOR_DESCRIPTOR and the door's
 * unique id (d_id equal to door_info's di_uniquifier); a process that did
 * not create a door cannot revoke it (EPERM).
 */
#include <ctest.h>
#include <door.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn_np.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int handed = -1;

static unsigned long long
uniq(int d)
{
	door_info_t info;

	CHECK(door_info(d, &info) == 0);
	return (info.di_uniquifier);
}

/* Checks a received entry and returns its descriptor. */
static int
received(const door_desc_t *dp)
{
	int fd = dp->d_data.d_desc.d_descriptor;

	CHECK(dp->d_attributes & DOOR_DESCRIPTOR);
	CHECK(dp->d_data.d_desc.d_id == uniq(fd));
	return (fd);
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

/* A's registry: keeps what it is handed. */
static void
registry(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size;
	CHECK(n == 1);
	handed = received(dp);
	door_return(NULL, 0, NULL, 0);
}

/* A's door DA: answers with the caller's pid. */
static void
whoami(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	ucred_t *cred = NULL;
	pid_t pid;

	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	CHECK(door_ucred(&cred) == 0);
	pid = ucred_getpid(cred);
	ucred_free(cred);
	door_return((char *)&pid, sizeof (pid), NULL, 0);
}

static pid_t
call_whoami(int d)
{
	pid_t pid = 0;
	door_arg_t a = { .rbuf = (char *)&pid, .rsize = sizeof (pid) };

	CHECK(door_call(d, &a) == 0 && a.data_size == sizeof (pid));
	return (pid);
}

/* B's door DB: 'c' calls the door it is passed; 'g' gives a new door
 * (released); 'r' tries to revoke the door it is passed; 'f' reads the
 * file it is passed from where its offset is and appends to it. */
static void
b_server(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	door_desc_t out;
	int result = 0;

	(void) cookie;
	CHECK(size == 1);
	switch (argp[0]) {
	case 'c': {
		CHECK(n == 1);
		int d = received(dp);
		result = call_whoami(d);
		CHECK(close(d) == 0);
		break;
	}
	case 'g':
		out = passing(door_create(whoami, NULL, 0), 1);
		door_return(NULL, 0, &out, 1);
		break;
	case 'r': {
		int d = received(dp);
		result = door_revoke(d) < 0 ? errno : 0;
		CHECK(close(d) == 0);
		break;
	}
	case 'f': {
		CHECK(n == 1 && (dp[0].d_attributes & DOOR_DESCRIPTOR));
		int f = dp[0].d_data.d_desc.d_descriptor;
		char text[64];
		ssize_t got = read(f, text, sizeof (text));
		CHECK(got > 0 && write(f, " and B", 6) == 6 && close(f) == 0);
		door_return(text, (size_t)got, NULL, 0);
		break;
	}
	}
	door_return((char *)&result, sizeof (result), NULL, 0);
}

/* B ends when A tells it to with SIGTERM, once no call of A's is in
 * flight (ending while a server thread still returns would end that
 * call with EINTR, as door_call(3C) says of a server that exits). */
static void
bye(int sig)
{
	(void) sig;
	_exit(0);
}

/* B: gets A's registry as CHILD_FD(0). */
static int
b(void)
{
	struct sigaction sa = { .sa_handler = bye };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGTERM, &sa, NULL) == 0);
	int db = door_create(b_server, NULL, 0);
	unsigned long long id = uniq(db);
	door_desc_t pass = passing(db, 1);
	door_arg_t a = { .desc_ptr = &pass, .desc_num = 1 };

	CHECK(door_call(CHILD_FD(0), &a) == 0);
	/* Released: B has no descriptor for its door any more. */
	door_info_t info;
	CHECK_ERR(door_info(db, &info), EBADF);
	printf("c_door_desc B: handed door %llu to A\n", id);
	for (;;)
		pause();
}

static int
ask(int d, char what, door_desc_t *desc, uint_t n, door_desc_t *got)
{
	int result = -1;
	char rbuf[64];
	door_arg_t a = {
		.data_ptr = &what, .data_size = 1, .desc_ptr = desc,
		.desc_num = n, .rbuf = rbuf, .rsize = sizeof (rbuf),
	};

	CHECK(door_call(d, &a) == 0);
	if (a.desc_num == 1 && got != NULL)
		*got = a.desc_ptr[0];
	if (a.data_size == sizeof (result))
		memcpy(&result, a.data_ptr, sizeof (result));
	return (result);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "b") == 0)
		return (b());
	int reg = door_create(registry, NULL, 0);
	int da = door_create(whoami, NULL, 0);
	int fds[] = { reg };
	char *args[] = { "c_door_desc", "b", NULL };
	pid_t child = ctest_spawn(args, fds, 1);
	while (handed < 0)
		sched_yield();
	int db = handed;
	door_info_t info;
	CHECK(door_info(db, &info) == 0 && info.di_target == child);
	printf("c_door_desc: client to server, released ok\n");

	/* A to B: B calls DA with the descriptor it received. */
	door_desc_t pass = passing(da, 0);
	CHECK(ask(db, 'c', &pass, 1, NULL) == child);
	CHECK(door_info(da, &info) == 0);
	/* ... with DOOR_RELEASE: A's copy goes. */
	int copy = dup(da);
	pass = passing(copy, 1);
	CHECK(ask(db, 'c', &pass, 1, NULL) == child);
	CHECK_ERR(door_info(copy, &info), EBADF);
	printf("c_door_desc: server gets a door in the arguments ok\n");

	/* B to A in the results, released in B. */
	door_desc_t got;
	CHECK(ask(db, 'g', NULL, 0, &got) == -1);
	int dx = received(&got);
	CHECK(door_info(dx, &info) == 0 && info.di_target == child);
	CHECK(call_whoami(dx) == getpid());
	printf("c_door_desc: client gets a door in the results ok\n");

	/* A file: B reads it from the shared offset and appends. */
	int file = open("/tmp/c_door_desc", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(file >= 0 && write(file, "from A", 6) == 6);
	CHECK(lseek(file, 5, SEEK_SET) == 5);
	int lent = dup(file);
	pass = passing(lent, 1);
	char reply[64];
	door_arg_t fa = {
		.data_ptr = "f", .data_size = 1, .desc_ptr = &pass,
		.desc_num = 1, .rbuf = reply, .rsize = sizeof (reply),
	};
	CHECK(door_call(db, &fa) == 0);
	CHECK(fa.data_size == 1 && fa.data_ptr[0] == 'A');
	CHECK(fcntl(lent, F_GETFD) == -1 && errno == EBADF);
	CHECK(lseek(file, 0, SEEK_CUR) == 12);
	char text[32] = "";
	CHECK(pread(file, text, sizeof (text), 0) == 12);
	CHECK(strcmp(text, "from A and B") == 0);
	CHECK(close(file) == 0 && unlink("/tmp/c_door_desc") == 0);
	printf("c_door_desc: a file passed with DOOR_RELEASE shares its "
	    "offset ok\n");

	/* B may not revoke A's door. */
	pass = passing(da, 0);
	CHECK(ask(db, 'r', &pass, 1, NULL) == EPERM);
	CHECK(call_whoami(da) == getpid());
	printf("c_door_desc: door_revoke in another process is EPERM ok\n");

	CHECK(kill(child, SIGTERM) == 0);
	int status;
	CHECK(waitpid(child, &status, 0) == child && WEXITSTATUS(status) == 0);
	CHECK_ERR(door_call(dx, NULL), EBADF);
	printf("c_door_desc: ok\n");
	return (0);
}
