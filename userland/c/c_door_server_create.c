/*
 * door_server_create(3C), Example 1, in C as the man page writes it (with
 * POSIX threads for thr_create): my_create makes every server thread with
 * an 8 KiB stack and cancellation disabled, and the thread parks in
 * door_return(NULL, 0, NULL, 0). The driver checks door_server_create's
 * return value and when the create procedure runs, then calls the door
 * from three threads at once: each call is served by one of my_create's
 * threads (a procedure waits at a barrier until all three calls are being
 * served, so three server threads serve at once).
 */
#include <ctest.h>
#include <door.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define CALLERS 3

static pthread_key_t made_by_my_create;
static atomic_int created;
static pthread_barrier_t serving;

/* The man page's thread: */
void *
my_thread(void *arg)
{
	(void) arg;
	pthread_setspecific(made_by_my_create, &created);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	door_return(NULL, 0, NULL, 0);
	return (NULL);
}

/* and its create procedure (thr_create(NULL, 8192, my_thread, NULL,
 * THR_BOUND | THR_DETACHED, NULL)). */
void
my_create(door_info_t *dip)
{
	pthread_attr_t attr;
	pthread_t tid;

	CHECK(dip == NULL);	/* the shared pool */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 8192);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setscope(&attr, PTHREAD_SCOPE_SYSTEM);
	CHECK(pthread_create(&tid, &attr, my_thread, NULL) == 0);
	pthread_attr_destroy(&attr);
	atomic_fetch_add(&created, 1);
}

struct served {
	pid_t tid;
	size_t stack;
	int mine;
};

static void
serve(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct served s = { .tid = gettid() };
	pthread_attr_t attr;

	(void) cookie, (void) argp, (void) arg_size, (void) dp, (void) n_desc;
	s.mine = pthread_getspecific(made_by_my_create) == &created;
	pthread_getattr_np(pthread_self(), &attr);
	pthread_attr_getstacksize(&attr, &s.stack);
	pthread_attr_destroy(&attr);
	pthread_barrier_wait(&serving);
	door_return((char *)&s, sizeof (s), NULL, 0);
}

static int door;

static void *
caller(void *arg)
{
	struct served *s = arg;
	door_arg_t a = { .rbuf = (char *)s, .rsize = sizeof (*s) };

	CHECK(door_call(door, &a) == 0);
	CHECK(a.data_size == sizeof (*s) && a.data_ptr == (char *)s);
	return (NULL);
}

int
main(void)
{
	CHECK(pthread_key_create(&made_by_my_create, NULL) == 0);
	CHECK(pthread_barrier_init(&serving, NULL, CALLERS) == 0);
	door_server_func_t *previous = door_server_create(my_create);
	CHECK(previous != NULL && previous != my_create);
	CHECK(door_server_create(my_create) == my_create);

	/* The first door of the process runs the procedure (NULL door_info,
	 * on this thread); a second one does not. */
	door = door_create(serve, NULL, 0);
	CHECK(door >= 0);
	CHECK(created == 1);
	int other = door_create(serve, NULL, DOOR_NO_CANCEL);
	CHECK(other >= 0 && created == 1);
	CHECK(close(other) == 0);

	pthread_t t[CALLERS];
	struct served s[CALLERS];
	for (int i = 0; i < CALLERS; i++)
		CHECK(pthread_create(&t[i], NULL, caller, &s[i]) == 0);
	for (int i = 0; i < CALLERS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	for (int i = 0; i < CALLERS; i++) {
		CHECK(s[i].mine);
		CHECK(s[i].stack >= 8192 && s[i].stack < 16384);
		for (int j = 0; j < i; j++)
			CHECK(s[i].tid != s[j].tid);
		printf("c_door_server_create: call %d served by thread %d "
		    "(stack %zu bytes)\n", i, s[i].tid, s[i].stack);
	}
	/* Each dispatch that took the pool's last thread made one more. */
	CHECK(created >= CALLERS + 1);
	printf("c_door_server_create: my_create made %d threads\n",
	    atomic_load(&created));
	printf("c_door_server_create: ok\n");
	return (0);
}
