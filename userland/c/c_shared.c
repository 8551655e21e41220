/*
 * MAP_SHARED anonymous memory across fork, the operating-systems course
 * exercise: parent, child and grandchild see each other's writes.
 * - a counter incremented in turn by parent and child (pipes pass the
 *   turn), then by a grandchild, and buffers filled on each side, in pages
 *   nobody touched before the fork;
 * - mprotect after fork (PROT_READ or PROT_NONE, then read and write
 *   again; a page read-only at the fork made writable) keeps pages shared;
 * - munmap on one side leaves the other's view, and its contents, intact;
 * - a MAP_PRIVATE mapping in the same program stays copy-on-write;
 * - read(2) from a pipe into a shared page (across a page boundary) is
 *   seen by the other process;
 * - a shared mapping grown by mremap before a fork is shared whole;
 * - a futex in a shared page (without FUTEX_PRIVATE_FLAG) is woken from
 *   another process, a private one is not; semaphores made with
 *   sem_init(pshared = 1) in a shared page pass turns between processes;
 * - Linux's errors: an anonymous MAP_SHARED_VALIDATE and a shared
 *   MAP_GROWSDOWN are EINVAL.
 * The runner's leak check proves that every shared frame was freed once,
 * by its last mapping.
 */
#include <ctest.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define ROUNDS 100
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

static char *
map(size_t len, int prot, int type)
{
	char *p = mmap(NULL, len, prot, type | MAP_ANONYMOUS, -1, 0);
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
fill(volatile char *p, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		p[i] = c;
}

static pid_t
fork_flushed(void)
{
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	return (pid);
}

static void
reap(pid_t pid)
{
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A one-byte token passed through a pipe: whose turn it is. */
static void
pass(int fd)
{
	CHECK(write(fd, "t", 1) == 1);
}

static void
await(int fd)
{
	char t;
	CHECK(read(fd, &t, 1) == 1 && t == 't');
}

/* Pipes to the child and back; after the fork each side keeps its own ends
 * only, so that one side's death is the other's end of file, not a wait
 * for ever. */
struct turns {
	int to_child[2], to_parent[2];
};

static void
turns_open(struct turns *t)
{
	CHECK(pipe(t->to_child) == 0 && pipe(t->to_parent) == 0);
}

static void
turns_keep(struct turns *t, int child)
{
	CHECK(close(child ? t->to_child[1] : t->to_child[0]) == 0);
	CHECK(close(child ? t->to_parent[0] : t->to_parent[1]) == 0);
}

static void
turns_close(struct turns *t)
{
	CHECK(close(t->to_child[1]) == 0 && close(t->to_parent[0]) == 0);
}

static void
counter(void)
{
	/* Page 0: the counter, touched before the fork; pages 1 to 3 are
	 * buffers nobody touches before it. */
	char *m = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	volatile long *count = (volatile long *)m;
	*count = 0;
	struct turns t;
	turns_open(&t);
	pid_t child = fork_flushed();
	turns_keep(&t, child == 0);
	if (child == 0) {
		for (long i = 0; i < ROUNDS; i++) {
			await(t.to_child[0]);
			CHECK(*count == 2 * i + 1);
			(*count)++;
			pass(t.to_parent[1]);
		}
		await(t.to_child[0]);
		CHECK(all(m + 3 * PAGE, PAGE, 'p'));
		fill(m + PAGE, PAGE, 'c');
		pid_t grandchild = fork_flushed();
		if (grandchild == 0) {
			CHECK(all(m + PAGE, PAGE, 'c') && *count == 2 * ROUNDS);
			for (long i = 0; i < ROUNDS; i++)
				(*count)++;
			fill(m + 2 * PAGE, PAGE, 'g');
			_exit(0);
		}
		reap(grandchild);
		CHECK(*count == 3 * ROUNDS && all(m + 2 * PAGE, PAGE, 'g'));
		(*count)++;
		_exit(0);
	}
	for (long i = 0; i < ROUNDS; i++) {
		CHECK(*count == 2 * i);
		(*count)++;
		pass(t.to_child[1]);
		await(t.to_parent[0]);
	}
	fill(m + 3 * PAGE, PAGE, 'p');
	pass(t.to_child[1]);
	reap(child);
	CHECK(*count == 3 * ROUNDS + 1);
	CHECK(all(m + PAGE, PAGE, 'c') && all(m + 2 * PAGE, PAGE, 'g'));
	CHECK(all(m + 3 * PAGE, PAGE, 'p'));
	turns_close(&t);
	CHECK(munmap(m, 4 * PAGE) == 0);
	printf("c_shared: a counter and buffers shared by parent, child and "
	    "grandchild\n");
}

static void
protections(void)
{
	volatile char *m = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	m[0] = 1;
	/* Read-only at the fork, untouched. */
	volatile char *ro = map(PAGE, PROT_READ, MAP_SHARED);
	struct turns t;
	turns_open(&t);
	pid_t child = fork_flushed();
	turns_keep(&t, child == 0);
	if (child == 0) {
		CHECK(mprotect((void *)m, 2 * PAGE, PROT_READ) == 0);
		CHECK(m[0] == 1 && m[PAGE] == 0);
		CHECK(mprotect((void *)m, 2 * PAGE, PROT_READ | PROT_WRITE)
		    == 0);
		m[0] = 2;
		m[PAGE] = 3;
		CHECK(mprotect((void *)ro, PAGE, PROT_READ | PROT_WRITE) == 0);
		ro[0] = 4;
		pass(t.to_parent[1]);
		await(t.to_child[0]);
		CHECK(m[1] == 5 && m[PAGE + 1] == 6);
		_exit(0);
	}
	await(t.to_parent[0]);
	CHECK(m[0] == 2 && m[PAGE] == 3 && ro[0] == 4);
	CHECK(mprotect((void *)m, PAGE, PROT_NONE) == 0);
	CHECK(mprotect((void *)m, 2 * PAGE, PROT_READ | PROT_WRITE) == 0);
	m[1] = 5;
	m[PAGE + 1] = 6;
	pass(t.to_child[1]);
	reap(child);
	CHECK(m[0] == 2 && m[1] == 5);
	turns_close(&t);
	CHECK(munmap((void *)m, 2 * PAGE) == 0 && munmap((void *)ro, PAGE)
	    == 0);
	printf("c_shared: mprotect after fork keeps pages shared\n");
}

static void
unmapping(void)
{
	/* The child unmaps a page of its view, then the rest. */
	char *m = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	fill(m, PAGE, 'a');
	pid_t child = fork_flushed();
	if (child == 0) {
		fill(m + PAGE, PAGE, 'b');
		CHECK(munmap(m + PAGE, PAGE) == 0);
		m[2 * PAGE] = 'z';
		CHECK(all(m, PAGE, 'a'));
		CHECK(munmap(m, 3 * PAGE) == 0);
		_exit(0);
	}
	reap(child);
	CHECK(all(m, PAGE, 'a') && all(m + PAGE, PAGE, 'b'));
	CHECK(m[2 * PAGE] == 'z');
	m[PAGE] = 'P';

	/* The parent unmaps its view while the child still uses its own. */
	struct turns t;
	turns_open(&t);
	child = fork_flushed();
	turns_keep(&t, child == 0);
	if (child == 0) {
		await(t.to_child[0]);
		CHECK(m[0] == 'q' && m[PAGE] == 'P' && m[2 * PAGE] == 'z');
		m[0] = 'r';
		_exit(m[0] == 'r' ? 0 : 1);
	}
	m[0] = 'q';
	CHECK(munmap(m, 3 * PAGE) == 0);
	pass(t.to_child[1]);
	reap(child);
	turns_close(&t);
	printf("c_shared: munmap on one side leaves the other's view\n");
}

static void
private_beside_shared(void)
{
	volatile char *priv = map(2 * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE);
	priv[0] = 'p';
	volatile char *s = map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	pid_t child = fork_flushed();
	if (child == 0) {
		CHECK(priv[0] == 'p' && priv[PAGE] == 0);
		priv[0] = 'c';
		priv[PAGE] = 'c';
		s[0] = 'c';
		_exit(priv[0] == 'c' ? 0 : 1);
	}
	reap(child);
	CHECK(priv[0] == 'p' && priv[PAGE] == 0 && s[0] == 'c');
	CHECK(munmap((void *)priv, 2 * PAGE) == 0);
	CHECK(munmap((void *)s, PAGE) == 0);
	printf("c_shared: MAP_PRIVATE stays copy-on-write\n");
}

static void
kernel_writes(void)
{
	char *s = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t child = fork_flushed();
	if (child == 0) {
		CHECK(read(p[0], s + PAGE - 3, 6) == 6);
		_exit(0);
	}
	CHECK(write(p[1], "kernel", 6) == 6);
	reap(child);
	CHECK(memcmp(s + PAGE - 3, "kernel", 6) == 0);
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	CHECK(munmap(s, 2 * PAGE) == 0);
	printf("c_shared: read(2) into a shared page is seen by the other "
	    "process\n");
}

static void
grown(void)
{
	volatile char *g = map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	g[0] = 1;
	CHECK(mremap((void *)g, PAGE, 2 * PAGE, 0) == g);
	pid_t child = fork_flushed();
	if (child == 0) {
		g[0] = 2;
		g[PAGE] = 3;
		_exit(0);
	}
	reap(child);
	CHECK(g[0] == 2 && g[PAGE] == 3);
	CHECK(munmap((void *)g, 2 * PAGE) == 0);
	printf("c_shared: a shared mapping grown before fork is shared whole\n");
}

static long
futex(volatile int *word, int op, int val, const struct timespec *timeout)
{
	return (syscall(SYS_futex, word, op, val, timeout, NULL, 0));
}

static void
futexes(void)
{
	volatile int *word = (volatile int *)map(PAGE, PROT_READ | PROT_WRITE,
	    MAP_SHARED);
	pid_t child = fork_flushed();
	if (child == 0) {
		/* Wakes until the parent, waiting on the word, is woken: only
		 * a wake that reaches another process counts one. A private
		 * wake never does. */
		long woken = 0;
		for (int i = 0; i < 1000 && woken == 0; i++) {
			CHECK(futex(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
			    NULL) == 0);
			woken = futex(word, FUTEX_WAKE, 1, NULL);
			if (woken == 0)
				usleep(1000);
		}
		_exit(woken == 1 ? 0 : 1);
	}
	struct timespec limit = { 20, 0 };
	CHECK(futex(word, FUTEX_WAIT, 0, &limit) == 0);
	reap(child);
	CHECK(munmap((void *)word, PAGE) == 0);

	sem_t *sems = (sem_t *)map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	volatile long *count = (volatile long *)(sems + 2);
	CHECK(sem_init(&sems[0], 1, 0) == 0 && sem_init(&sems[1], 1, 0) == 0);
	child = fork_flushed();
	if (child == 0) {
		for (long i = 0; i < ROUNDS; i++) {
			CHECK(sem_wait(&sems[0]) == 0);
			CHECK(*count == 2 * i + 1);
			(*count)++;
			CHECK(sem_post(&sems[1]) == 0);
		}
		_exit(0);
	}
	for (long i = 0; i < ROUNDS; i++) {
		(*count)++;
		CHECK(sem_post(&sems[0]) == 0);
		CHECK(sem_wait(&sems[1]) == 0);
		CHECK(*count == 2 * i + 2);
	}
	reap(child);
	CHECK(munmap(sems, PAGE) == 0);
	printf("c_shared: futexes and process-shared semaphores across "
	    "processes\n");
}

static void
errors(void)
{
	int rw = PROT_READ | PROT_WRITE;
	CHECK_ERR(mmap(NULL, PAGE, rw, MAP_SHARED_VALIDATE | MAP_ANONYMOUS,
	    -1, 0), EINVAL);
	CHECK_ERR(mmap(NULL, PAGE, rw, MAP_SHARED | MAP_ANONYMOUS |
	    MAP_GROWSDOWN, -1, 0), EINVAL);
	printf("c_shared: Linux's errors ok\n");
}

int
main(void)
{
	counter();
	protections();
	unmapping();
	private_beside_shared();
	kernel_writes();
	grown();
	futexes();
	errors();
	printf("c_shared: ok\n");
	return (0);
}
