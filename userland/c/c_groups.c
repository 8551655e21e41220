/*
 * Process groups and sessions through musl, as a shell uses them:
 * getpgrp, getpgid, getsid, setpgid of itself and of its children (and
 * each of setpgid(2)'s errors, EACCES for a child that has exec'd: it runs
 * "c_groups exec W R", which says so on pipe W and waits on pipe R),
 * setsid and its EPERM, kill(-pgid) reaching exactly one group, and
 * waitpid(-pgid) and waitpid(0) reaping by group.
 */
#include <ctest.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that waits until a byte comes on `release`, then exits with
 * `status`. Returns its pid. */
static pid_t
waiting_child(int release[2], int status)
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		char byte;
		CHECK(read(release[0], &byte, 1) == 1);
		_exit(status);
	}
	return (c);
}

static void
release_child(int release[2])
{
	CHECK(write(release[1], "x", 1) == 1);
	close(release[0]);
	close(release[1]);
}

static void
reap(pid_t c, int status)
{
	int st;
	CHECK(waitpid(c, &st, 0) == c);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == status);
}

static void
own_ids(void)
{
	pid_t me = getpid();
	/* A program init starts leads a group of its own in init's session. */
	CHECK(getpgrp() == me);
	CHECK(getpgid(0) == me && getpgid(me) == me);
	CHECK(getsid(0) == 1 && getsid(me) == 1);
	CHECK(getpgid(1) == 1 && getsid(1) == 1);
	CHECK_ERR(getpgid(999999), ESRCH);
	CHECK_ERR(getsid(999999), ESRCH);
	CHECK_ERR(getpgid(-1), ESRCH);
	CHECK_ERR(getsid(-1), ESRCH);
	CHECK(setpgid(0, 0) == 0 && setpgid(me, me) == 0 && getpgrp() == me);
	CHECK_ERR(setsid(), EPERM);
	CHECK_ERR(setpgid(0, -1), EINVAL);
	CHECK_ERR(setpgid(-5, 0), EINVAL);
	CHECK_ERR(setpgid(-5, me), ESRCH);
	CHECK_ERR(setpgid(1, 0), ESRCH);
	CHECK_ERR(setpgid(999999, 0), ESRCH);
	CHECK_ERR(setpgid(0, 999999), EPERM);
	printf("c_groups: getpgrp, getpgid, getsid and setpgid of itself ok\n");
}

static void
children_groups(void)
{
	pid_t me = getpid();
	int release[2], sibling_release[2];
	CHECK(pipe(release) == 0 && pipe(sibling_release) == 0);
	pid_t c = waiting_child(release, 0);
	pid_t sibling = waiting_child(sibling_release, 0);
	CHECK(getpgid(c) == me && getsid(c) == 1);
	CHECK(setpgid(c, 0) == 0 && getpgid(c) == c);
	CHECK(setpgid(c, me) == 0 && getpgid(c) == me);
	CHECK(setpgid(c, c) == 0 && getpgid(c) == c);
	/* The sibling joins the child's group, which is in this session. */
	CHECK(setpgid(sibling, c) == 0 && getpgid(sibling) == c);
	/* waitpid(0) names this group only: no child is left in it. */
	CHECK_ERR(waitpid(0, NULL, WNOHANG), ECHILD);
	CHECK(waitpid(-c, NULL, WNOHANG) == 0);
	CHECK(setpgid(sibling, sibling) == 0 && getpgid(sibling) == sibling);
	/* The caller joins its child's group, and comes back. */
	CHECK(setpgid(0, c) == 0 && getpgrp() == c);
	CHECK(setpgid(0, 0) == 0 && getpgrp() == me);
	CHECK(setpgid(0, 1) == 0 && getpgrp() == 1);
	CHECK(setpgid(0, 0) == 0 && getpgrp() == me);
	release_child(release);
	release_child(sibling_release);
	reap(c, 0);
	reap(sibling, 0);
	CHECK_ERR(setpgid(c, c), ESRCH);
	printf("c_groups: setpgid of children, waitpid(0) by group ok\n");
}

/* A child that has run execve: its group is its own business (EACCES). */
static void
after_exec(void)
{
	int ready[2], release[2];
	CHECK(pipe(ready) == 0 && pipe(release) == 0);
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		char w[16], r[16];
		close(ready[0]);
		close(release[1]);
		snprintf(w, sizeof w, "%d", ready[1]);
		snprintf(r, sizeof r, "%d", release[0]);
		execl("/bin/c_groups", "c_groups", "exec", w, r, (char *)NULL);
		CHECK(0);
	}
	close(ready[1]);
	close(release[0]);
	char byte;
	CHECK(read(ready[0], &byte, 1) == 1 && byte == 'x');
	CHECK(getpgid(c) == getpid());
	CHECK_ERR(setpgid(c, 0), EACCES);
	CHECK_ERR(setpgid(c, getpid()), EACCES);
	CHECK(getpgid(c) == getpid());
	close(release[1]);
	close(ready[0]);
	reap(c, 0);
	printf("c_groups: EACCES for a child that has exec'd ok\n");
}

/* The image after_exec runs: it says it is there and waits. */
static int
exec_image(int ready, int release)
{
	char byte = 'x';
	CHECK(write(ready, &byte, 1) == 1);
	(void)read(release, &byte, 1);
	return (0);
}

static void
sessions(void)
{
	int ready[2], release[2];
	CHECK(pipe(ready) == 0 && pipe(release) == 0);
	pid_t parent_group = getpgrp();
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		pid_t me = getpid();
		close(ready[0]);
		close(release[1]);
		CHECK(getsid(0) == 1 && getpgrp() == parent_group);
		CHECK(setsid() == me);
		CHECK(getsid(0) == me && getpgrp() == me && getpgid(0) == me);
		CHECK_ERR(setsid(), EPERM);
		CHECK_ERR(setpgid(0, 0), EPERM);
		CHECK_ERR(setpgid(0, parent_group), EPERM);
		/* A grandchild in the new session cannot join the old one's
		 * groups, nor can it start a session: it is in group me. */
		pid_t g = fork();
		CHECK(g >= 0);
		if (g == 0) {
			CHECK(getsid(0) == me && getpgrp() == me);
			CHECK_ERR(setpgid(0, parent_group), EPERM);
			CHECK(setpgid(0, 0) == 0 && getpgrp() == getpid());
			CHECK_ERR(setsid(), EPERM);
			CHECK(setpgid(0, me) == 0 && getpgrp() == me);
			_exit(0);
		}
		int st;
		CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		char byte = 'x';
		CHECK(write(ready[1], &byte, 1) == 1);
		(void)read(release[0], &byte, 1);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	char byte;
	CHECK(read(ready[0], &byte, 1) == 1);
	CHECK(getsid(c) == c && getpgid(c) == c);
	CHECK_ERR(setpgid(c, c), EPERM);
	CHECK_ERR(setpgid(0, c), EPERM);
	CHECK(getsid(0) == 1);
	close(release[1]);
	close(ready[0]);
	reap(c, 0);

	/* A child that leads a group may not start a session. */
	fflush(stdout);
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(setpgid(0, 0) == 0);
		CHECK_ERR(setsid(), EPERM);
		CHECK(getsid(0) == 1);
		_exit(0);
	}
	reap(c, 0);
	printf("c_groups: setsid and sessions ok\n");
}

static void
group_signals(void)
{
	int r1[2], r2[2], r3[2];
	CHECK(pipe(r1) == 0 && pipe(r2) == 0 && pipe(r3) == 0);
	pid_t a = waiting_child(r1, 0);
	pid_t b = waiting_child(r2, 0);
	pid_t c = waiting_child(r3, 0);
	CHECK(setpgid(a, a) == 0 && setpgid(b, a) == 0);
	CHECK(kill(-a, SIGTERM) == 0);
	for (int i = 0; i < 2; i++) {
		int st;
		pid_t got = waitpid(-a, &st, 0);
		CHECK(got == a || got == b);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	}
	CHECK_ERR(waitpid(-a, NULL, 0), ECHILD);
	CHECK_ERR(kill(-a, SIGTERM), ESRCH);
	/* c, in this group, was not signalled. */
	CHECK(waitpid(c, NULL, WNOHANG) == 0);
	CHECK(waitpid(0, NULL, WNOHANG) == 0);
	release_child(r3);
	int st;
	CHECK(waitpid(0, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(r1[0]);
	close(r1[1]);
	close(r2[0]);
	close(r2[1]);
	printf("c_groups: kill(-pgid) and waitpid(-pgid) reach exactly the group ok\n");
}

int
main(int argc, char *argv[])
{
	if (argc == 4 && strcmp(argv[1], "exec") == 0)
		return (exec_image(atoi(argv[2]), atoi(argv[3])));
	own_ids();
	children_groups();
	after_exec();
	sessions();
	group_signals();
	printf("c_groups: ok\n");
	return (0);
}
