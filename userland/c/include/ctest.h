/*
 * <ctest.h>: checks for the C test programs. CHECK(cond) prints the file,
 * line and condition of a failed check (with errno's name when set) and
 * exits with status 1; CHECK_ERR(call, ERRNO) checks that a call returned
 * -1 with that errno. Each program prints "<name>: ... ok" lines as it goes
 * and returns 0 when every check passed.
 */
#ifndef _CTEST_H
#define _CTEST_H

#include <errno.h>
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

#endif /* _CTEST_H */
