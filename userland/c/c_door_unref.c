/*
 * Unreferenced invocations from C (DOOR_UNREF and DOOR_UNREF_MULTI of
 * door_create(3C)): DOOR_UNREF fires once, when a door that had two
 * references is down to one (never for a door that never had two), however
 * often that repeats; DOOR_UNREF_MULTI fires each time; the notice has
 * argp == DOOR_UNREF_DATA, no data and no descriptors, the kernel (pid 0)
 * as its caller, and door_info(DOOR_QUERY) reports DOOR_IS_UNREF; it waits
 * for a call in progress to end; a child process that exits holding the
 * door drops its reference too.
 */
#include <ctest.h>
#include <door.h>
#include <pthread.h>
#include <sched.h>
#include <spawn_np.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int notices, bad_notices, calls, release_call;

static void
serve(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie;
	if (argp == DOOR_UNREF_DATA) {
		ucred_t *cred = NULL;
		door_info_t info;
		int ok = size == 0 && dp == NULL && n == 0 &&
		    door_ucred(&cred) == 0 && ucred_getpid(cred) == 0 &&
		    door_info(DOOR_QUERY, &info) == 0 &&
		    (info.di_attributes & DOOR_IS_UNREF);
		ucred_free(cred);
		atomic_fetch_add(ok ? &notices : &bad_notices, 1);
		door_return(NULL, 0, NULL, 0);
	}
	atomic_fetch_add(&calls, 1);
	while (size == 1 && argp[0] == 'h' && !atomic_load(&release_call))
		sched_yield();
	door_return(NULL, 0, NULL, 0);
}

/* Waits (yielding, bounded) until `count` reaches `want`. */
static void
await(atomic_int *count, int want)
{
	for (int i = 0; atomic_load(count) < want; i++) {
		CHECK(i < 100000);
		sched_yield();
	}
}

/* Gives a notice that should not come a chance to come. */
static void
settle(void)
{
	usleep(50000);
}

static void *
hold_call(void *arg)
{
	door_arg_t a = { .data_ptr = "h", .data_size = 1 };

	CHECK(door_call(*(int *)arg, &a) == 0);
	return (NULL);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return (0);	/* holds the door, exits */

	/* DOOR_UNREF: never two references, no notice. */
	int once = door_create(serve, NULL, DOOR_UNREF);
	CHECK(close(once) == 0);
	settle();
	CHECK(notices == 0);
	/* Two, then one: one notice, once only. */
	once = door_create(serve, NULL, DOOR_UNREF);
	for (int i = 0; i < 3; i++) {
		int again = dup(once);
		CHECK(again >= 0 && close(again) == 0);
		await(&notices, 1);
	}
	settle();
	CHECK(notices == 1 && bad_notices == 0);
	printf("c_door_unref: DOOR_UNREF fires once ok\n");

	int multi = door_create(serve, NULL, DOOR_UNREF_MULTI);
	for (int i = 1; i <= 5; i++) {
		int again = dup(multi);
		CHECK(close(again) == 0);
		await(&notices, 1 + i);
	}
	CHECK(bad_notices == 0);
	printf("c_door_unref: DOOR_UNREF_MULTI fires each time ok\n");

	/* The notice waits for a call in progress. */
	int busy = door_create(serve, NULL, DOOR_UNREF);
	int again = dup(busy);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, hold_call, &again) == 0);
	await(&calls, 1);
	CHECK(close(again) == 0);
	settle();
	CHECK(notices == 6);
	release_call = 1;
	CHECK(pthread_join(t, NULL) == 0);
	await(&notices, 7);
	printf("c_door_unref: the notice waits for the call in progress ok\n");

	/* A child's exit closes its descriptors. */
	int passed = door_create(serve, NULL, DOOR_UNREF);
	int fds[] = { passed };
	char *args[] = { "c_door_unref", "child", NULL };
	pid_t c = ctest_spawn(args, fds, 1);
	int status;
	CHECK(waitpid(c, &status, 0) == c);
	await(&notices, 8);
	settle();
	CHECK(notices == 8 && bad_notices == 0);
	printf("c_door_unref: a child's exit drops its reference ok\n");
	printf("c_door_unref: ok\n");
	return (0);
}
