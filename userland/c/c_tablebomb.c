/*
 * A descriptor-table bomb: a fork tree fills the system to its process
 * limit; every process raises its table to 4,096 (as root), starts 16
 * threads whose door calls would wait on a door nobody serves, each
 * carrying 256 descriptors, and fills its table with duplicates. Tables
 * that size in every process are more than the kernel heap holds (it
 * used to end in a kernel panic: no memory for the thread records); the
 * system-wide bounds stop it first: abi::MAX_TABLE_SLOTS (ENFILE) and
 * abi::MAX_QUEUED_DESCS (door_call EAGAIN). Once released, everything is
 * reaped and descriptors can be made again.
 */
#include <ctest.h>
#include <door.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define TABLE 4096
#define CALLERS 16
#define DESCS 256

static int done_w, release_r, release_w;
static int unserved, null_fd;
static volatile int call_failed;

static void
serve(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void)cookie, (void)argp, (void)size, (void)dp, (void)n;
	door_return(NULL, 0, NULL, 0);
}

/* No server thread is ever made: the door's calls wait. */
static void
no_server(door_info_t *info)
{
	(void)info;
}

/* Calls the unserved door with DESCS descriptors: the call waits until
 * the process ends, or fails with EAGAIN (the waiting calls carry the
 * most descriptors there may be) or EMFILE (the table, which would take
 * them, is full by now). */
static void *
caller(void *arg)
{
	static door_desc_t descs[DESCS];
	door_arg_t params = { 0 };

	for (int i = 0; i < DESCS; i++) {
		descs[i].d_attributes = DOOR_DESCRIPTOR;
		descs[i].d_data.d_desc.d_descriptor = null_fd;
	}
	params.desc_ptr = descs;
	params.desc_num = DESCS;
	if (door_call(unserved, &params) != -1 ||
	    (errno != EAGAIN && errno != EMFILE))
		call_failed = 1;
	return (arg);
}

/* Whether errno says the table or the system's tables are full. */
static int
full(void)
{
	return (errno == ENFILE || errno == EMFILE);
}

/* Starts the callers (unless the tables are full already), fills the
 * table, reports how that ended on done_w ('E' ENFILE, 'M' EMFILE, 'x'
 * anything else), waits for the release, reaps its children and exits
 * (1 if a call ended other than as expected, or a child with 1). */
static void
fill(void)
{
	pthread_attr_t attr;
	char how = 'x';

	door_server_create(no_server);
	unserved = door_create(serve, NULL, DOOR_PRIVATE);
	null_fd = open("/dev/null", O_RDONLY);
	if (unserved >= 0 && null_fd >= 0) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 16384);
		for (int i = 0; i < CALLERS; i++) {
			pthread_t t;

			if (pthread_create(&t, &attr, caller, NULL) != 0)
				break;
		}
	} else if (!full()) {
		goto report;
	}
	while (dup(0) >= 0)
		;
	how = errno == ENFILE ? 'E' : errno == EMFILE ? 'M' : 'x';
report:
	CHECK(write(done_w, &how, 1) == 1);
	close(done_w);
	read(release_r, &how, 1);
	int status, failed = call_failed;

	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	_exit(failed);
}

/* Forks up to n children that fill; each fork may fail only with
 * EAGAIN (the process limit). */
static void
fork_fillers(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0)
			fill();
		if (pid < 0) {
			CHECK(errno == EAGAIN);
			break;
		}
	}
}

int
main(void)
{
	struct rlimit rl = { TABLE, TABLE };
	int done[2], release[2], status;
	long processes = 0, enfile = 0, emfile = 0, other = 0;
	char how;

	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(pipe(done) == 0 && pipe(release) == 0);
	done_w = done[1];
	release_r = release[0];
	release_w = release[1];
	fflush(stdout);
	for (int m = 0; m < 8; m++) {
		pid_t pid = fork();

		if (pid == 0) {
			close(release_w);
			fork_fillers(40);
			fill();
		}
		if (pid < 0) {
			CHECK(errno == EAGAIN);
			break;
		}
	}
	close(done_w);
	close(release_r);
	while (read(done[0], &how, 1) == 1) {
		processes++;
		enfile += how == 'E';
		emfile += how == 'M';
		other += how == 'x';
	}
	CHECK(other == 0);
	CHECK(enfile > 0);
	CHECK_ERR(fcntl(0, F_DUPFD, TABLE - 1), ENFILE);
	printf("c_tablebomb: %ld processes: %ld tables full (EMFILE), "
	    "%ld stopped by the system's bound (ENFILE)\n",
	    processes, emfile, enfile);
	close(release_w);
	while (wait(&status) > 0)
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int fd = fcntl(0, F_DUPFD, TABLE - 1);
	CHECK(fd == TABLE - 1);
	close(fd);
	printf("c_tablebomb: ok\n");
	return (0);
}
