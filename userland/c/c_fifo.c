/*
 * Named pipes (FIFOs) from C: mkfifo and mknod with their errors, stat,
 * lstat, fstat and readdir of a FIFO; unrelated processes (this program
 * spawned again with an argument) exchanging messages through one, with
 * blocking opens pairing up in both orders; O_NONBLOCK opens (a reader at
 * once, a writer ENXIO without a reader); O_RDWR; end of file when the
 * writer closes; EPIPE and SIGPIPE when the reader closes; the data gone
 * once every end is closed; unlink while open; descriptors inherited by
 * fork and handed to a spawned program; an open interrupted by a signal
 * (EINTR) and a process killed while blocked in an open (its end goes with
 * it); EACCES for a process that is not root. No step depends on timing:
 * the alarms only end waits that nothing else would end.
 */
#include <ctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIFO "/tmp/c_fifo"
enum { MESSAGES = 100 };

static volatile sig_atomic_t broken_pipes, alarms;

static void
on_sigpipe(int sig)
{
	(void)sig;
	broken_pipes++;
}

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Waits for child `pid`; its exit status (-1 if killed by a signal). */
static int
wait_for(pid_t pid)
{
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static pid_t
spawn(char *role, char *arg)
{
	char *argv[] = { "c_fifo", role, arg, NULL };
	return (ctest_spawn(argv, NULL, 0));
}

static void
send_messages(int fd)
{
	char line[32];
	for (int i = 0; i < MESSAGES; i++) {
		int n = snprintf(line, sizeof line, "message %d\n", i);
		CHECK(write(fd, line, n) == n);
	}
}

/* Reads every message up to end of file. */
static void
receive_messages(int fd)
{
	static char all[MESSAGES * 16];
	char expected[32];
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, all + len, sizeof all - len)) > 0)
		len += n;
	CHECK(n == 0);
	size_t at = 0;
	for (int i = 0; i < MESSAGES; i++) {
		int m = snprintf(expected, sizeof expected, "message %d\n", i);
		CHECK(at + m <= len && memcmp(all + at, expected, m) == 0);
		at += m;
	}
	CHECK(at == len);
}

/* The roles this program plays when spawned again. */
static int
writer(char *path)
{
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	send_messages(fd);
	CHECK(close(fd) == 0);
	return (0);
}

static int
reader(char *path)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	receive_messages(fd);
	CHECK(close(fd) == 0);
	return (0);
}

/* A writer that tells its parent (through the pipe `sync`) that it is
 * about to open: the parent's reader then usually opens second. */
static int
late_writer(char *sync)
{
	CHECK(write(atoi(sync), "!", 1) == 1);
	return (writer(FIFO));
}

/* Writes the messages to the FIFO descriptor it was handed (spawned), or
 * kept across exec (descriptor `number`). */
static int
handed(char *number)
{
	send_messages(number != NULL ? atoi(number) : CHILD_FD(0));
	return (0);
}

/* An open that only a signal ends: handled, it is EINTR. */
static int
interrupted(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	alarm(1);
	CHECK_ERR(open(FIFO, O_RDONLY), EINTR);
	CHECK(alarms == 1);
	return (0);
}

/* An open that a signal's default action ends: the process dies in it. */
static int
killed(void)
{
	alarm(1);
	open(FIFO, O_WRONLY);
	return (9);
}

static int
unprivileged(void)
{
	CHECK(seteuid(100) == 0);
	CHECK_ERR(open(FIFO, O_RDONLY | O_NONBLOCK), EACCES);
	CHECK_ERR(open(FIFO, O_WRONLY | O_NONBLOCK), EACCES);
	CHECK_ERR(mkfifo("/dev/c_fifo", 0666), EACCES);
	CHECK_ERR(mknod("/tmp/c_fifo_dev", S_IFCHR | 0600, makedev(1, 3)), EPERM);
	CHECK(mkfifo("/tmp/c_fifo_mine", 0600) == 0);
	struct stat st;
	CHECK(stat("/tmp/c_fifo_mine", &st) == 0 && st.st_uid == 100);
	int fd = open("/tmp/c_fifo_mine", O_RDWR);
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK(unlink("/tmp/c_fifo_mine") == 0);
	printf("c_fifo unprivileged: EACCES and EPERM ok\n");
	return (0);
}

static void
names(void)
{
	struct stat st;
	umask(022);
	CHECK(mkfifo(FIFO, 0666) == 0);
	CHECK(stat(FIFO, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK((st.st_mode & 07777) == 0644 && st.st_uid == 0 && st.st_size == 0);
	CHECK(lstat(FIFO, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK_ERR(mkfifo(FIFO, 0666), EEXIST);
	CHECK_ERR(mknod(FIFO, S_IFIFO | 0666, 0), EEXIST);
	CHECK_ERR(mkfifo("/tmp/c_fifo_none/x", 0666), ENOENT);
	CHECK_ERR(mkfifo(FIFO "/x", 0666), ENOTDIR);
	CHECK_ERR(mkfifo("/bin/c_fifo_x", 0666), EROFS);
	char longname[NAME_MAX + 8] = "/tmp/";
	memset(longname + 5, 'n', NAME_MAX + 1);
	CHECK_ERR(mkfifo(longname, 0666), ENAMETOOLONG);
	CHECK_ERR(mknod("/tmp/c_fifo_d", S_IFDIR | 0777, 0), EPERM);
	CHECK_ERR(mknod("/tmp/c_fifo_b", 0170000 | 0777, 0), EINVAL);
	CHECK(mkfifoat(AT_FDCWD, "/tmp/c_fifo_at", 0600) == 0);
	CHECK(stat("/tmp/c_fifo_at", &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK((st.st_mode & 07777) == 0600);
	CHECK(rename("/tmp/c_fifo_at", "/tmp/c_fifo_moved") == 0);
	CHECK(stat("/tmp/c_fifo_moved", &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(mknod("/tmp/c_fifo_reg", S_IFREG | 0600, 0) == 0);
	CHECK(stat("/tmp/c_fifo_reg", &st) == 0 && S_ISREG(st.st_mode));
	CHECK(st.st_size == 0 && unlink("/tmp/c_fifo_reg") == 0);

	DIR *d = opendir("/tmp");
	CHECK(d != NULL);
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, "c_fifo_moved") == 0)
			found = e->d_type == DT_FIFO;
	CHECK(found && closedir(d) == 0);
	CHECK(unlink("/tmp/c_fifo_moved") == 0);
	CHECK_ERR(stat("/tmp/c_fifo_moved", &st), ENOENT);
	printf("c_fifo: mkfifo, mknod, stat, readdir, rename and errors ok\n");
}

static void
unrelated(void)
{
	/* The reader opens first (the writer is still starting), then the
	 * other way round. */
	pid_t w = spawn("writer", FIFO);
	int fd = open(FIFO, O_RDONLY);
	CHECK(fd >= 0);
	receive_messages(fd);
	CHECK(close(fd) == 0 && wait_for(w) == 0);

	int sync[2];
	CHECK(pipe(sync) == 0);
	char *argv[] = { "c_fifo", "late_writer", "3", NULL };
	w = ctest_spawn(argv, &sync[1], 1);
	char c;
	CHECK(read(sync[0], &c, 1) == 1);
	CHECK(close(sync[0]) == 0 && close(sync[1]) == 0);
	fd = open(FIFO, O_RDONLY);
	CHECK(fd >= 0);
	receive_messages(fd);
	CHECK(close(fd) == 0 && wait_for(w) == 0);

	/* A reader waiting in its open counts as a reader: a non-blocking
	 * writer's open (tried until the reader is there) succeeds and
	 * completes the reader's. */
	pid_t r = spawn("reader", FIFO);
	while ((fd = open(FIFO, O_WRONLY | O_NONBLOCK)) < 0) {
		CHECK(errno == ENXIO);
		sched_yield();
	}
	CHECK(fcntl(fd, F_SETFL, 0) == 0);
	send_messages(fd);
	CHECK(close(fd) == 0 && wait_for(r) == 0);

	r = spawn("reader", FIFO);
	fd = open(FIFO, O_WRONLY);
	CHECK(fd >= 0);
	send_messages(fd);
	CHECK(close(fd) == 0 && wait_for(r) == 0);
	printf("c_fifo: unrelated processes, blocking opens in both orders ok\n");
}

static void
nonblocking(void)
{
	char buf[16];
	CHECK_ERR(open(FIFO, O_WRONLY | O_NONBLOCK), ENXIO);
	int rd = open(FIFO, O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0);
	CHECK(read(rd, buf, sizeof buf) == 0);	/* no writer: end of file */
	int wr = open(FIFO, O_WRONLY);		/* a reader: no wait */
	CHECK(wr >= 0);
	CHECK_ERR(read(rd, buf, sizeof buf), EAGAIN);
	struct pollfd p = { .fd = rd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 0);
	CHECK(write(wr, "hello", 5) == 5);
	CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLIN);
	CHECK(read(rd, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);

	/* End of file once the writer closes, after what it wrote. */
	CHECK(write(wr, "bye", 3) == 3 && close(wr) == 0);
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));
	CHECK(read(rd, buf, sizeof buf) == 3 && memcmp(buf, "bye", 3) == 0);
	CHECK(read(rd, buf, sizeof buf) == 0);

	/* EPIPE and SIGPIPE once the reader closes. */
	wr = open(FIFO, O_WRONLY);
	CHECK(wr >= 0 && close(rd) == 0);
	struct sigaction sa = { .sa_handler = on_sigpipe };
	CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
	CHECK_ERR(write(wr, "x", 1), EPIPE);
	CHECK(broken_pipes == 1 && close(wr) == 0);
	printf("c_fifo: O_NONBLOCK opens, ENXIO, end of file, EPIPE and SIGPIPE ok\n");
}

static void
read_write(void)
{
	char buf[16];
	struct stat st;
	int fd = open(FIFO, O_RDWR);		/* never waits */
	CHECK(fd >= 0);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	CHECK(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(write(fd, "both", 4) == 4);
	CHECK(read(fd, buf, sizeof buf) == 4 && memcmp(buf, "both", 4) == 0);
	CHECK_ERR(lseek(fd, 0, SEEK_SET), ESPIPE);
	CHECK_ERR(pread(fd, buf, 1, 0), ESPIPE);
	CHECK_ERR(ftruncate(fd, 0), EINVAL);
	CHECK_ERR(truncate(FIFO, 0), EINVAL);

	/* What is left when every end closes is gone. */
	CHECK(write(fd, "stale", 5) == 5 && close(fd) == 0);
	fd = open(FIFO, O_RDWR | O_NONBLOCK);
	CHECK(fd >= 0);
	CHECK_ERR(read(fd, buf, sizeof buf), EAGAIN);

	/* Removed while open: it goes on working, and the name is free. */
	CHECK(unlink(FIFO) == 0);
	CHECK_ERR(stat(FIFO, &st), ENOENT);
	CHECK(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_nlink == 0);
	CHECK(write(fd, "still", 5) == 5);
	CHECK(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "still", 5) == 0);
	CHECK(mkfifo(FIFO, 0644) == 0);
	int other = open(FIFO, O_RDWR | O_NONBLOCK);
	CHECK(other >= 0 && write(fd, "a", 1) == 1);
	CHECK_ERR(read(other, buf, sizeof buf), EAGAIN);	/* a new pipe */
	CHECK(close(other) == 0 && close(fd) == 0);
	printf("c_fifo: O_RDWR, ESPIPE, data gone after the last close, unlink while open ok\n");
}

static void
inherited(void)
{
	/* Across fork: the child writes what the parent reads. */
	CHECK_ERR(open(FIFO, O_WRONLY | O_NONBLOCK), ENXIO);
	int rd = open(FIFO, O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0 && fcntl(rd, F_SETFL, 0) == 0);
	int wr = open(FIFO, O_WRONLY);
	CHECK(wr >= 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		send_messages(wr);
		_exit(0);
	}
	CHECK(close(wr) == 0);
	receive_messages(rd);
	CHECK(wait_for(c) == 0);

	/* Handed to a spawned program. */
	CHECK((wr = open(FIFO, O_WRONLY)) >= 0);
	char *argv[] = { "c_fifo", "handed", NULL };
	c = ctest_spawn(argv, &wr, 1);
	CHECK(close(wr) == 0);
	receive_messages(rd);
	CHECK(wait_for(c) == 0);

	/* Kept by exec (this program run again, told the number). */
	CHECK((wr = open(FIFO, O_WRONLY)) >= 0);
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		char number[16];
		snprintf(number, sizeof number, "%d", wr);
		execl("/bin/c_fifo", "c_fifo", "handed", number, (char *)NULL);
		_exit(9);
	}
	CHECK(close(wr) == 0);
	receive_messages(rd);
	CHECK(wait_for(c) == 0 && close(rd) == 0);
	printf("c_fifo: descriptors across fork, spawn and exec ok\n");
}

static void
signalled(void)
{
	CHECK(wait_for(spawn("interrupted", NULL)) == 0);
	pid_t c = spawn("killed", NULL);
	int status;
	CHECK(waitpid(c, &status, 0) == c);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
	/* The killed writer's end went with it: a reader sees no writer. */
	int rd = open(FIFO, O_RDONLY | O_NONBLOCK);
	char buf[4];
	CHECK(rd >= 0 && read(rd, buf, sizeof buf) == 0 && close(rd) == 0);
	printf("c_fifo: an open interrupted (EINTR) and one killed ok\n");
}

int
main(int argc, char *argv[])
{
	if (argc > 1) {
		char *role = argv[1], *arg = argc > 2 ? argv[2] : NULL;
		if (strcmp(role, "writer") == 0)
			return (writer(arg));
		if (strcmp(role, "reader") == 0)
			return (reader(arg));
		if (strcmp(role, "late_writer") == 0)
			return (late_writer(arg));
		if (strcmp(role, "handed") == 0)
			return (handed(arg));
		if (strcmp(role, "interrupted") == 0)
			return (interrupted());
		if (strcmp(role, "killed") == 0)
			return (killed());
		if (strcmp(role, "unprivileged") == 0)
			return (unprivileged());
		return (2);
	}
	names();
	unrelated();
	nonblocking();
	read_write();
	inherited();
	signalled();
	CHECK(chmod(FIFO, 0600) == 0);
	CHECK(wait_for(spawn("unprivileged", NULL)) == 0);
	CHECK(unlink(FIFO) == 0);
	printf("c_fifo: done\n");
	return (0);
}
