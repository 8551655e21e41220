/*
 * Doors from C, the smallest case: a door called within its own process,
 * then from a child process that received the descriptor at spawn (as its
 * descriptor 0). The server procedure uses printf and malloc, and runs on
 * a thread the default door_server_create procedure made (a pthread).
 */
#include <ctest.h>
#include <door.h>
#include <pthread.h>
#include <spawn_np.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
greet(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	char *reply = malloc(64);
	int n;

	(void) dp;
	(void) n_desc;
	n = snprintf(reply, 64, "%s, %.*s", (char *)cookie, (int)arg_size,
	    argp);
	printf("server: thread %d answers %.*s\n", gettid(), (int)arg_size,
	    argp);
	/* The results are copied out before door_return parks the thread. */
	char buf[64];
	memcpy(buf, reply, (size_t)n);
	free(reply);
	door_return(buf, (size_t)n, NULL, 0);
}

static void
call(int d, const char *name)
{
	char rbuf[64];
	door_arg_t arg = {
		.data_ptr = (char *)name,
		.data_size = strlen(name),
		.rbuf = rbuf,
		.rsize = sizeof (rbuf),
	};

	CHECK(door_call(d, &arg) == 0);
	printf("%s: %.*s\n", name, (int)arg.data_size, arg.data_ptr);
	CHECK(arg.data_ptr == rbuf);
	CHECK(arg.data_size == strlen("hello, ") + strlen(name));
	CHECK(memcmp(arg.data_ptr, "hello, ", 7) == 0);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "client") == 0) {
		call(CHILD_FD(0), "child");
		return (0);
	}
	int d = door_create(greet, "hello", 0);
	CHECK(d >= 0);
	call(d, "parent");

	int fds[] = { d };
	char *args[] = { "c_door_hello", "client", NULL };
	pid_t child = ctest_spawn(args, fds, 1);
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(door_revoke(d) == 0);
	printf("c_door_hello: ok\n");
	return (0);
}
