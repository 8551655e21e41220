/*
 * An ordinary C program that knows nothing of doors, on the Linux
 * personality: printf formats, malloc and free of many sizes, qsort and
 * string functions, 8 threads sharing a counter under a mutex and meeting
 * at a condition variable, sleep and clock_gettime. Each part prints one
 * line; a failed check exits with status 1.
 */
#include <ctest.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 2000

static void
formats(void)
{
	char buf[128];

	snprintf(buf, sizeof (buf), "%d|%5d|%-5d|%05d|%x|%#o|%+d", 42, 42, 42,
	    42, 255, 8, 7);
	CHECK(strcmp(buf, "42|   42|42   |00042|ff|010|+7") == 0);
	snprintf(buf, sizeof (buf), "%.3f|%e|%g|%10.2f", 3.14159, 12345.678,
	    0.0001, -2.5);
	CHECK(strcmp(buf, "3.142|1.234568e+04|0.0001|     -2.50") == 0);
	snprintf(buf, sizeof (buf), "%s|%10s|%-4s|%c|%%|%ld|%llu|%zu", "ab",
	    "right", "l", 'z', -1L, 18446744073709551615ULL, (size_t)7);
	CHECK(strcmp(buf,
	    "ab|     right|l   |z|%|-1|18446744073709551615|7") == 0);
	snprintf(buf, sizeof (buf), "%p", (void *)0x1234);
	CHECK(strcmp(buf, "0x1234") == 0);
	printf("c_ordinary: printf formats ok (%s)\n", buf);
}

static void
memory(void)
{
	enum { N = 200 };
	unsigned char *blocks[N];
	size_t sizes[N];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			/* 1 byte to 1 MiB and odd sizes between. */
			sizes[i] = ((size_t)1 << (i % 21)) + (size_t)(i * 7);
			blocks[i] = malloc(sizes[i]);
			CHECK(blocks[i] != NULL);
			memset(blocks[i], i & 0xff, sizes[i]);
		}
		for (int i = 0; i < N; i += 2) {
			unsigned char *p = realloc(blocks[i], sizes[i] * 2);
			CHECK(p != NULL);
			CHECK(p[sizes[i] - 1] == (i & 0xff));
			blocks[i] = p;
		}
		for (int i = 0; i < N; i++) {
			CHECK(blocks[i][0] == (i & 0xff));
			CHECK(blocks[i][sizes[i] - 1] == (i & 0xff));
			free(blocks[i]);
		}
	}
	int *zeros = calloc(1000, sizeof (int));
	CHECK(zeros != NULL);
	for (int i = 0; i < 1000; i++)
		CHECK(zeros[i] == 0);
	free(zeros);
	printf("c_ordinary: malloc/free of %d sizes ok\n", N);
}

static int
by_value(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return ((x > y) - (x < y));
}

static void
sorting_and_strings(void)
{
	int v[1000];
	unsigned seed = 12345;

	for (int i = 0; i < 1000; i++) {
		seed = seed * 1103515245 + 12345;
		v[i] = (int)(seed >> 8) % 10000 - 5000;
	}
	qsort(v, 1000, sizeof (int), by_value);
	for (int i = 1; i < 1000; i++)
		CHECK(v[i - 1] <= v[i]);

	char s[64] = "doors";
	strcat(s, " and ");
	strncat(s, "threads", 20);
	CHECK(strcmp(s, "doors and threads") == 0);
	CHECK(strlen(s) == 17);
	CHECK(strchr(s, 'a') == s + 6 && strrchr(s, 's') == s + 16);
	CHECK(strstr(s, "thr") == s + 10);
	CHECK(strncmp(s, "door", 4) == 0 && strcmp("a", "b") < 0);
	char *copy = strdup(s);
	CHECK(copy != NULL && strcmp(copy, s) == 0);
	char *save, *word = strtok_r(copy, " ", &save);
	int words = 0;
	for (; word != NULL; word = strtok_r(NULL, " ", &save))
		words++;
	CHECK(words == 3);
	free(copy);
	CHECK(strtol("-123", NULL, 10) == -123 && strtoul("ff", NULL, 16) == 255);
	CHECK(atoi("42") == 42);
	printf("c_ordinary: qsort and strings ok\n");
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static long counter;
static int finished, started;

static void *
worker(void *arg)
{
	long id = (long)arg;

	pthread_mutex_lock(&lock);
	started++;
	/* Everyone waits for the signal to go. */
	while (started < THREADS)
		pthread_cond_wait(&go, &lock);
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	if (++finished == THREADS)
		pthread_cond_signal(&all_done);
	pthread_mutex_unlock(&lock);
	return ((void *)(id * 10));
}

static void
threads(void)
{
	pthread_t t[THREADS];

	for (long i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
	pthread_mutex_lock(&lock);
	while (finished < THREADS)
		pthread_cond_wait(&all_done, &lock);
	CHECK(counter == (long)THREADS * ROUNDS);
	pthread_mutex_unlock(&lock);
	for (long i = 0; i < THREADS; i++) {
		void *ret;
		CHECK(pthread_join(t[i], &ret) == 0);
		CHECK(ret == (void *)(i * 10));
	}
	printf("c_ordinary: %d threads counted to %ld\n", THREADS, counter);
}

static atomic_int ran;

static void *
quick(void *arg)
{
	atomic_fetch_add(&ran, 1);
	return (arg);
}

static void
unjoined(void)
{
	pthread_attr_t detached;
	pthread_t t;

	pthread_attr_init(&detached);
	pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 4; i++) {
		CHECK(pthread_create(&t, &detached, quick, NULL) == 0);
		CHECK(pthread_create(&t, NULL, quick, NULL) == 0);
	}
	pthread_attr_destroy(&detached);
	while (atomic_load(&ran) < 8)
		sched_yield();
	/* Let them end (init's leak check after this program tells whether
	 * anything stayed behind, whether or not they did). */
	usleep(20000);
	printf("c_ordinary: threads that exit unjoined ok\n");
}

static void
files(void)
{
	FILE *f = fopen("/tmp/ordinary.txt", "w");
	CHECK(f != NULL);
	for (int i = 0; i < 50; i++)
		CHECK(fprintf(f, "%03d %s %.2f\n", i, "squares", i * 1.5) > 0);
	CHECK(fclose(f) == 0);
	char text[2048];
	f = fopen("/tmp/ordinary.txt", "r");
	CHECK(f != NULL);
	size_t n = fread(text, 1, sizeof (text) - 1, f);
	CHECK(feof(f) && fclose(f) == 0);
	text[n] = 0;
	CHECK(strncmp(text, "000 squares 0.00\n001 squares 1.50\n", 34) == 0);
	CHECK(strstr(text, "049 squares 73.50\n") != NULL);
	CHECK(remove("/tmp/ordinary.txt") == 0);
	CHECK(fopen("/tmp/ordinary.txt", "r") == NULL && errno == ENOENT);
	printf("c_ordinary: files in /tmp ok (%zu bytes)\n", n);
}

static double
seconds(clockid_t clock)
{
	struct timespec ts;

	CHECK(clock_gettime(clock, &ts) == 0);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static void
time_and_sleep(void)
{
	/* The wall clock comes from the machine's clock: after 2020. */
	CHECK(seconds(CLOCK_REALTIME) > 1577836800.0);
	CHECK(time(NULL) > 1577836800);
	double t0 = seconds(CLOCK_MONOTONIC);
	CHECK(sleep(1) == 0);
	double t1 = seconds(CLOCK_MONOTONIC);
	CHECK(t1 - t0 >= 1.0);
	CHECK(usleep(20000) == 0);
	double t2 = seconds(CLOCK_MONOTONIC);
	CHECK(t2 - t1 >= 0.02);
	/* Finer than the 10 ms timer tick: two readings a little apart differ
	 * by less than a tick but are not equal. */
	double a = seconds(CLOCK_MONOTONIC), b;
	do
		b = seconds(CLOCK_MONOTONIC);
	while (b == a);
	CHECK(b - a < 0.01);
	printf("c_ordinary: sleep and clock_gettime ok\n");
}

int
main(void)
{
	formats();
	memory();
	sorting_and_strings();
	threads();
	unjoined();
	files();
	time_and_sleep();
	printf("c_ordinary: done\n");
	return (0);
}
