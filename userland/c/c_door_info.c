/*
 * door_info(3C) from C, across two processes: every field of door_info_t
 * (di_target, -1 once the server process exited; di_proc; di_data;
 * di_attributes with the creation attributes, DOOR_LOCAL only in the
 * server's process, DOOR_REVOKED, DOOR_IS_UNREF exactly while one
 * descriptor refers to the door; di_uniquifier, unique and never reused),
 * DOOR_QUERY in a server procedure (and EBADF from a thread serving
 * nothing), and the errors EBADF and EFAULT.
 */
#include <ctest.h>
#include <door.h>
#include <spawn_np.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static int cookie = 42;
/* A door a child created and handed over before exiting. */
static atomic_int received = -1;

/* Returns the door_info of the door it serves (DOOR_QUERY). */
static void
serve(void *data, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	door_info_t info;

	(void) argp, (void) size;
	CHECK(data == &cookie);
	if (n == 1) {
		CHECK(dp[0].d_attributes & DOOR_DESCRIPTOR);
		received = dp[0].d_data.d_desc.d_descriptor;
	}
	CHECK(door_info(DOOR_QUERY, &info) == 0);
	door_return((char *)&info, sizeof (info), NULL, 0);
}

static void
nothing(void *data, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) data, (void) argp, (void) size, (void) dp, (void) n;
	door_return(NULL, 0, NULL, 0);
}

static door_info_t
info_of(int d)
{
	door_info_t info;

	memset(&info, 0xff, sizeof (info));
	CHECK(door_info(d, &info) == 0);
	return (info);
}

static door_info_t
query_by_call(int d, door_desc_t *desc, uint_t n)
{
	door_info_t info;
	door_arg_t a = {
		.desc_ptr = desc, .desc_num = n,
		.rbuf = (char *)&info, .rsize = sizeof (info),
	};

	CHECK(door_call(d, &a) == 0);
	CHECK(a.data_size == sizeof (info));
	return (info);
}

/* The child: D (refusing descriptors) and E as CHILD_FD(0) and (1). */
static int
child(pid_t parent, unsigned long long uniq_d)
{
	door_info_t info = info_of(CHILD_FD(0));
	CHECK(info.di_target == parent);
	CHECK(info.di_data == (door_ptr_t)(uintptr_t)&cookie);
	CHECK(info.di_attributes == (DOOR_REFUSE_DESC | DOOR_NO_CANCEL));
	CHECK(info.di_uniquifier == uniq_d);
	/* Served in the parent: DOOR_QUERY names D there. */
	info = query_by_call(CHILD_FD(0), NULL, 0);
	CHECK(info.di_uniquifier == uniq_d);
	CHECK(info.di_attributes & DOOR_LOCAL);
	/* A door of its own, handed to the parent as it exits. */
	int mine = door_create(nothing, NULL, 0);
	CHECK(mine >= 0);
	CHECK(info_of(mine).di_attributes == (DOOR_LOCAL | DOOR_IS_UNREF));
	door_desc_t pass = {
		.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE,
		.d_data.d_desc.d_descriptor = mine,
	};
	(void) query_by_call(CHILD_FD(1), &pass, 1);
	CHECK_ERR(door_info(mine, &info), EBADF);
	printf("c_door_info child: the parent's doors seen from here ok\n");
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc == 4 && strcmp(argv[1], "child") == 0)
		return (child(atoi(argv[2]), strtoull(argv[3], NULL, 10)));

	int d = door_create(serve, &cookie, DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
	int e = door_create(serve, &cookie, 0);
	CHECK(d >= 0 && e >= 0);
	door_info_t info = info_of(d);
	CHECK(info.di_target == getpid());
	CHECK(info.di_proc == (door_ptr_t)(uintptr_t)serve);
	CHECK(info.di_data == (door_ptr_t)(uintptr_t)&cookie);
	CHECK(info.di_attributes == (DOOR_REFUSE_DESC | DOOR_NO_CANCEL |
	    DOOR_LOCAL | DOOR_IS_UNREF));
	CHECK(info.di_uniquifier != 0);
	CHECK(info.di_resv[0] == 0 && info.di_resv[3] == 0);
	/* DOOR_IS_UNREF only while one descriptor refers to the door. */
	int again = dup(d);
	CHECK(again >= 0 && !(info_of(d).di_attributes & DOOR_IS_UNREF));
	CHECK(info_of(again).di_uniquifier == info.di_uniquifier);
	CHECK(close(again) == 0 && (info_of(d).di_attributes & DOOR_IS_UNREF));
	/* Unique ids, never reused once a door is gone. */
	unsigned long long uniq_e = info_of(e).di_uniquifier;
	CHECK(uniq_e != info.di_uniquifier);
	int gone = door_create(nothing, NULL, DOOR_UNREF_MULTI);
	unsigned long long uniq_gone = info_of(gone).di_uniquifier;
	CHECK(info_of(gone).di_attributes == (DOOR_UNREF_MULTI | DOOR_LOCAL |
	    DOOR_IS_UNREF));
	CHECK(close(gone) == 0);
	door_info_t closed;
	CHECK_ERR(door_info(gone, &closed), EBADF);
	/* POSIX numbering: the closed number is the lowest free one. */
	int later = door_create(nothing, NULL, 0);
	CHECK(later == gone);
	unsigned long long uniq_later = info_of(later).di_uniquifier;
	CHECK(uniq_later != uniq_gone && uniq_later != uniq_e &&
	    uniq_later != info.di_uniquifier);
	/* DOOR_QUERY: the door served, in a server procedure; a thread that
	 * serves nothing and is bound to nothing gets EBADF. */
	door_info_t served = query_by_call(d, NULL, 0);
	CHECK(served.di_uniquifier == info.di_uniquifier);
	CHECK(served.di_proc == info.di_proc);
	CHECK_ERR(door_info(DOOR_QUERY, &served), EBADF);
	/* Errors. */
	CHECK_ERR(door_info(-7, &served), EBADF);
	CHECK_ERR(door_info(4000, &served), EBADF);
	CHECK_ERR(door_info(1, &served), EBADF);	/* the console */
	CHECK_ERR(door_info(d, (door_info_t *)8), EFAULT);
	CHECK_ERR(door_info(d, (door_info_t *)0xffffffff80000000UL), EFAULT);
	printf("c_door_info: fields, DOOR_QUERY and errors ok\n");

	/* Another process, with D and E. */
	char pid[16], uniq[32];
	snprintf(pid, sizeof (pid), "%d", getpid());
	snprintf(uniq, sizeof (uniq), "%llu", info.di_uniquifier);
	char *args[] = { "c_door_info", "child", pid, uniq, NULL };
	int fds[] = { d, e };
	pid_t c = ctest_spawn(args, fds, 2);
	int status;
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 0);
	/* The child's door outlives it: its server is gone. */
	CHECK(received >= 0);
	info = info_of(received);
	CHECK(info.di_target == -1);
	CHECK(!(info.di_attributes & DOOR_LOCAL));
	CHECK(info.di_attributes & DOOR_IS_UNREF);
	CHECK_ERR(door_call(received, NULL), EBADF);
	/* Revoked. */
	CHECK(door_revoke(e) == 0);
	CHECK_ERR(door_info(e, &info), EBADF);
	again = dup(d);
	CHECK(door_revoke(d) == 0);
	CHECK(info_of(again).di_attributes & DOOR_REVOKED);
	printf("c_door_info: across processes, exited servers and revoked "
	    "doors ok\n");
	return (0);
}
