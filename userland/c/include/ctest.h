/*
 * <ctest.h>: checks for the C test programs. CHECK(cond) prints the file,
 * line and condition of a failed check (with errno's name when set) and
 * exits with status 1; CHECK_ERR(call, ERRNO) checks that a call returned
 * -1 with that errno. Each program prints "<name>: ... ok" lines as it goes
 * and returns 0 when every check passed. ctest_spawn starts a child with
 * the console as its descriptors 0, 1 and 2, and the descriptors it is
 * handed as CHILD_FD(0), CHILD_FD(1), ...
 */
#ifndef _CTEST_H
#define _CTEST_H

#include <errno.h>
#include <spawn_np.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		int ctest_errno = errno;				\
		fflush(stdout);						\
		fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n", \
		    __FILE__, __LINE__, #cond, ctest_errno,		\
		    strerror(ctest_errno));				\
		exit(1);						\
	}								\
} while (0)

#define CHECK_ERR(call, err) do {					\
	errno = 0;							\
	long ctest_ret = (long)(call);					\
	if (ctest_ret != -1 || errno != (err)) {			\
		int ctest_errno = errno;				\
		fflush(stdout);						\
		fprintf(stderr, "%s:%d: %s returned %ld errno %d (%s), "	\
		    "expected -1 with %s\n", __FILE__, __LINE__, #call,	\
		    ctest_ret, ctest_errno, strerror(ctest_errno), #err); \
		exit(1);						\
	}								\
} while (0)

/* The descriptor a child started with ctest_spawn has for fds[i]. */
#define CHILD_FD(i) (3 + (i))

/* Starts program argv[0] (of /bin) with the arguments argv (NULL-ended),
 * handing it the console and fds[0..n). */
static inline pid_t
ctest_spawn(char *const argv[], const int *fds, unsigned n)
{
	int all[3 + 16] = { 0, 1, 2 };

	CHECK(n <= 16);
	for (unsigned i = 0; i < n; i++)
		all[3 + i] = fds[i];
	pid_t pid = spawn_np(argv[0], argv, all, 3 + n);
	CHECK(pid > 0);
	return (pid);
}

#endif /* _CTEST_H */
