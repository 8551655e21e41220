/*
 * door_bind(3C), Example 1, in C as the man page writes it (POSIX threads,
 * mutexes, condition variables and thread-specific data for the Solaris
 * ones): two DOOR_PRIVATE doors d1 (foo) and d2 (bar); my_create starts a
 * thread running my_server_create(dip->di_proc), which waits until both
 * doors exist, records foo or bar as thread-specific data and binds itself
 * to d1 or d2. A child process calls both doors from three threads each at
 * once; foo and bar check they run on a thread bound to their own door
 * (and each waits at a barrier until three calls of its door are being
 * served, so each private pool grows to three threads).
 */
#include <ctest.h>
#include <door.h>
#include <pthread.h>
#include <spawn_np.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALLERS 3

pthread_key_t door_key;
int d1 = -1;
int d2 = -1;
pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t foo_serving, bar_serving;

void foo(void *, char *, size_t, door_desc_t *, uint_t);
void bar(void *, char *, size_t, door_desc_t *, uint_t);

static void *
my_server_create(void *arg)
{
	/* wait for d1 & d2 to be initialized */
	pthread_mutex_lock(&lock);
	while (d1 == -1 || d2 == -1)
		pthread_cond_wait(&cv, &lock);
	pthread_mutex_unlock(&lock);

	if (arg == (void *)foo) {
		/* bind thread with pool associated with d1 */
		pthread_setspecific(door_key, (void *)foo);
		if (door_bind(d1) < 0) {
			perror("door_bind");
			exit(-1);
		}
	} else if (arg == (void *)bar) {
		/* bind thread with pool associated with d2 */
		pthread_setspecific(door_key, (void *)bar);
		if (door_bind(d2) < 0) {
			perror("door_bind");
			exit(-1);
		}
	}
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	door_return(NULL, 0, NULL, 0); /* Wait for door invocation */
	return (NULL);
}

static void
my_create(door_info_t *dip)
{
	pthread_attr_t attr;
	pthread_t tid;

	/* Pass the door identity information to create function */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	CHECK(pthread_create(&tid, &attr, my_server_create,
	    (void *)(uintptr_t)dip->di_proc) == 0);
	pthread_attr_destroy(&attr);
}

static void
answer(void (*which)(void *, char *, size_t, door_desc_t *, uint_t),
    const char *name, pthread_barrier_t *serving)
{
	char reply[32];
	door_info_t info;

	/* On a thread bound to this door's pool. */
	CHECK(pthread_getspecific(door_key) == (void *)which);
	CHECK(door_info(DOOR_QUERY, &info) == 0);
	CHECK(info.di_proc == (door_ptr_t)(uintptr_t)which);
	pthread_barrier_wait(serving);
	snprintf(reply, sizeof (reply), "%s %d", name, gettid());
	door_return(reply, strlen(reply) + 1, NULL, 0);
}

void
foo(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	answer(foo, "foo", &foo_serving);
}

void
bar(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	answer(bar, "bar", &bar_serving);
}

/* The child: d1 and d2 as CHILD_FD(0) and CHILD_FD(1). */
struct call {
	int d;
	char reply[32];
};

static void *
client_thread(void *arg)
{
	struct call *c = arg;
	door_arg_t a = { .rbuf = c->reply, .rsize = sizeof (c->reply) };

	CHECK(door_call(c->d, &a) == 0);
	return (NULL);
}

static int
client(void)
{
	pthread_t t[2 * CALLERS];
	struct call calls[2 * CALLERS];

	for (int i = 0; i < 2 * CALLERS; i++) {
		calls[i].d = CHILD_FD(i % 2);
		CHECK(pthread_create(&t[i], NULL, client_thread, &calls[i]) == 0);
	}
	for (int i = 0; i < 2 * CALLERS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	for (int i = 0; i < 2 * CALLERS; i++) {
		CHECK(strncmp(calls[i].reply, i % 2 ? "bar " : "foo ", 4) == 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(calls[i].reply, calls[j].reply) != 0);
		printf("c_door_bind client: door d%d answered \"%s\"\n",
		    i % 2 + 1, calls[i].reply);
	}
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "client") == 0)
		return (client());
	CHECK(pthread_barrier_init(&foo_serving, NULL, CALLERS) == 0);
	CHECK(pthread_barrier_init(&bar_serving, NULL, CALLERS) == 0);

	/* Binding errors (before my_create is installed: it expects private
	 * doors only): a door that is not private, not a door, and
	 * door_unbind of a thread bound to nothing. */
	int shared = door_create(foo, NULL, 0);
	CHECK_ERR(door_bind(shared), EINVAL);
	CHECK_ERR(door_bind(12345), EBADF);
	CHECK_ERR(door_unbind(), EBADF);
	CHECK(close(shared) == 0);

	(void) door_server_create(my_create);
	if (pthread_key_create(&door_key, NULL) != 0) {
		perror("pthread_key_create");
		exit(1);
	}
	pthread_mutex_lock(&lock);
	d1 = door_create(foo, NULL, DOOR_PRIVATE); /* Private pool */
	d2 = door_create(bar, NULL, DOOR_PRIVATE); /* Private pool */
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&lock);
	CHECK(d1 >= 0 && d2 >= 0);

	/* Instead of the man page's pause() loop: serve one client. */
	int fds[] = { d1, d2 };
	char *args[] = { "c_door_bind", "client", NULL };
	pid_t child = ctest_spawn(args, fds, 2);
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("c_door_bind: ok\n");
	return (0);
}
