/*
 * Files, directories, devices and pipes from C, through musl and the
 * Linux personality's file calls: stdio on a file in /tmp; open, read,
 * write, pread, pwrite, lseek, readv, writev, fstat, stat, statx,
 * ftruncate, truncate; mkdir, rmdir, rename, unlink, chmod, access, umask,
 * getcwd, chdir, readdir (getdents64), readlink; /dev/null and /dev/zero;
 * the console as a terminal (isatty), a file not; pipes with poll, dup2,
 * fcntl and O_NONBLOCK; and the errors by name (ENOENT, EEXIST, ENOTDIR,
 * EISDIR, ENOTEMPTY, EROFS, EBADF, ESPIPE, EACCES under seteuid).
 */
#include <ctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void
stdio_in_tmp(void)
{
	FILE *f = fopen("/tmp/c_files.txt", "w");
	CHECK(f != NULL);
	for (int i = 0; i < 100; i++)
		CHECK(fprintf(f, "line %d of %s\n", i, "c_files") > 0);
	CHECK(fclose(f) == 0);
	f = fopen("/tmp/c_files.txt", "r");
	CHECK(f != NULL);
	char line[64];
	for (int i = 0; i < 100; i++) {
		char want[64];
		snprintf(want, sizeof (want), "line %d of c_files\n", i);
		CHECK(fgets(line, sizeof (line), f) != NULL);
		CHECK(strcmp(line, want) == 0);
	}
	CHECK(fgets(line, sizeof (line), f) == NULL && feof(f));
	rewind(f);
	char all[4096];
	size_t n = fread(all, 1, sizeof (all), f);
	CHECK(n > 100 * 17 && memcmp(all, "line 0 of c_files\nline 1", 24) == 0);
	CHECK(fclose(f) == 0);
	printf("c_files: stdio in /tmp ok (%zu bytes)\n", n);
}

static void
descriptors(void)
{
	int fd = open("/tmp/raw", O_CREAT | O_RDWR | O_TRUNC, 0640);
	CHECK(fd >= 3);
	CHECK(write(fd, "hello world", 11) == 11);
	CHECK(lseek(fd, 0, SEEK_CUR) == 11);
	CHECK(pwrite(fd, "WORLD", 5, 6) == 5);
	char buf[32] = "";
	CHECK(pread(fd, buf, sizeof (buf), 0) == 11 && memcmp(buf, "hello WORLD", 11) == 0);
	CHECK(lseek(fd, 0, SEEK_CUR) == 11);
	CHECK(lseek(fd, -5, SEEK_END) == 6);
	CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "WORLD", 5) == 0);
	struct iovec iov[3] = {
		{ "one ", 4 }, { "two ", 4 }, { "three", 5 },
	};
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && writev(fd, iov, 3) == 13);
	char a[5], b[8];
	struct iovec in[2] = { { a, sizeof (a) }, { b, sizeof (b) } };
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && readv(fd, in, 2) == 13);
	CHECK(memcmp(a, "one t", 5) == 0 && memcmp(b, "wo three", 8) == 0);
	/* One call moves at most IO_MAX (256 KiB) in all: a short count. */
	static char big[2][160 << 10];
	struct iovec two[2] = { { big[0], sizeof (big[0]) },
	    { big[1], sizeof (big[1]) } };
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && writev(fd, two, 2) == 256 << 10);
	CHECK(writev(fd, two, 2) == 256 << 10);
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && readv(fd, two, 2) == 256 << 10);
	CHECK(readv(fd, two, 2) == 256 << 10);
	CHECK(ftruncate(fd, 13) == 0);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 13 && S_ISREG(st.st_mode));
	CHECK(st.st_mtime > 1577836800);	/* real time: after 2020 */
	CHECK((st.st_mode & 07777) == 0640);
	CHECK(ftruncate(fd, 4) == 0 && fstat(fd, &st) == 0 && st.st_size == 4);
	CHECK(truncate("/tmp/raw", 100) == 0);
	CHECK(stat("/tmp/raw", &st) == 0 && st.st_size == 100);
	/* statx, as Rust's std uses it. */
	unsigned char stx[256];
	CHECK(syscall(SYS_statx, AT_FDCWD, "/tmp/raw", 0, 0x7ff, stx) == 0);
	unsigned long long size;
	memcpy(&size, stx + 40, 8);
	CHECK(size == 100);
	CHECK(close(fd) == 0);
	CHECK_ERR(close(fd), EBADF);
	CHECK_ERR(read(fd, buf, 1), EBADF);
	printf("c_files: read, write, pread, pwrite, lseek, readv, writev, "
	    "stat, truncate ok\n");
}

static int
names_in(const char *dir, const char *want)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		found += strcmp(e->d_name, want) == 0;
	CHECK(closedir(d) == 0);
	return (found);
}

static void
directories(void)
{
	char cwd[256];
	mode_t old = umask(022);
	CHECK(mkdir("/tmp/d", 0777) == 0);
	struct stat st;
	CHECK(stat("/tmp/d", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK((st.st_mode & 0777) == 0755);
	CHECK(umask(old) == 022);
	CHECK_ERR(mkdir("/tmp/d", 0777), EEXIST);
	CHECK(chdir("/tmp/d") == 0 && getcwd(cwd, sizeof (cwd)) != NULL);
	CHECK(strcmp(cwd, "/tmp/d") == 0);
	int fd = open("file", O_CREAT | O_WRONLY | O_EXCL, 0600);
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK_ERR(open("file", O_CREAT | O_EXCL, 0600), EEXIST);
	CHECK_ERR(open("file/x", O_RDONLY), ENOTDIR);
	CHECK_ERR(open("file", O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERR(open("missing", O_RDONLY), ENOENT);
	CHECK(names_in(".", "file") == 1 && names_in("/tmp", "d") == 1);
	CHECK(rename("file", "renamed") == 0);
	CHECK(names_in(".", "file") == 0 && names_in(".", "renamed") == 1);
	CHECK(access("renamed", R_OK | W_OK) == 0);
	CHECK(chmod("renamed", 0400) == 0);
	char link[16];
	CHECK_ERR(readlink("renamed", link, sizeof (link)), EINVAL);
	CHECK_ERR(readlink("missing", link, sizeof (link)), ENOENT);
	CHECK(chdir("/") == 0);
	CHECK_ERR(rmdir("/tmp/d"), ENOTEMPTY);
	CHECK_ERR(unlink("/tmp/d"), EISDIR);
	CHECK(unlink("/tmp/d/renamed") == 0 && rmdir("/tmp/d") == 0);
	CHECK_ERR(stat("/tmp/d", &st), ENOENT);
	CHECK_ERR(open("/bin/c_files", O_WRONLY), EROFS);
	CHECK(unlink("/tmp/raw") == 0 && unlink("/tmp/c_files.txt") == 0);
	printf("c_files: directories, names and their errors ok\n");
}

static void
devices(void)
{
	char buf[8] = "xxxxxxx";
	int null = open("/dev/null", O_RDWR), zero = open("/dev/zero", O_RDONLY);
	CHECK(null >= 0 && zero >= 0);
	CHECK(write(null, "gone", 4) == 4 && read(null, buf, 8) == 0);
	CHECK(read(zero, buf, 8) == 8 && buf[0] == 0 && buf[7] == 0);
	CHECK(isatty(1) && !isatty(null));
	CHECK(errno == ENOTTY);
	CHECK(close(null) == 0 && close(zero) == 0);
	printf("c_files: /dev/null, /dev/zero and the console ok\n");
}

static void
pipes(void)
{
	int p[2];
	char buf[16];
	struct pollfd pf[2];

	CHECK(pipe(p) == 0);
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
	CHECK(poll(pf, 2, 0) == 1 && pf[0].revents == 0 && pf[1].revents == POLLOUT);
	CHECK(write(p[1], "through", 7) == 7);
	CHECK(poll(pf, 1, -1) == 1 && pf[0].revents == POLLIN);
	CHECK(read(p[0], buf, sizeof (buf)) == 7 && memcmp(buf, "through", 7) == 0);
	CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	CHECK_ERR(read(p[0], buf, 1), EAGAIN);
	CHECK(poll(pf, 1, 30) == 0);
	CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
	/* dup2 onto a chosen number, and the writer's end gone. */
	CHECK(dup2(p[1], 9) == 9 && dup2(9, 9) == 9);
	CHECK(close(p[1]) == 0);
	CHECK(write(9, "x", 1) == 1 && close(9) == 0);
	CHECK(poll(pf, 1, 0) == 1 && (pf[0].revents & POLLHUP));
	CHECK(read(p[0], buf, sizeof (buf)) == 1 && read(p[0], buf, 1) == 0);
	CHECK(close(p[0]) == 0);
	CHECK_ERR(dup2(p[0], 5), EBADF);
	printf("c_files: pipes, poll, dup2, fcntl ok\n");
}

/* A child with euid 100: the permission checks apply to it. */
static int
unprivileged(void)
{
	CHECK(seteuid(100) == 0);
	CHECK_ERR(open("/tmp/secret", O_RDONLY), EACCES);
	CHECK_ERR(mkdir("/dev/x", 0777), EACCES);
	CHECK(access("/tmp/secret", R_OK) == 0);	/* real id: root */
	int fd = open("/tmp/mine", O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && close(fd) == 0);
	struct stat st;
	CHECK(stat("/tmp/mine", &st) == 0 && st.st_uid == 100);
	CHECK(unlink("/tmp/mine") == 0);
	printf("c_files unprivileged: EACCES under seteuid ok\n");
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "unprivileged") == 0)
		return (unprivileged());
	stdio_in_tmp();
	descriptors();
	directories();
	devices();
	pipes();
	int fd = open("/tmp/secret", O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && close(fd) == 0);
	char *args[] = { "c_files", "unprivileged", NULL };
	pid_t c = ctest_spawn(args, NULL, 0);
	int status;
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 0);
	CHECK(unlink("/tmp/secret") == 0);
	printf("c_files: ok\n");
	return (0);
}
