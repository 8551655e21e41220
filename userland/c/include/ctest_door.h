/*
 * <ctest_door.h>: how the C door tests hand a door from a child to its
 * parent. The parent creates a door on ctest_mailbox and passes it to the
 * child; the child passes its own door back through it with ctest_hand;
 * the parent takes it with ctest_await_handed (or watches ctest_handed).
 */
#ifndef _CTEST_DOOR_H
#define _CTEST_DOOR_H

#include <ctest.h>
#include <door.h>
#include <sched.h>
#include <stdatomic.h>

/* The descriptor the mailbox received last (-1 before one came). */
static atomic_int ctest_handed = -1;

/* The mailbox's procedure: keeps the one descriptor a call passes. */
static void
ctest_mailbox(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size;
	if (n == 1)
		ctest_handed = dp[0].d_data.d_desc.d_descriptor;
	door_return(NULL, 0, NULL, 0);
}

/* Passes door `d` to the mailbox `mailbox` (and gives it up). */
static inline void
ctest_hand(int mailbox, int d)
{
	door_desc_t pass = {
		.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE,
		.d_data.d_desc.d_descriptor = d,
	};
	door_arg_t a = { .desc_ptr = &pass, .desc_num = 1 };
	CHECK(door_call(mailbox, &a) == 0);
}

/* Waits (yielding) until the mailbox has a descriptor; returns it. */
static inline int
ctest_await_handed(void)
{
	for (int i = 0; ctest_handed < 0; i++) {
		CHECK(i < 1000000);
		sched_yield();
	}
	return (ctest_handed);
}

#endif /* _CTEST_DOOR_H */
