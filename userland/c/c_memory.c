/*
 * Memory calls of the Linux personality from C: anonymous mmap (anywhere,
 * at a hint, MAP_FIXED replacing, MAP_FIXED_NOREPLACE), PROT_NONE
 * reservations made accessible piece by piece with mprotect (contents kept
 * across PROT_NONE and back), munmap of a page in the middle of an area,
 * mremap growing in place and shrinking, brk growing and shrinking, and
 * madvise. A touch of a PROT_NONE guard page kills the process with the
 * kernel's report (a child does that: status 142, 128 + #PF).
 */
#include <ctest.h>
#include <signal.h>
#include <spawn_np.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static char *
map(void *hint, size_t len, int prot, int flags)
{
	return (mmap(hint, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1,
	    0));
}

static void
fill(char *p, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		p[i] = c;
}

static int
all(const char *p, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return (0);
	return (1);
}

static void
anonymous(void)
{
	char *a = map(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, 0);
	CHECK(a != MAP_FAILED && (uintptr_t)a % PAGE == 0);
	CHECK(all(a, 3 * PAGE, 0));
	fill(a, 3 * PAGE, 'a');
	/* A free hint is taken. */
	char *want = a + 64 * PAGE;
	char *h = map(want, PAGE, PROT_READ | PROT_WRITE, 0);
	CHECK(h == want);
	/* MAP_FIXED_NOREPLACE refuses a used range; MAP_FIXED replaces it
	 * with fresh zeroed pages. */
	CHECK(map(a + PAGE, PAGE, PROT_READ, MAP_FIXED_NOREPLACE) == MAP_FAILED);
	CHECK(errno == EEXIST);
	CHECK(map(a + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) == a + PAGE);
	CHECK(all(a, PAGE, 'a') && all(a + PAGE, PAGE, 0) &&
	    all(a + 2 * PAGE, PAGE, 'a'));
	/* Unmapping the middle page leaves the two ends. */
	CHECK(munmap(a + PAGE, PAGE) == 0);
	CHECK(all(a, PAGE, 'a') && all(a + 2 * PAGE, PAGE, 'a'));
	CHECK(mprotect(a, 3 * PAGE, PROT_READ) == -1 && errno == ENOMEM);
	CHECK(munmap(a, 3 * PAGE) == 0);
	CHECK(munmap(a, 3 * PAGE) == 0);
	CHECK(munmap(h, PAGE) == 0);
	printf("c_memory: mmap, MAP_FIXED and munmap of a middle page ok\n");
}

static void
reservations(void)
{
	/* As musl and glibc make thread stacks: reserve, then open up. */
	char *r = map(NULL, 16 * PAGE, PROT_NONE, 0);
	CHECK(r != MAP_FAILED);
	CHECK(mprotect(r + PAGE, 15 * PAGE, PROT_READ | PROT_WRITE) == 0);
	CHECK(all(r + PAGE, 15 * PAGE, 0));
	fill(r + PAGE, 15 * PAGE, 'r');
	/* Contents survive PROT_NONE and back; read-only stays readable. */
	CHECK(mprotect(r + 4 * PAGE, 4 * PAGE, PROT_NONE) == 0);
	CHECK(mprotect(r + 4 * PAGE, 2 * PAGE, PROT_READ) == 0);
	CHECK(all(r + 4 * PAGE, 2 * PAGE, 'r'));
	CHECK(mprotect(r + 4 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE) == 0);
	CHECK(all(r + PAGE, 15 * PAGE, 'r'));
	CHECK(madvise(r + PAGE, 4 * PAGE, MADV_DONTNEED) == 0);
	CHECK(madvise(r, PAGE, 1000) == -1 && errno == EINVAL);
	CHECK(munmap(r, 16 * PAGE) == 0);
	printf("c_memory: PROT_NONE reservations and mprotect ok\n");
}

static void
remap(void)
{
	char *m = map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, 0);
	CHECK(m != MAP_FAILED);
	fill(m, 2 * PAGE, 'm');
	/* The page after an area the kernel placed is free: it grows there. */
	char *g = mremap(m, 2 * PAGE, 3 * PAGE, 0);
	CHECK(g == m);
	CHECK(all(m, 2 * PAGE, 'm') && all(m + 2 * PAGE, PAGE, 0));
	CHECK(mremap(m, 3 * PAGE, PAGE, 0) == m);
	CHECK(all(m, PAGE, 'm'));
	/* Growing into a used range would need a move: ENOMEM. */
	char *next = map(m + PAGE, PAGE, PROT_READ, MAP_FIXED);
	CHECK(next == m + PAGE);
	CHECK(mremap(m, PAGE, 2 * PAGE, MREMAP_MAYMOVE) == MAP_FAILED);
	CHECK(errno == ENOMEM);
	CHECK(mremap(m + 100 * PAGE, PAGE, 2 * PAGE, 0) == MAP_FAILED);
	CHECK(errno == EFAULT);
	CHECK(munmap(m, 2 * PAGE) == 0);
	printf("c_memory: mremap ok\n");
}

/* musl's brk() and sbrk(n) always fail (its malloc owns the break), so
 * the break is moved with the system call itself, which returns the new
 * break, or the old one when it cannot move. */
static char *
set_break(char *at)
{
	return ((char *)syscall(SYS_brk, at));
}

static void
program_break(void)
{
	char *start = set_break(NULL);
	CHECK(start != NULL);
	CHECK(set_break(start + 3 * PAGE) == start + 3 * PAGE);
	fill(start, 3 * PAGE, 'b');
	CHECK(set_break(start + PAGE + 1) == start + PAGE + 1);
	CHECK(all(start, PAGE, 'b'));
	/* The break's page stays mapped with its contents; a page mapped
	 * again is zeroed. */
	CHECK(all(start + PAGE, PAGE, 'b'));
	CHECK(set_break(start + 3 * PAGE) == start + 3 * PAGE);
	CHECK(all(start + PAGE, PAGE, 'b') && all(start + 2 * PAGE, PAGE, 0));
	CHECK(set_break(start - PAGE) == start + 3 * PAGE);
	CHECK(set_break(start) == start);
	CHECK(set_break(NULL) == start);
	printf("c_memory: brk ok\n");
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "guard") == 0) {
		char *r = map(NULL, 2 * PAGE, PROT_NONE, 0);
		CHECK(mprotect(r + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
		r[PAGE] = 1;
		printf("c_memory guard: touching the guard page\n");
		fflush(stdout);
		r[0] = 1;
		return (2);
	}
	anonymous();
	reservations();
	remap();
	program_break();

	char *args[] = { "c_memory", "guard", NULL };
	pid_t child = ctest_spawn(args, NULL, 0);
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	printf("c_memory: a guard page touch kills the process (signal %d)\n",
	    WTERMSIG(status));
	printf("c_memory: done\n");
	return (0);
}
