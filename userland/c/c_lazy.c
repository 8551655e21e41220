/*
 * Demand-zero memory of the Linux personality: an anonymous mmap, brk
 * growth and mremap growth take no frame until a page is first touched,
 * by the program (its page fault) or by the kernel (a read into it, a
 * write or door call from it, a door call's results into it). Checked
 * through the free-frame counter (only this program runs meanwhile):
 * - mmap of most of the memory limit in one call takes a few frames at
 *   most, touching a few pages a few more; munmap gives them back; beyond
 *   the limit mmap is ENOMEM;
 * - untouched pages read as zeros, from the program and from the kernel
 *   (write() and a door call's arguments and results, within one page,
 *   over a few pages and over many), and take what the kernel writes;
 * - fork of a partly touched area: each side sees its own pages, touched
 *   or not;
 * - with every frame taken, a touch kills the process (SIGKILL, with the
 *   kernel's report), and a call that touches fails with ENOMEM.
 */
#include <ctest.h>
#include <door.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/native.h"

#define PAGE 4096
/* Frames a few touches may take besides their pages: page tables. */
#define TABLES 8
/* Sizes of kernel accesses: within one page, a few pages (checked in the
 * page tables), many pages (checked in the list of areas). */
#define SMALL 100
#define FEW (5 * PAGE)
#define MANY (12 * PAGE)

static long
free_frames(void)
{
	return (syscall(SYS_kstat, KSTAT_FREE_FRAMES));
}

static char *
map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	return (p);
}

static int
all(const volatile char *p, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return (0);
	return (1);
}

static void
large(void)
{
	struct rlimit lim;
	CHECK(getrlimit(RLIMIT_AS, &lim) == 0);
	size_t len = (lim.rlim_cur - (8 << 20)) & ~(size_t)(PAGE - 1);
	CHECK(mmap(NULL, lim.rlim_cur + PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
	CHECK(errno == ENOMEM);
	long before = free_frames();
	volatile char *p = map(len);
	CHECK(before - free_frames() <= TABLES);
	p[0] = 1;
	p[len / 2] = 2;
	p[len - 1] = 3;
	CHECK(p[PAGE] == 0 && p[len - PAGE - 1] == 0);
	CHECK(p[0] == 1 && p[len / 2] == 2 && p[len - 1] == 3);
	CHECK(before - free_frames() <= 5 + 2 * TABLES);
	CHECK(munmap((void *)p, len) == 0);
	CHECK(free_frames() >= before - TABLES);
	printf("c_lazy: mmap of %zu MiB, three pages touched: a few frames\n",
	    len >> 20);
}

static void
growth(void)
{
	long before = free_frames();
	char *start = (char *)syscall(SYS_brk, 0);
	char *end = start + (32 << 20);
	CHECK((char *)syscall(SYS_brk, end) == end);
	CHECK(before - free_frames() <= TABLES);
	CHECK(all(end - SMALL, SMALL, 0));
	end[-1] = 'b';
	CHECK((char *)syscall(SYS_brk, start) == start);

	volatile char *p = map(PAGE);
	p[0] = 'm';
	before = free_frames();
	CHECK(mremap((void *)p, PAGE, 32 << 20, 0) == p);
	CHECK(before - free_frames() <= TABLES);
	CHECK(p[0] == 'm' && p[(32 << 20) - 1] == 0);
	CHECK(munmap((void *)p, 32 << 20) == 0);
	printf("c_lazy: brk and mremap growth take no frames\n");
}

/* The door server: the arguments must be zeros (an untouched buffer of the
 * caller); the results come from an untouched buffer but for their first
 * byte. */
static char *results;

static void
serve(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) dp, (void) n;
	results[0] = all(argp, size, 0) ? 'z' : 'x';
	door_return(results, size, NULL, 0);
}

static void
kernel_access(void)
{
	/* write() from untouched memory, read() into untouched memory. */
	char *f = "/tmp/c_lazy";
	int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	static char back[MANY];
	size_t sizes[] = { SMALL, FEW, MANY };
	for (int i = 0; i < 3; i++) {
		size_t n = sizes[i];
		/* Within a page, or across pages from the middle of one. */
		size_t at = n < PAGE ? 10 : PAGE / 2;
		char *src = map(MANY + PAGE) + at;
		memset(back, 'q', n);
		CHECK(pwrite(fd, src, n, 0) == (ssize_t)n);
		CHECK(pread(fd, back, n, 0) == (ssize_t)n);
		CHECK(all(back, n, 0) && all(src, n, 0));
		memset(back, 'w', n);
		CHECK(pwrite(fd, back, n, 0) == (ssize_t)n);
		char *dst = map(MANY + PAGE) + at;
		CHECK(pread(fd, dst, n, 0) == (ssize_t)n);
		CHECK(all(dst, n, 'w') && all(dst + n, SMALL, 0));
	}
	int p[2];
	CHECK(pipe(p) == 0);
	char *src = map(PAGE), *dst = map(PAGE);
	CHECK(write(p[1], src + 10, SMALL) == SMALL);
	CHECK(read(p[0], dst + 20, SMALL) == SMALL);
	CHECK(all(dst, PAGE, 0));
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	CHECK(close(fd) == 0 && unlink(f) == 0);
	printf("c_lazy: read and write with untouched buffers ok\n");

	results = map(MANY);
	int d = door_create(serve, NULL, 0);
	CHECK(d >= 0);
	for (int i = 0; i < 3; i++) {
		size_t n = sizes[i];
		char *args = map(MANY), *rbuf = map(MANY);
		door_arg_t arg = { args, n, NULL, 0, rbuf, MANY };
		CHECK(door_call(d, &arg) == 0);
		CHECK(arg.rbuf == rbuf && arg.data_ptr == rbuf);
		CHECK(arg.data_size == n);
		CHECK(rbuf[0] == 'z' && all(rbuf + 1, MANY - 1, 0));
	}
	CHECK(door_revoke(d) == 0);
	printf("c_lazy: door calls with untouched buffers ok\n");
}

static void
forked(void)
{
	volatile char *p = map(8 * PAGE);
	p[0] = 'a';
	p[3 * PAGE] = 'a';
	int fds[2];
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "kernel", 6) == 6);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		int ok = p[0] == 'a' && p[3 * PAGE] == 'a' &&
		    all(p + PAGE, PAGE, 0) && all(p + 7 * PAGE, PAGE, 0);
		p[PAGE] = 'c';
		p[3 * PAGE] = 'c';
		ok = ok && read(fds[0], (char *)p + 5 * PAGE, 6) == 6 &&
		    memcmp((char *)p + 5 * PAGE, "kernel", 6) == 0;
		_exit(ok && p[PAGE] == 'c' && p[3 * PAGE] == 'c' ? 0 : 1);
	}
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(p[0] == 'a' && p[3 * PAGE] == 'a');
	CHECK(all(p + PAGE, PAGE, 0) && all(p + 5 * PAGE, PAGE, 0));
	p[7 * PAGE] = 'p';
	CHECK(close(fds[0]) == 0 && close(fds[1]) == 0);
	CHECK(munmap((void *)p, 8 * PAGE) == 0);
	printf("c_lazy: fork of a partly touched area ok\n");
}

/* Writes to every page of the stack this process may use, so that they are
 * its own (not copy-on-write) before memory runs out. */
static void __attribute__((noinline))
own_the_stack(void)
{
	volatile char block[64 * 1024];
	for (size_t i = 0; i < sizeof (block); i += PAGE)
		block[i] = 1;
}

/* Raises this process's memory limit (it runs as root). */
static void
no_memory_limit(void)
{
	struct rlimit none = { RLIM_INFINITY, RLIM_INFINITY };
	CHECK(setrlimit(RLIMIT_AS, &none) == 0);
}

static void
exhausted(void)
{
	/* A child touches more than there is. */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		no_memory_limit();
		size_t len = (size_t)1 << 30;
		volatile char *p = map(len);
		for (size_t i = 0; i < len; i += PAGE)
			p[i] = 1;
		_exit(1);
	}
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	printf("c_lazy: a touch with no frame left kills (SIGKILL)\n");

	/* A child takes every frame, then calls the kernel with untouched
	 * buffers. */
	char *f = "/tmp/c_lazy";
	int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "data", 4) == 4);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		no_memory_limit();
		char *buf = map(FEW);
		long hoard[64], sizes[64];
		own_the_stack();
		errno = 0;
		int count = 0;
		for (long size = MEM_MAP_MAX; size >= PAGE && count < 64;) {
			long at = syscall(SYS_mem_map, size, PROT_READ, 0);
			if (at == -1) {
				size /= 2;
				continue;
			}
			hoard[count] = at;
			sizes[count++] = size;
		}
		errno = 0;
		long got = pread(fd, buf, 4, 0);
		int read_errno = errno;
		errno = 0;
		long put = pwrite(fd, buf + 2 * PAGE, 4, 0);
		int write_errno = errno;
		for (int i = 0; i < count; i++)
			CHECK(syscall(SYS_mem_unmap, hoard[i], sizes[i]) == 0);
		CHECK(got == -1 && read_errno == ENOMEM);
		CHECK(put == -1 && write_errno == ENOMEM);
		CHECK(pread(fd, buf, 4, 0) == 4 && memcmp(buf, "data", 4) == 0);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(close(fd) == 0 && unlink(f) == 0);
	printf("c_lazy: a call that touches with no frame left is ENOMEM\n");
}

int
main(void)
{
	large();
	growth();
	kernel_access();
	forked();
	exhausted();
	printf("c_lazy: ok\n");
	return (0);
}
