/*
 * fork, exec, wait, kill and alarm through the C library (musl's fork,
 * execve/execv/execl, waitpid, kill, alarm, pause): a child's memory is
 * its own copy, statuses read with the <sys/wait.h> macros, a pipe across
 * fork, signals' default actions, execve with arguments and an
 * environment the new image reads with getenv, a native program exec'd
 * from this Linux one, and exec errors that leave the caller running.
 */
#include <ctest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int counter = 1;

/* Forks a child that runs f (after flushing stdout); returns its pid. */
static pid_t
child(int (*f)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(f());
	return (pid);
}

static int
status_of(pid_t pid)
{
	int status;

	CHECK(waitpid(pid, &status, 0) == pid);
	return (status);
}

static pid_t parent;

static int
writer(void)
{
	CHECK(getppid() == parent);
	counter = 2;
	char *heap = malloc(100000);
	CHECK(heap != NULL);
	memset(heap, 'c', 100000);
	return (counter + 1);
}

static int
pauser(void)
{
	pause();
	return (1);
}

static int
alarmed(void)
{
	CHECK(alarm(1) == 0);
	pause();
	return (1);
}

static int
image(void)
{
	char *argv[] = { "c_fork", "image", "x y", NULL };
	char *envp[] = { "C_FORK=from the parent", "OTHER=1", NULL };

	execve("/bin/c_fork", argv, envp);
	return (9);
}

/* A native program of this kernel (its runtime, not musl) in its place. */
static int
native(void)
{
	execl("/bin/proc_image", "proc_image", "exit", "5", (char *)NULL);
	return (9);
}

static void
processes(void)
{
	parent = getpid();
	int status = status_of(child(writer));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(counter == 1);
	printf("c_fork: a child's memory is its own\n");

	int p[2];
	CHECK(pipe(p) == 0);
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		close(p[0]);
		CHECK(write(p[1], "from the child", 14) == 14);
		_exit(0);
	}
	close(p[1]);
	char buf[32];
	CHECK(read(p[0], buf, sizeof buf) == 14 && memcmp(buf, "from the child", 14) == 0);
	CHECK(read(p[0], buf, sizeof buf) == 0);
	close(p[0]);
	CHECK(WEXITSTATUS(status_of(c)) == 0);
	printf("c_fork: a pipe across fork ok\n");

	c = child(pauser);
	CHECK(waitpid(c, &status, WNOHANG) == 0);
	CHECK(kill(c, 0) == 0);
	CHECK(kill(c, SIGTERM) == 0);
	status = status_of(c);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	status = status_of(child(alarmed));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
	CHECK_ERR(waitpid(-1, &status, 0), ECHILD);
	printf("c_fork: waitpid, kill and alarm ok\n");

	status = status_of(child(image));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4);
	status = status_of(child(native));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);
	CHECK_ERR(execl("/bin/no_such_program", "x", (char *)NULL), ENOENT);
	CHECK_ERR(execl("/tmp", "x", (char *)NULL), EACCES);
	int fd = open("/tmp/c_fork.garbage", O_CREAT | O_WRONLY, 0755);
	CHECK(fd >= 0 && write(fd, "\177ELF garbage", 12) == 12);
	close(fd);
	CHECK_ERR(execl("/tmp/c_fork.garbage", "x", (char *)NULL), ENOEXEC);
	CHECK(unlink("/tmp/c_fork.garbage") == 0);
	printf("c_fork: exec ok\n");
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "image") == 0) {
		/* The new image: its arguments and environment. */
		CHECK(argc == 3 && strcmp(argv[2], "x y") == 0);
		CHECK(strcmp(getenv("C_FORK"), "from the parent") == 0);
		CHECK(strcmp(getenv("OTHER"), "1") == 0);
		printf("c_fork image: arguments and environment ok\n");
		return (4);
	}
	processes();
	printf("c_fork: done\n");
	return (0);
}
