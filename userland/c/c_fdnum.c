/*
 * POSIX descriptor numbers for a Linux program: every new descriptor is
 * the lowest free number and a closed number is free at once, so the shell
 * idioms work. close(1) + open redirects printf's output into a file;
 * close(0) + dup gives a pipe as stdin; pipe, F_DUPFD (and its CLOEXEC
 * form), dup2 and dup3 onto open and free numbers, up to RLIMIT_NOFILE; a
 * fork + exec child keeps its numbers (close-on-exec ones closed); a
 * pipeline `ls dir | sort > file` of two exec'd images built with fork,
 * close and dup; select on descriptors made after closes; and a door that
 * passes descriptors to this Linux program (and back to its client) lands
 * them at the receiver's lowest free numbers.
 *
 * Run with an argument it is one of the exec'd images: `ls DIR`, `sort`,
 * `inherit`, and `carried N`, which proc_exec (a native program) runs with
 * a descriptor N that carries its slot's generation (its slot was used
 * before): N keeps working, its slot's plain number is neither open nor
 * free (dup2 onto it is EBADF, closing nothing), and once N is closed the
 * slot gives its plain number.
 */
#include <ctest.h>
#include <dirent.h>
#include <door.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SELF "/bin/c_fdnum"
#define OUT "/tmp/c_fdnum.out"
#define LS_DIR "/tmp/c_fdnum.d"
#define SORTED "/tmp/c_fdnum.sorted"

/* A new descriptor for /dev/null. */
static int
null_fd(int flags)
{
	int fd = open("/dev/null", O_RDWR | flags);
	CHECK(fd >= 0);
	return (fd);
}

/* The whole of file `path`, as a string. */
static const char *
contents(const char *path)
{
	static char text[256];
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	ssize_t n = read(fd, text, sizeof (text) - 1);
	CHECK(n >= 0 && close(fd) == 0);
	text[n] = '\0';
	return (text);
}

static void
reap(pid_t child)
{
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Descriptors 3 and up are free again. */
static void
all_closed(void)
{
	int fd = null_fd(0);
	CHECK(fd == 3 && close(fd) == 0);
}

static void
redirections(void)
{
	int saved = dup(1);
	CHECK(saved == 3 && fflush(stdout) == 0);
	CHECK(close(1) == 0);
	int out = open(OUT, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK(out == 1);
	printf("into the file: %d\n", 42);
	CHECK(fflush(stdout) == 0);
	CHECK(dup2(saved, 1) == 1 && close(saved) == 0);
	CHECK(strcmp(contents(OUT), "into the file: 42\n") == 0);
	CHECK(unlink(OUT) == 0);

	int p[2];
	CHECK(pipe(p) == 0 && p[0] == 3 && p[1] == 4);
	int saved_in = dup(0);
	CHECK(saved_in == 5 && close(0) == 0);
	CHECK(dup(p[0]) == 0 && close(p[0]) == 0);
	CHECK(write(p[1], "through stdin\n", 14) == 14 && close(p[1]) == 0);
	char line[32];
	CHECK(fgets(line, sizeof (line), stdin) != NULL);
	CHECK(strcmp(line, "through stdin\n") == 0);
	CHECK(fgets(line, sizeof (line), stdin) == NULL && feof(stdin));
	clearerr(stdin);
	CHECK(dup2(saved_in, 0) == 0 && close(saved_in) == 0);
	all_closed();
	printf("c_fdnum: close(1) + open and close(0) + dup redirect ok\n");
}

static void
numbers(void)
{
	int a = null_fd(0), b = null_fd(0), c = null_fd(0), d = null_fd(0);
	CHECK(a == 3 && b == 4 && c == 5 && d == 6);
	CHECK(close(b) == 0 && close(d) == 0);
	int p[2], q[2];
	CHECK(pipe(p) == 0 && p[0] == 4 && p[1] == 6);
	CHECK(close(a) == 0 && close(c) == 0);
	CHECK(pipe(q) == 0 && q[0] == 3 && q[1] == 5);
	CHECK(null_fd(0) == 7);

	/* F_DUPFD: the lowest free number at or above its argument. */
	CHECK(fcntl(q[0], F_DUPFD, 10) == 10);
	CHECK(fcntl(q[0], F_DUPFD, 10) == 11);
	CHECK(fcntl(q[0], F_DUPFD, 5) == 8);
	CHECK(close(10) == 0);
	CHECK(fcntl(q[0], F_DUPFD_CLOEXEC, 9) == 9);
	CHECK(fcntl(9, F_GETFD) == FD_CLOEXEC);
	CHECK(fcntl(q[0], F_DUPFD, 9) == 10);
	CHECK(close(p[0]) == 0 && dup(q[1]) == 4);

	/* dup2 onto an open number replaces what is open there. */
	int file = open("/tmp/c_fdnum.dup2", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(file == 12);
	CHECK(dup2(file, 7) == 7);
	struct stat by_file, by_7;
	CHECK(fstat(file, &by_file) == 0 && fstat(7, &by_7) == 0);
	CHECK(by_7.st_ino == by_file.st_ino && S_ISREG(by_7.st_mode));
	CHECK(write(7, "via 7", 5) == 5);
	CHECK(strcmp(contents("/tmp/c_fdnum.dup2"), "via 7") == 0);
	/* ... and onto a free one takes it, leaving the lower ones free. */
	CHECK(dup2(file, 30) == 30 && null_fd(0) == 13);
	CHECK(dup3(file, 30, O_CLOEXEC) == 30 && fcntl(30, F_GETFD) == FD_CLOEXEC);
	struct rlimit nofile;
	CHECK(getrlimit(RLIMIT_NOFILE, &nofile) == 0);
	int top = (int)nofile.rlim_cur - 1;
	CHECK(dup2(file, top) == top && close(top) == 0);
	CHECK_ERR(dup2(file, top + 1), EBADF);
	CHECK_ERR(fcntl(file, F_DUPFD, top + 1), EINVAL);
	for (int fd = 3; fd <= 13; fd++)
		CHECK(close(fd) == 0);
	CHECK(close(30) == 0 && unlink("/tmp/c_fdnum.dup2") == 0);
	CHECK_ERR(close(30), EBADF);
	all_closed();
	printf("c_fdnum: pipe, dup, F_DUPFD, dup2 and dup3 take the lowest free "
	    "numbers ok\n");
}

/* The image of `inherit`: the pipe's ends as 3 and 9, 4 closed at exec. */
static int
inherit(void)
{
	struct stat st;
	CHECK(fstat(3, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(fstat(9, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK_ERR(fcntl(4, F_GETFD), EBADF);
	CHECK(null_fd(0) == 4);
	CHECK(write(9, "inherited", 9) == 9);
	return (0);
}

static void
fork_exec(void)
{
	int p[2];
	CHECK(pipe(p) == 0 && p[0] == 3 && p[1] == 4);
	CHECK(dup2(p[1], 9) == 9 && close(p[1]) == 0);
	CHECK(null_fd(O_CLOEXEC) == 4);
	CHECK(fflush(stdout) == 0);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		execl(SELF, "c_fdnum", "inherit", (char *)NULL);
		_exit(3);
	}
	CHECK(close(9) == 0 && close(4) == 0);
	char got[16] = "";
	CHECK(read(p[0], got, sizeof (got)) == 9 && strcmp(got, "inherited") == 0);
	reap(child);
	CHECK(close(p[0]) == 0);
	all_closed();
	printf("c_fdnum: a fork + exec child keeps its numbers ok\n");
}

/* The image of `ls DIR`: the names in DIR, one a line. */
static int
ls(const char *dir)
{
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			printf("%s\n", e->d_name);
	}
	CHECK(closedir(d) == 0);
	return (0);
}

static int
by_text(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* The image of `sort`: stdin's lines, sorted, from a pipe into a file. */
static int
sort(void)
{
	struct stat st;
	CHECK(fstat(0, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(fstat(1, &st) == 0 && S_ISREG(st.st_mode));
	static char lines[16][32];
	char *order[16];
	int n = 0;
	while (n < 16 && fgets(lines[n], sizeof (lines[n]), stdin) != NULL) {
		order[n] = lines[n];
		n++;
	}
	CHECK(feof(stdin));
	qsort(order, (size_t)n, sizeof (order[0]), by_text);
	for (int i = 0; i < n; i++)
		fputs(order[i], stdout);
	return (0);
}

/* `ls DIR | sort > SORTED`, as a shell builds it. */
static void
pipeline(void)
{
	CHECK(mkdir(LS_DIR, 0755) == 0);
	const char *names[] = { "one", "two", "three", "four" };
	for (int i = 0; i < 4; i++) {
		char path[64];
		snprintf(path, sizeof (path), "%s/%s", LS_DIR, names[i]);
		int fd = open(path, O_CREAT | O_WRONLY, 0644);
		CHECK(fd == 3 && close(fd) == 0);
	}
	int p[2];
	CHECK(pipe(p) == 0 && fflush(stdout) == 0);
	pid_t producer = fork();
	CHECK(producer >= 0);
	if (producer == 0) {
		if (close(1) != 0 || dup(p[1]) != 1)
			_exit(2);
		close(p[0]);
		close(p[1]);
		execl(SELF, "c_fdnum", "ls", LS_DIR, (char *)NULL);
		_exit(3);
	}
	pid_t consumer = fork();
	CHECK(consumer >= 0);
	if (consumer == 0) {
		if (close(0) != 0 || dup(p[0]) != 0)
			_exit(2);
		close(p[0]);
		close(p[1]);
		if (close(1) != 0 ||
		    open(SORTED, O_CREAT | O_WRONLY | O_TRUNC, 0644) != 1)
			_exit(2);
		execl(SELF, "c_fdnum", "sort", (char *)NULL);
		_exit(3);
	}
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	reap(producer);
	reap(consumer);
	CHECK(strcmp(contents(SORTED), "four\none\nthree\ntwo\n") == 0);
	for (int i = 0; i < 4; i++) {
		char path[64];
		snprintf(path, sizeof (path), "%s/%s", LS_DIR, names[i]);
		CHECK(unlink(path) == 0);
	}
	CHECK(rmdir(LS_DIR) == 0 && unlink(SORTED) == 0);
	all_closed();
	printf("c_fdnum: ls | sort > file through fork, close, dup and exec ok\n");
}

static void
selects(void)
{
	/* Many opens and closes: the numbers stay small. */
	for (int i = 0; i < 100; i++) {
		int a = null_fd(0), b = null_fd(0);
		CHECK(a == 3 && b == 4 && close(a) == 0 && close(b) == 0);
	}
	int hole = null_fd(0), kept = null_fd(0);
	CHECK(close(hole) == 0);
	int p[2];
	CHECK(pipe(p) == 0 && p[0] == hole && p[1] == kept + 1);
	CHECK(fflush(stdout) == 0);
	pid_t writer = fork();
	CHECK(writer >= 0);
	if (writer == 0) {
		struct timespec nap = { 0, 20 * 1000 * 1000 };
		nanosleep(&nap, NULL);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	fd_set r, w;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK(select(p[0] + 1, &r, NULL, NULL, NULL) == 1 && FD_ISSET(p[0], &r));
	reap(writer);
	char byte;
	CHECK(read(p[0], &byte, 1) == 1 && byte == 'x');
	struct timeval zero = { 0, 0 };
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	CHECK(select(p[1] + 1, &r, &w, NULL, &zero) == 1);
	CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w));
	CHECK(close(p[0]) == 0 && close(p[1]) == 0 && close(kept) == 0);
	all_closed();
	printf("c_fdnum: select on descriptors made after closes ok\n");
}

/* What the door's server expects to receive its two descriptors as. */
static int expected[2];

/* Two descriptors in: their numbers back (after writing to the first, a
 * pipe's write end). None: a pipe's read end back, released. */
static void
receiver(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void)cookie, (void)argp, (void)size;
	if (n == 2) {
		int got[2];
		for (int i = 0; i < 2; i++) {
			CHECK(dp[i].d_attributes & DOOR_DESCRIPTOR);
			got[i] = dp[i].d_data.d_desc.d_descriptor;
		}
		struct stat st;
		CHECK(fstat(got[1], &st) == 0 && S_ISCHR(st.st_mode));
		CHECK(write(got[0], "d", 1) == 1);
		CHECK(close(got[0]) == 0 && close(got[1]) == 0);
		door_return((char *)got, sizeof (got), NULL, 0);
	}
	int q[2];
	CHECK(pipe(q) == 0 && write(q[1], "back", 4) == 4 && close(q[1]) == 0);
	door_desc_t out = {
		.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE,
		.d_data.d_desc.d_descriptor = q[0],
	};
	door_return(NULL, 0, &out, 1);
}

/* The client, a forked child: passes a pipe's write end and /dev/null,
 * then gets a descriptor at its own lowest free number. */
static int
door_client(int door)
{
	int w[2];
	CHECK(pipe(w) == 0);
	int null = null_fd(0);
	door_desc_t pass[2] = {
		{ .d_attributes = DOOR_DESCRIPTOR, .d_data.d_desc.d_descriptor = w[1] },
		{ .d_attributes = DOOR_DESCRIPTOR, .d_data.d_desc.d_descriptor = null },
	};
	int numbers[2] = { -1, -1 };
	door_arg_t a = {
		.desc_ptr = pass, .desc_num = 2,
		.rbuf = (char *)numbers, .rsize = sizeof (numbers),
	};
	CHECK(door_call(door, &a) == 0 && a.data_size == sizeof (numbers));
	memcpy(numbers, a.data_ptr, sizeof (numbers));
	CHECK(numbers[0] == expected[0] && numbers[1] == expected[1]);
	char byte;
	CHECK(read(w[0], &byte, 1) == 1 && byte == 'd');

	CHECK(close(null) == 0);
	int hole = null_fd(0);
	CHECK(close(hole) == 0);
	char rbuf[16];
	door_arg_t b = { .rbuf = rbuf, .rsize = sizeof (rbuf) };
	CHECK(door_call(door, &b) == 0 && b.desc_num == 1);
	CHECK(b.desc_ptr[0].d_data.d_desc.d_descriptor == hole);
	char text[8] = "";
	CHECK(read(hole, text, sizeof (text)) == 4 && strcmp(text, "back") == 0);
	return (0);
}

static void
doors(void)
{
	int door = door_create(receiver, NULL, 0);
	CHECK(door == 3);
	/* Holes at 4 and 6: where the server receives. */
	int a = null_fd(0), b = null_fd(0), c = null_fd(0);
	CHECK(a == 4 && b == 5 && c == 6);
	CHECK(close(a) == 0 && close(c) == 0);
	expected[0] = a;
	expected[1] = c;
	CHECK(fflush(stdout) == 0);
	pid_t client = fork();
	CHECK(client >= 0);
	if (client == 0)
		_exit(door_client(door));
	reap(client);
	/* The server closed what it received: the holes are free again. */
	CHECK(null_fd(0) == 4 && null_fd(0) == 6);
	CHECK(close(4) == 0 && close(5) == 0 && close(6) == 0);
	CHECK(close(door) == 0);
	all_closed();
	printf("c_fdnum: descriptors a door passes land at the lowest free "
	    "numbers ok\n");
}

/* The image of `carried N`. */
static int
carried(int n)
{
	int k = n & 4095;
	struct stat st;
	CHECK(n > 4095 && fstat(n, &st) == 0 && S_ISCHR(st.st_mode));
	CHECK_ERR(fcntl(k, F_GETFD), EBADF);
	CHECK_ERR(dup2(1, k), EBADF);
	CHECK(fstat(n, &st) == 0 && S_ISCHR(st.st_mode));
	int above = fcntl(1, F_DUPFD, k);
	CHECK(above > k && above < 4096);
	CHECK(close(n) == 0);
	CHECK_ERR(fstat(n, &st), EBADF);
	CHECK(fcntl(1, F_DUPFD, k) == k);
	CHECK(close(k) == 0 && close(above) == 0);
	printf("c_fdnum carried: a number with a generation from a native "
	    "image ok\n");
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "ls") == 0)
		return (ls(argv[2]));
	if (argc == 2 && strcmp(argv[1], "sort") == 0)
		return (sort());
	if (argc == 2 && strcmp(argv[1], "inherit") == 0)
		return (inherit());
	if (argc == 3 && strcmp(argv[1], "carried") == 0)
		return (carried(atoi(argv[2])));
	all_closed();
	redirections();
	numbers();
	fork_exec();
	pipeline();
	selects();
	doors();
	printf("c_fdnum: ok\n");
	return (0);
}
