/*
 * The door_call / door_return contract from C (doors-semantics.md,
 * "door_call"), within one process and from a child process:
 * door_create's attributes (EINVAL for unknown bits and for DOOR_UNREF with
 * DOOR_UNREF_MULTI); arguments in and results out through rbuf, with
 * data_ptr and desc_ptr pointing into it and the descriptors at rbuf +
 * roundup(data_size, sizeof (door_desc_t)); one buffer for arguments and
 * results; params == NULL (and the server's door_return of data to such a
 * caller failing with E2BIG); results larger than rsize in a new
 * zero-filled, page-rounded mapping the caller unmaps (also with rbuf NULL);
 * and EOVERFLOW when that mapping cannot be made (the child, after lowering
 * its memory limit with setrlimit).
 */
#include <ctest.h>
#include <door.h>
#include <spawn_np.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define ROUNDUP(x, to) (((x) + (to) - 1) / (to) * (to))

/* What the NULL-params door's server saw: calls, and the errno of its
 * door_return of data. */
static int null_calls, null_return_errno;

/*
 * The main door. Arguments: a command byte, then its operand.
 *   'E' text: echo the text back;
 *   'B' n:    n bytes of results (0, 1, 2, ... mod 251);
 *   'D' text: echo the text and return a new door as a descriptor.
 */
static void nothing(void *, char *, size_t, door_desc_t *, uint_t);

static void
serve(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	static char big[3 * PAGE + 100];
	door_desc_t out;

	(void) cookie, (void) dp, (void) n;
	CHECK(size >= 1);
	switch (argp[0]) {
	case 'E':
		door_return(argp + 1, size - 1, NULL, 0);
		break;
	case 'B': {
		/* The arguments carry no NUL. */
		char number[16] = "";
		memcpy(number, argp + 1, size - 1 < 15 ? size - 1 : 15);
		size_t want = strtoul(number, NULL, 10);
		CHECK(want <= sizeof (big));
		for (size_t i = 0; i < want; i++)
			big[i] = (char)(i % 251);
		door_return(big, want, NULL, 0);
		break;
	}
	case 'D':
		out.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		out.d_data.d_desc.d_descriptor = door_create(nothing, NULL, 0);
		door_return(argp + 1, size - 1, &out, 1);
		break;
	}
	CHECK(0);
}

static void
nothing(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp;
	null_calls++;
	CHECK(size == 0 && dp == NULL && n == 0);
	/* The caller passed no door_arg_t: no room for results. */
	if (door_return("x", 1, NULL, 0) < 0)
		null_return_errno = errno;
	door_return(NULL, 0, NULL, 0);
}

static door_arg_t
args(const char *text, char *rbuf, size_t rsize)
{
	door_arg_t a = {
		.data_ptr = (char *)text, .data_size = strlen(text),
		.rbuf = rbuf, .rsize = rsize,
	};
	return (a);
}

static void
contract(int d, const char *who)
{
	char rbuf[256];

	/* Results that fit stay in rbuf. */
	door_arg_t a = args("Ehello", rbuf, sizeof (rbuf));
	CHECK(door_call(d, &a) == 0);
	CHECK(a.rbuf == rbuf && a.rsize == sizeof (rbuf));
	CHECK(a.data_ptr == rbuf && a.data_size == 5);
	CHECK(memcmp(rbuf, "hello", 5) == 0 && a.desc_num == 0);
	/* Exactly rsize bytes stay too. */
	a = args("B256", rbuf, sizeof (rbuf));
	CHECK(door_call(d, &a) == 0 && a.rbuf == rbuf && a.data_size == 256);
	CHECK((unsigned char)rbuf[255] == 255 % 251);
	/* One buffer for arguments and results. */
	strcpy(rbuf, "Eshared");
	a = args(rbuf, rbuf, sizeof (rbuf));
	CHECK(door_call(d, &a) == 0 && memcmp(rbuf, "shared", 6) == 0);
	/* A descriptor after the data, rounded to a door_desc_t. */
	a = args("Ddata!!", rbuf, sizeof (rbuf));
	CHECK(door_call(d, &a) == 0);
	CHECK(a.data_ptr == rbuf && a.data_size == 6 && a.desc_num == 1);
	CHECK((char *)a.desc_ptr == rbuf + ROUNDUP(6, sizeof (door_desc_t)));
	door_desc_t got = a.desc_ptr[0];
	CHECK(got.d_attributes & DOOR_DESCRIPTOR);
	door_info_t info;
	CHECK(door_info(got.d_data.d_desc.d_descriptor, &info) == 0);
	CHECK(info.di_uniquifier == got.d_data.d_desc.d_id);
	CHECK(close(got.d_data.d_desc.d_descriptor) == 0);
	/* ... or at rbuf itself after no data. */
	a = args("D", rbuf, sizeof (rbuf));
	CHECK(door_call(d, &a) == 0);
	CHECK(a.data_size == 0 && (char *)a.desc_ptr == rbuf);
	CHECK(close(a.desc_ptr[0].d_data.d_desc.d_descriptor) == 0);
	printf("%s: arguments and results through rbuf ok\n", who);

	/* Larger than rsize: a new mapping, page-rounded, zero-filled. */
	for (size_t rsize = 0; rsize <= 16; rsize += 16) {
		char small[16];
		a = args("B5000", rsize ? small : NULL, rsize);
		CHECK(door_call(d, &a) == 0);
		CHECK(a.rbuf != NULL && a.rbuf != small);
		CHECK((uintptr_t)a.rbuf % PAGE == 0 && a.rsize == 2 * PAGE);
		CHECK(a.data_ptr == a.rbuf && a.data_size == 5000);
		for (size_t i = 0; i < 5000; i++)
			CHECK((unsigned char)a.rbuf[i] == i % 251);
		for (size_t i = 5000; i < 2 * PAGE; i++)
			CHECK(a.rbuf[i] == 0);
		CHECK(munmap(a.rbuf, a.rsize) == 0);
	}
	printf("%s: results larger than rbuf in a new mapping ok\n", who);
}

/* The child: the main door and the NULL door as CHILD_FD(0) and (1). */
static int
child(void)
{
	contract(CHILD_FD(0), "c_door_calls child");
	CHECK(door_call(CHILD_FD(1), NULL) == 0);
	/* No memory left for a result area: EOVERFLOW. */
	struct rlimit none = { 0, 0 };
	CHECK(setrlimit(RLIMIT_AS, &none) == 0);
	char small[16];
	door_arg_t a = args("B5000", small, sizeof (small));
	CHECK_ERR(door_call(CHILD_FD(0), &a), EOVERFLOW);
	a = args("B16", small, sizeof (small));
	CHECK(door_call(CHILD_FD(0), &a) == 0 && a.rbuf == small);
	printf("c_door_calls child: EOVERFLOW without memory for results ok\n");
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return (child());

	int attrs[] = { DOOR_UNREF, DOOR_PRIVATE, DOOR_UNREF_MULTI,
	    DOOR_REFUSE_DESC, DOOR_NO_CANCEL };
	for (unsigned i = 0; i < sizeof (attrs) / sizeof (attrs[0]); i++) {
		int d = door_create(nothing, NULL, attrs[i]);
		door_info_t info;
		CHECK(d >= 0 && door_info(d, &info) == 0);
		CHECK((info.di_attributes & DOOR_CREATE_MASK) == (uint_t)attrs[i]);
		CHECK(close(d) == 0);
	}
	CHECK_ERR(door_create(nothing, NULL, DOOR_UNREF | DOOR_UNREF_MULTI),
	    EINVAL);
	CHECK_ERR(door_create(nothing, NULL, 0x100), EINVAL);
	CHECK_ERR(door_create(nothing, NULL, DOOR_LOCAL), EINVAL);
	printf("c_door_calls: door_create attributes ok\n");

	int d = door_create(serve, NULL, 0);
	int null = door_create(nothing, NULL, 0);
	CHECK(d >= 0 && null >= 0);
	contract(d, "c_door_calls");
	CHECK(door_call(null, NULL) == 0);
	CHECK(null_calls == 1 && null_return_errno == E2BIG);
	printf("c_door_calls: params NULL ok\n");

	int fds[] = { d, null };
	char *args[] = { "c_door_calls", "child", NULL };
	pid_t c = ctest_spawn(args, fds, 2);
	int status;
	CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 0);
	CHECK(null_calls == 2 && null_return_errno == E2BIG);
	printf("c_door_calls: ok\n");
	return (0);
}
