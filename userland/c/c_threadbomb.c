/*
 * Threads at the system's bound (started by the Rust program threadbomb,
 * which leaves argv[1] places free for this program's threads): the
 * threads pthread_create makes (Linux clones) wait on a pipe until
 * pthread_create fails; exactly argv[1] are made, then EAGAIN
 * (abi::MAX_THREADS, threads of all processes together). Then they are
 * released and joined.
 */
#include <ctest.h>
#include <pthread.h>
#include <unistd.h>

#define MOST 64

static int release_r;

/* Waits for the end of file on the release pipe. */
static void *
waiter(void *arg)
{
	char byte;

	read(release_r, &byte, 1);
	return (arg);
}

int
main(int argc, char *argv[])
{
	pthread_t threads[MOST];
	pthread_attr_t attr;
	int release[2], made = 0, err = 0;

	CHECK(argc == 2);
	int expected = atoi(argv[1]);
	CHECK(expected < MOST);
	CHECK(pipe(release) == 0);
	release_r = release[0];
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 16384);
	while (made < MOST) {
		err = pthread_create(&threads[made], &attr, waiter, NULL);
		if (err != 0)
			break;
		made++;
	}
	CHECK(err == EAGAIN);
	CHECK(made == expected);
	printf("c_threadbomb: %d threads, then pthread_create fails with "
	    "EAGAIN\n", made);
	close(release[1]);
	for (int i = 0; i < made; i++)
		CHECK(pthread_join(threads[i], NULL) == 0);
	printf("c_threadbomb: ok\n");
	return (0);
}
