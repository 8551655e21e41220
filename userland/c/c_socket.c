/*
 * Stream socket pairs (socketpair(AF_UNIX, SOCK_STREAM)) as C programs use
 * them: both directions on one descriptor, a ping-pong between parent and
 * child, a large transfer with flow control, send/recv and sendmsg/recvmsg
 * with their flags, shutdown of either direction, the peer's close,
 * SIGPIPE (for pipes too) and MSG_NOSIGNAL, poll and select, and Linux's
 * errors.
 */
#include <ctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t pipes_broken;

/* An address nothing is mapped at (the compiler cannot tell). */
static volatile uintptr_t unmapped = 8;

static void
on_sigpipe(int sig)
{
	(void)sig;
	pipes_broken++;
}

static void
pair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
}

static short
revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	CHECK(poll(&p, 1, 0) >= 0);
	return (p.revents);
}

static void
both_ways(void)
{
	int sv[2];
	char buf[16];
	pair(sv);
	CHECK(write(sv[0], "ping", 4) == 4);
	CHECK(write(sv[1], "pong", 4) == 4);
	CHECK(read(sv[1], buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
	CHECK(read(sv[0], buf, sizeof buf) == 4 && memcmp(buf, "pong", 4) == 0);
	CHECK(send(sv[0], "abc", 3, 0) == 3);
	CHECK(recv(sv[1], buf, sizeof buf, 0) == 3 && memcmp(buf, "abc", 3) == 0);
	struct stat st;
	CHECK(fstat(sv[0], &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK((fcntl(sv[0], F_GETFL) & O_ACCMODE) == O_RDWR);
	CHECK_ERR(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	CHECK(revents(sv[0], POLLIN | POLLOUT) == POLLOUT);
	CHECK(write(sv[1], "x", 1) == 1);
	CHECK(revents(sv[0], POLLIN | POLLOUT) == (POLLIN | POLLOUT));
	CHECK(read(sv[0], buf, 1) == 1);
	close(sv[0]);
	close(sv[1]);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(sv[1], F_GETFD) & FD_CLOEXEC);
	CHECK_ERR(read(sv[1], buf, 1), EAGAIN);
	close(sv[0]);
	close(sv[1]);
	printf("c_socket: both directions on each end, send/recv, fstat, poll ok\n");
}

enum { ROUNDS = 200, BIG = 200000 };

static void
ping_pong_and_a_big_transfer(void)
{
	int sv[2];
	pair(sv);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(sv[0]);
		int n;
		for (int i = 0; i < ROUNDS; i++) {
			CHECK(read(sv[1], &n, sizeof n) == sizeof n);
			n++;
			CHECK(write(sv[1], &n, sizeof n) == sizeof n);
		}
		/* Far more than a pipe holds: the writer waits for the reader. */
		static char big[BIG];
		for (int i = 0; i < BIG; i++)
			big[i] = (char)(i * 7);
		CHECK(send(sv[1], big, BIG, 0) == BIG);
		_exit(0);
	}
	close(sv[1]);
	for (int i = 0; i < ROUNDS; i++) {
		int n = 2 * i;
		CHECK(write(sv[0], &n, sizeof n) == sizeof n);
		CHECK(read(sv[0], &n, sizeof n) == sizeof n && n == 2 * i + 1);
	}
	static char got[BIG];
	/* One call with MSG_WAITALL takes it all as it arrives. */
	CHECK(recv(sv[0], got, BIG, MSG_WAITALL) == BIG);
	for (int i = 0; i < BIG; i++)
		CHECK(got[i] == (char)(i * 7));
	char c;
	CHECK(read(sv[0], &c, 1) == 0);
	CHECK(revents(sv[0], POLLIN) & POLLHUP);
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
	printf("c_socket: ping-pong with a child, %d bytes with MSG_WAITALL ok\n", BIG);
}

static void
vectors(void)
{
	int sv[2];
	pair(sv);
	char a[] = "one ", b[] = "two ", c[] = "three";
	struct iovec out[3] = { { a, 4 }, { b, 4 }, { c, 5 } };
	struct msghdr msg = { .msg_iov = out, .msg_iovlen = 3 };
	CHECK(sendmsg(sv[0], &msg, 0) == 13);
	char x[6], y[20];
	struct iovec in[2] = { { x, 6 }, { y, sizeof y } };
	struct msghdr back = { .msg_iov = in, .msg_iovlen = 2, .msg_namelen = 99, .msg_controllen = 99,
		.msg_flags = 99 };
	char name[16];
	back.msg_name = name;
	char control[64];
	back.msg_control = control;
	CHECK(recvmsg(sv[1], &back, 0) == 13);
	CHECK(memcmp(x, "one tw", 6) == 0 && memcmp(y, "o three", 7) == 0);
	CHECK(back.msg_namelen == 0 && back.msg_controllen == 0 && back.msg_flags == 0);
	char fds[CMSG_SPACE(sizeof(int))];
	struct msghdr with_fds = { .msg_iov = out, .msg_iovlen = 1, .msg_control = fds,
		.msg_controllen = sizeof fds };
	CHECK_ERR(sendmsg(sv[0], &with_fds, 0), EOPNOTSUPP);
	close(sv[0]);
	close(sv[1]);
	printf("c_socket: sendmsg and recvmsg with iovecs ok\n");
}

static void
shutting_down(void)
{
	int sv[2];
	char buf[16];
	pair(sv);
	CHECK(write(sv[0], "last", 4) == 4);
	int dup_end = dup(sv[0]);
	CHECK(dup_end >= 0);
	CHECK(shutdown(sv[0], SHUT_WR) == 0);
	/* Every descriptor of the socket is shut. */
	CHECK_ERR(send(dup_end, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK(pipes_broken == 0);
	CHECK_ERR(write(sv[0], "x", 1), EPIPE);
	CHECK(pipes_broken == 1);
	CHECK(read(sv[1], buf, sizeof buf) == 4);
	CHECK(read(sv[1], buf, sizeof buf) == 0);
	CHECK(!(revents(sv[1], POLLIN) & POLLHUP));
	CHECK(write(sv[1], "back", 4) == 4);
	CHECK(read(sv[0], buf, sizeof buf) == 4);
	CHECK(write(sv[1], "more", 4) == 4);
	CHECK(shutdown(sv[0], SHUT_RD) == 0);
	CHECK(read(sv[0], buf, sizeof buf) == 4);
	CHECK(read(sv[0], buf, sizeof buf) == 0);
	CHECK_ERR(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK(revents(sv[0], POLLIN) & POLLHUP);
	CHECK(revents(sv[1], POLLIN) & POLLHUP);
	CHECK_ERR(shutdown(sv[0], 3), EINVAL);
	close(dup_end);
	close(sv[0]);
	close(sv[1]);
	printf("c_socket: shutdown of either direction, for every descriptor ok\n");
}

/* A child writes to `fd` (the other end closed) with SIGPIPE's default
 * action: it dies of SIGPIPE. */
static void
dies_of_sigpipe(int fd)
{
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		signal(SIGPIPE, SIG_DFL);
		(void)write(fd, "x", 1);
		_exit(0);
	}
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);
}

static void
the_peer_closes(void)
{
	int sv[2];
	char buf[4];
	pair(sv);
	close(sv[1]);
	CHECK(read(sv[0], buf, sizeof buf) == 0);
	CHECK(revents(sv[0], POLLIN | POLLOUT) == (POLLIN | POLLOUT | POLLHUP));
	int before = pipes_broken;
	CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
	CHECK(pipes_broken == before + 1);
	dies_of_sigpipe(sv[0]);
	close(sv[0]);

	int p[2];
	CHECK(pipe(p) == 0);
	close(p[0]);
	CHECK_ERR(write(p[1], "x", 1), EPIPE);
	CHECK(pipes_broken == before + 2);
	dies_of_sigpipe(p[1]);
	close(p[1]);
	printf("c_socket: the peer's close: end of file, EPIPE and SIGPIPE (pipes too) ok\n");
}

static void
selecting(void)
{
	int sv[2];
	pair(sv);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		usleep(20000);
		CHECK(write(sv[1], "!", 1) == 1);
		_exit(0);
	}
	fd_set readable;
	FD_ZERO(&readable);
	FD_SET(sv[0], &readable);
	CHECK(select(sv[0] + 1, &readable, NULL, NULL, NULL) == 1);
	CHECK(FD_ISSET(sv[0], &readable));
	char c;
	CHECK(read(sv[0], &c, 1) == 1 && c == '!');
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	close(sv[0]);
	close(sv[1]);
	printf("c_socket: select waits for a socket ok\n");
}

static void
errors(void)
{
	int sv[2];
	CHECK_ERR(socketpair(AF_INET, SOCK_STREAM, 0, sv), EAFNOSUPPORT);
	CHECK_ERR(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), ESOCKTNOSUPPORT);
	CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM, 5, sv), EPROTONOSUPPORT);
	CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM | 0x1000, 0, sv), EINVAL);
	CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)unmapped), EFAULT);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, AF_UNIX, sv) == 0);
	char buf[4];
	struct sockaddr sa = { .sa_family = AF_UNIX };
	CHECK_ERR(sendto(sv[0], "x", 1, 0, &sa, sizeof sa), EISCONN);
	CHECK_ERR(send(sv[0], "x", 1, MSG_OOB), EOPNOTSUPP);
	CHECK_ERR(recv(sv[0], buf, 1, MSG_PEEK), EOPNOTSUPP);
	CHECK_ERR(send(sv[0], (void *)8, 1, 0), EFAULT);
	CHECK_ERR(lseek(sv[0], 0, SEEK_SET), ESPIPE);
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK_ERR(send(p[1], "x", 1, 0), ENOTSOCK);
	CHECK_ERR(recv(p[0], buf, 1, 0), ENOTSOCK);
	CHECK_ERR(shutdown(p[0], SHUT_RD), ENOTSOCK);
	CHECK_ERR(shutdown(-1, SHUT_RD), EBADF);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	printf("c_socket: Linux's errors ok\n");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { .sa_handler = on_sigpipe };
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
	selecting();
	both_ways();
	ping_pong_and_a_big_transfer();
	vectors();
	shutting_down();
	the_peer_closes();
	errors();
	printf("c_socket: done\n");
	return (0);
}
