/*
 * Job control, as a shell (the CS:APP shell lab) uses it: stop signals
 * stop a whole process until SIGCONT, the parent sees it in waitpid
 * (WUNTRACED, WCONTINUED) and in SIGCHLD (CLD_STOPPED, CLD_CONTINUED):
 * - a child writing to a pipe in a loop, stopped with SIGSTOP: waitpid
 *   reports it once; no byte comes while it is stopped; SIGCONT lets the
 *   bytes flow again, and WCONTINUED reports it once;
 * - SIGTSTP with a handler runs it; at its default action it stops;
 *   ignored, nothing happens; blocked, it stops the child when the child
 *   unblocks it (in sigprocmask; in sigsuspend, which goes on waiting
 *   once continued); a child stopping itself (raise) stops there;
 * - SIGCHLD with CLD_STOPPED and CLD_CONTINUED (siginfo), none with
 *   SA_NOCLDSTOP (but CLD_KILLED still);
 * - a stopped child killed (SIGKILL; SIGTERM then SIGCONT) is reaped;
 * - kill(-pgid, SIGCONT) continues a group of stopped children;
 * - a native program stops and continues too;
 * - a stopped door server: a call to it waits until SIGCONT, then it is
 *   served;
 * - orphaned process groups: a group that its last outside parent's exit
 *   orphans with members stopped gets SIGHUP, then SIGCONT; in an
 *   orphaned group SIGTSTP, SIGTTIN and SIGTTOU do not stop (SIGSTOP
 *   does).
 * `c_jobs alone` stops itself, with nobody to continue it.
 */
#include <ctest_door.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Spins a little, so that a writing child is often running, not in
 * write, when a signal comes. */
static void
spin(void)
{
	for (volatile int i = 0; i < 2000; i++)
		;
}

/* A child writing 'x's to `fd` forever, a KiB at a time (so that it
 * soon fills the pipe and waits in write). */
static pid_t
writer(int fd[2])
{
	pid_t c = fork();

	CHECK(c >= 0);
	if (c == 0) {
		char buf[1024];

		memset(buf, 'x', sizeof (buf));
		close(fd[0]);
		for (;;) {
			CHECK(write(fd[1], buf, sizeof (buf)) > 0);
			spin();
		}
	}
	return (c);
}

static void
stopped_by(pid_t c, int sig)
{
	int st;

	CHECK(waitpid(c, &st, WUNTRACED) == c);
	CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == sig);
}

static void
continued(pid_t c)
{
	int st;

	CHECK(waitpid(c, &st, WCONTINUED) == c);
	CHECK(WIFCONTINUED(st));
}

static void
killed_by(pid_t c, int sig)
{
	int st;

	CHECK(waitpid(c, &st, 0) == c);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sig);
}

/* Nothing to report of `c` to a wait with `options` (and WNOHANG). */
static void
quiet(pid_t c, int options)
{
	int st;

	CHECK(waitpid(c, &st, options | WNOHANG) == 0);
}

static void
pause_a_little(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	CHECK(nanosleep(&ts, NULL) == 0);
}

/* Reads what is in the pipe `fd` without blocking; then, after a pause,
 * checks that nothing more came. */
static void
drained_and_silent(int fd)
{
	char buf[512];
	ssize_t n;

	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
	while ((n = read(fd, buf, sizeof (buf))) > 0)
		;
	CHECK(n == -1 && errno == EAGAIN);
	pause_a_little();
	CHECK_ERR(read(fd, buf, 1), EAGAIN);
	pause_a_little();
	CHECK_ERR(read(fd, buf, 1), EAGAIN);
	CHECK(fcntl(fd, F_SETFL, 0) == 0);
}

static char
next_byte(int fd)
{
	char c;

	CHECK(read(fd, &c, 1) == 1);
	return (c);
}

static void
stop_and_continue(void)
{
	int p[2];

	CHECK(pipe(p) == 0);
	pid_t c = writer(p);
	CHECK(close(p[1]) == 0);
	CHECK(next_byte(p[0]) == 'x');
	/* Most likely, it fills the pipe meanwhile and waits in write: the
	 * drain below wakes it, stopped. */
	pause_a_little();
	CHECK(kill(c, SIGSTOP) == 0);
	quiet(c, 0);
	stopped_by(c, SIGSTOP);
	quiet(c, WUNTRACED | WCONTINUED);
	drained_and_silent(p[0]);
	CHECK(kill(c, SIGSTOP) == 0);
	quiet(c, WUNTRACED);
	CHECK(kill(c, SIGCONT) == 0);
	quiet(c, WUNTRACED);
	continued(c);
	quiet(c, WUNTRACED | WCONTINUED);
	CHECK(next_byte(p[0]) == 'x');
	CHECK(next_byte(p[0]) == 'x');
	printf("c_jobs: SIGSTOP stops a writer (reported once, no bytes), "
	    "SIGCONT lets it go on ok\n");

	CHECK(kill(c, SIGSTOP) == 0);
	stopped_by(c, SIGSTOP);
	CHECK(kill(c, SIGKILL) == 0);
	killed_by(c, SIGKILL);
	CHECK(close(p[0]) == 0);
	printf("c_jobs: a stopped child killed with SIGKILL is reaped ok\n");
}

static int report_fd;

static void
on_signal(int sig)
{
	char c = sig == SIGTSTP ? 'h' : 'u';

	(void) write(report_fd, &c, 1);
}

static void
handle(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void
tstp(void)
{
	int p[2];

	CHECK(pipe(p) == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		report_fd = p[1];
		handle(SIGTSTP, on_signal, SA_RESETHAND);
		handle(SIGUSR1, on_signal, 0);
		handle(SIGTTIN, SIG_IGN, 0);
		CHECK(write(p[1], "r", 1) == 1);
		for (;;)
			pause();
	}
	CHECK(next_byte(p[0]) == 'r');
	CHECK(kill(c, SIGTSTP) == 0);
	CHECK(next_byte(p[0]) == 'h');
	CHECK(kill(c, SIGTTIN) == 0);
	CHECK(kill(c, SIGUSR1) == 0);
	CHECK(next_byte(p[0]) == 'u');
	quiet(c, WUNTRACED);
	printf("c_jobs: SIGTSTP with a handler runs it, SIGTTIN ignored "
	    "does nothing ok\n");

	CHECK(kill(c, SIGTSTP) == 0);
	stopped_by(c, SIGTSTP);
	CHECK(kill(c, SIGTERM) == 0);
	CHECK(kill(c, SIGCONT) == 0);
	killed_by(c, SIGTERM);
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	printf("c_jobs: SIGTSTP at its default action stops; SIGTERM then "
	    "SIGCONT ends it ok\n");
}

/* A child that blocks SIGTSTP, says 'r', waits for a byte on `go`,
 * unblocks SIGTSTP, then says 'b' and exits 0; or, with `self`, stops
 * itself instead of unblocking. */
static void
stops_on_its_way(int self)
{
	int p[2], go[2];

	CHECK(pipe(p) == 0 && pipe(go) == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGTSTP);
		CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
		CHECK(write(p[1], "r", 1) == 1);
		CHECK(next_byte(go[0]) == 'g');
		if (self)
			CHECK(raise(SIGSTOP) == 0);
		else
			CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
		CHECK(write(p[1], "b", 1) == 1);
		_exit(0);
	}
	CHECK(close(p[1]) == 0 && close(go[0]) == 0);
	CHECK(next_byte(p[0]) == 'r');
	if (!self) {
		CHECK(kill(c, SIGTSTP) == 0);
		quiet(c, WUNTRACED);
	}
	CHECK(write(go[1], "g", 1) == 1);
	stopped_by(c, self ? SIGSTOP : SIGTSTP);
	drained_and_silent(p[0]);
	CHECK(kill(c, SIGCONT) == 0);
	CHECK(next_byte(p[0]) == 'b');
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(close(p[0]) == 0 && close(go[1]) == 0);
}

static volatile sig_atomic_t usr1_seen;

static void
count_usr1(int sig)
{
	(void) sig;
	usr1_seen++;
}

/* A child in sigsuspend that unblocks a pending SIGTSTP stops there;
 * continued, it goes on waiting (the call restarts, no handler having
 * run) until a handled signal comes. */
static void
stopped_in_sigsuspend(void)
{
	int p[2];

	CHECK(pipe(p) == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		sigset_t set, none;

		handle(SIGUSR1, count_usr1, 0);
		sigemptyset(&set);
		sigaddset(&set, SIGTSTP);
		sigaddset(&set, SIGUSR1);
		CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
		CHECK(write(p[1], "r", 1) == 1);
		sigset_t pending;
		int i = 0;
		do {
			CHECK(i++ < 1000000);
			sched_yield();
			CHECK(sigpending(&pending) == 0);
		} while (!sigismember(&pending, SIGTSTP));
		sigemptyset(&none);
		CHECK_ERR(sigsuspend(&none), EINTR);
		char seen = '0' + usr1_seen;
		CHECK(write(p[1], &seen, 1) == 1);
		_exit(0);
	}
	CHECK(next_byte(p[0]) == 'r');
	CHECK(kill(c, SIGTSTP) == 0);
	stopped_by(c, SIGTSTP);
	CHECK(kill(c, SIGCONT) == 0);
	continued(c);
	/* It runs meanwhile: back in sigsuspend, not out of it. */
	pause_a_little();
	CHECK(kill(c, SIGUSR1) == 0);
	CHECK(next_byte(p[0]) == '1');
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	printf("c_jobs: sigsuspend stopped by a signal it unblocks waits on "
	    "once continued ok\n");
}

/* The SIGCHLD pending for this process, taken: its si_code, si_status
 * and si_pid must be these. */
static void
sigchld_says(int code, int status, pid_t pid)
{
	sigset_t set;
	siginfo_t info;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	CHECK(sigwaitinfo(&set, &info) == SIGCHLD);
	CHECK(info.si_code == code);
	CHECK(info.si_status == status);
	CHECK(info.si_pid == pid);
}

static int
sigchld_pending(void)
{
	sigset_t set;

	CHECK(sigpending(&set) == 0);
	return (sigismember(&set, SIGCHLD));
}

static void
sigchld(void)
{
	sigset_t set;
	int p[2];

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	CHECK(pipe(p) == 0);
	pid_t c = writer(p);
	CHECK(next_byte(p[0]) == 'x');
	CHECK(kill(c, SIGSTOP) == 0);
	sigchld_says(CLD_STOPPED, SIGSTOP, c);
	stopped_by(c, SIGSTOP);
	CHECK(kill(c, SIGCONT) == 0);
	sigchld_says(CLD_CONTINUED, SIGCONT, c);
	continued(c);
	printf("c_jobs: SIGCHLD with CLD_STOPPED and CLD_CONTINUED ok\n");

	handle(SIGCHLD, SIG_DFL, SA_NOCLDSTOP);
	CHECK(kill(c, SIGSTOP) == 0);
	stopped_by(c, SIGSTOP);
	CHECK(!sigchld_pending());
	CHECK(kill(c, SIGCONT) == 0);
	continued(c);
	CHECK(!sigchld_pending());
	CHECK(kill(c, SIGKILL) == 0);
	killed_by(c, SIGKILL);
	sigchld_says(CLD_KILLED, SIGKILL, c);
	handle(SIGCHLD, SIG_DFL, 0);
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	printf("c_jobs: no SIGCHLD for stops with SA_NOCLDSTOP, one for the "
	    "end ok\n");
}

static void
group(void)
{
	int p[2], q[2];

	CHECK(pipe(p) == 0 && pipe(q) == 0);
	pid_t a = writer(p), b = writer(q);
	CHECK(next_byte(p[0]) == 'x' && next_byte(q[0]) == 'x');
	CHECK(kill(a, SIGSTOP) == 0 && kill(b, SIGSTOP) == 0);
	stopped_by(a, SIGSTOP);
	stopped_by(b, SIGSTOP);
	drained_and_silent(p[0]);
	drained_and_silent(q[0]);
	/* Spawned by init, this program leads its own group, which its
	 * forked children joined. */
	CHECK(kill(-getpid(), SIGCONT) == 0);
	continued(a);
	continued(b);
	CHECK(next_byte(p[0]) == 'x' && next_byte(q[0]) == 'x');
	CHECK(kill(a, SIGKILL) == 0 && kill(b, SIGKILL) == 0);
	killed_by(a, SIGKILL);
	killed_by(b, SIGKILL);
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	CHECK(close(q[0]) == 0 && close(q[1]) == 0);
	printf("c_jobs: kill(-pgid, SIGCONT) continues a stopped group ok\n");
}

static void
native(void)
{
	char *args[] = { "outcome", "hang", NULL };
	pid_t c = ctest_spawn(args, NULL, 0);

	CHECK(kill(c, SIGSTOP) == 0);
	stopped_by(c, SIGSTOP);
	CHECK(kill(c, SIGCONT) == 0);
	continued(c);
	CHECK(kill(c, SIGTSTP) == 0);
	stopped_by(c, SIGTSTP);
	CHECK(kill(c, SIGKILL) == 0);
	killed_by(c, SIGKILL);
	printf("c_jobs: a native program stops and continues ok\n");
}

/* The door server: a door whose procedure answers how many calls it
 * served, handed through the parent's mailbox (CHILD_FD(0)); its main
 * thread serves alone from door_return. */
static int served;

static void
count(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	served++;
	door_return((char *)&served, sizeof (served), NULL, 0);
}

static void
no_threads(door_info_t *info)
{
	(void) info;
}

static int
server(void)
{
	(void) door_server_create(no_threads);
	ctest_hand(CHILD_FD(0), door_create(count, NULL, 0));
	door_return(NULL, 0, NULL, 0);
	CHECK(0);
	return (1);
}

static int
ask(int d)
{
	int n = 0;
	door_arg_t a = { .rbuf = (char *)&n, .rsize = sizeof (n) };

	CHECK(door_call(d, &a) == 0 && a.data_size == sizeof (n));
	return (*(int *)a.data_ptr);
}

static atomic_int answer;

static void *
call(void *arg)
{
	answer = ask(*(int *)arg);
	return (NULL);
}

static void
door_server(void)
{
	int m = door_create(ctest_mailbox, NULL, 0);
	CHECK(m >= 0);
	char *args[] = { "c_jobs", "server", NULL };
	pid_t srv = ctest_spawn(args, &m, 1);
	int d = ctest_await_handed();
	CHECK(ask(d) == 1);
	CHECK(kill(srv, SIGSTOP) == 0);
	stopped_by(srv, SIGSTOP);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, call, &d) == 0);
	pause_a_little();
	CHECK(answer == 0);
	CHECK(kill(srv, SIGCONT) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(answer == 2);
	continued(srv);
	CHECK(ask(d) == 3);
	CHECK(kill(srv, SIGKILL) == 0);
	killed_by(srv, SIGKILL);
	CHECK(close(d) == 0 && close(m) == 0);
	printf("c_jobs: a call to a stopped door server waits for SIGCONT, "
	    "then is served ok\n");
}

/* Stops itself in group `pgid` (0: a new one) once there; if
 * continued, writes 'C' to `fd` and exits. */
static void
stop_in_group(pid_t pgid, int fd)
{
	CHECK(setpgid(0, pgid) == 0);
	CHECK(raise(SIGSTOP) == 0);
	CHECK(write(fd, "C", 1) == 1);
	_exit(0);
}

static void
on_hangup(int sig)
{
	(void) sig;
	CHECK(write(report_fd, "H", 1) == 1);
}

/* Reads `fd` to its end: what came, as a string. */
static const char *
all_of(int fd)
{
	static char buf[8];
	size_t n = 0;
	ssize_t r;

	while ((r = read(fd, buf + n, sizeof (buf) - 1 - n)) > 0)
		n += r;
	CHECK(r == 0);
	buf[n] = '\0';
	return (buf);
}

/* A child leads a session of its own (init, in session 1, holds none of
 * its groups) and puts two children of its own in a group, stopped; they
 * write 'C' once continued. Its exit orphans their group: each gets
 * SIGHUP, then SIGCONT. The one with a handler says 'H', then 'C'; the
 * other dies of the SIGHUP. The pipes' ends: each grandchild holds the
 * write end of its own, so its end is theirs. */
static void
hung_up(void)
{
	int p[2], q[2];

	CHECK(pipe(p) == 0 && pipe(q) == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(close(p[0]) == 0 && close(q[0]) == 0);
		CHECK(setsid() == getpid());
		pid_t handled = fork();
		CHECK(handled >= 0);
		if (handled == 0) {
			CHECK(close(q[1]) == 0);
			report_fd = p[1];
			handle(SIGHUP, on_hangup, 0);
			stop_in_group(0, p[1]);
		}
		stopped_by(handled, SIGSTOP);
		pid_t dies = fork();
		CHECK(dies >= 0);
		if (dies == 0) {
			CHECK(close(p[1]) == 0);
			stop_in_group(handled, q[1]);
		}
		stopped_by(dies, SIGSTOP);
		CHECK(getpgid(dies) == handled);
		_exit(0);
	}
	CHECK(close(p[1]) == 0 && close(q[1]) == 0);
	int st;
	CHECK(waitpid(c, &st, 0) == c);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(strcmp(all_of(p[0]), "HC") == 0);
	CHECK(strcmp(all_of(q[0]), "") == 0);
	CHECK(close(p[0]) == 0 && close(q[0]) == 0);
	printf("c_jobs: a group orphaned with members stopped gets SIGHUP, "
	    "then SIGCONT ok\n");
}

/* Writes `b` to the child through `to`; it must echo it on `from`. */
static void
echoed(int to, int from, char b)
{
	CHECK(write(to, &b, 1) == 1);
	CHECK(next_byte(from) == b);
}

/* A child leading a session of its own is in an orphaned group (its
 * parent is in another session): SIGTSTP, SIGTTIN, SIGTTOU, even raised
 * by itself ('r'), leave it running, echoing what it reads; SIGSTOP
 * stops it. */
static void
orphan_runs_on(void)
{
	int to[2], from[2];

	CHECK(pipe(to) == 0 && pipe(from) == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		char b;

		CHECK(close(to[1]) == 0 && close(from[0]) == 0);
		CHECK(setsid() == getpid());
		while (read(to[0], &b, 1) == 1) {
			if (b == 'r')
				CHECK(raise(SIGTSTP) == 0);
			CHECK(write(from[1], &b, 1) == 1);
		}
		_exit(0);
	}
	CHECK(close(to[0]) == 0 && close(from[1]) == 0);
	echoed(to[1], from[0], 'a');
	int sigs[] = { SIGTSTP, SIGTTIN, SIGTTOU };
	for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++) {
		CHECK(kill(c, sigs[i]) == 0);
		echoed(to[1], from[0], 'b');
		quiet(c, WUNTRACED);
	}
	echoed(to[1], from[0], 'r');
	quiet(c, WUNTRACED);
	CHECK(kill(c, SIGSTOP) == 0);
	stopped_by(c, SIGSTOP);
	CHECK(kill(c, SIGCONT) == 0);
	continued(c);
	echoed(to[1], from[0], 'c');
	CHECK(close(to[1]) == 0);
	int st;
	CHECK(waitpid(c, &st, 0) == c);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(close(from[0]) == 0);
	printf("c_jobs: in an orphaned group SIGTSTP, SIGTTIN, SIGTTOU do not "
	    "stop, SIGSTOP does ok\n");
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "alone") == 0) {
		/* Nobody will continue it: the kernel reports a deadlock. */
		raise(SIGSTOP);
		return (1);
	}
	if (argc > 1)
		return (server());
	stop_and_continue();
	tstp();
	stops_on_its_way(0);
	printf("c_jobs: a blocked SIGTSTP stops the child when it unblocks "
	    "it ok\n");
	stops_on_its_way(1);
	printf("c_jobs: a child that raises SIGSTOP stops there ok\n");
	stopped_in_sigsuspend();
	sigchld();
	group();
	native();
	door_server();
	hung_up();
	orphan_runs_on();
	printf("c_jobs: done\n");
	return (0);
}
