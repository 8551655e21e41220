/*
 * door_create(3C), Example 1, as a server and a client in two processes:
 * the server creates a door, makes sure the file it names exists (creat,
 * mode 0444), that nothing else is attached there, attaches the door with
 * fattach(3C) and starts the client, which finds the door with open(2) and
 * calls it. The server procedure answers with the caller's pid and the
 * text it was sent; the client passes a word, checks the answer and
 * exits; the server then detaches the door, removes the file and exits.
 */
#include <door.h>
#include <fcntl.h>
#include <spawn_np.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stropts.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DOOR_PATH "/tmp/door"

void
server(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	char reply[128];
	ucred_t *cred = NULL;
	int n;

	(void) cookie, (void) dp, (void) n_desc;
	if (door_ucred(&cred) < 0) {
		perror("door_ucred");
		exit(1);
	}
	n = snprintf(reply, sizeof (reply), "process %d said \"%.*s\"",
	    (int)ucred_getpid(cred), (int)arg_size, argp);
	ucred_free(cred);
	door_return(reply, (size_t)n, NULL, 0);
	/* NOTREACHED */
}

static int
client(const char *word)
{
	char rbuf[128];
	door_arg_t arg = {
		.data_ptr = (char *)word, .data_size = strlen(word),
		.rbuf = rbuf, .rsize = sizeof (rbuf),
	};
	int d = open(DOOR_PATH, O_RDONLY);

	if (d < 0) {
		perror("open " DOOR_PATH);
		return (1);
	}
	if (door_call(d, &arg) < 0) {
		perror("door_call");
		return (1);
	}
	printf("client %d: %.*s\n", getpid(), (int)arg.data_size,
	    arg.data_ptr);
	char expect[128];
	snprintf(expect, sizeof (expect), "process %d said \"%s\"", getpid(),
	    word);
	return (arg.data_size == strlen(expect) &&
	    memcmp(arg.data_ptr, expect, arg.data_size) == 0 ? 0 : 2);
}

int
main(int argc, char *argv[])
{
	int did;
	struct stat buf;

	if (argc > 2 && strcmp(argv[1], "client") == 0)
		return (client(argv[2]));
	if ((did = door_create(server, 0, 0)) < 0) {
		perror("door_create");
		exit(1);
	}
	/* make sure file system location exists */
	if (stat(DOOR_PATH, &buf) < 0) {
		int newfd;
		if ((newfd = creat(DOOR_PATH, 0444)) < 0) {
			perror("creat");
			exit(1);
		}
		(void) close(newfd);
	}
	/* make sure nothing else is attached */
	(void) fdetach(DOOR_PATH);
	/* attach to file system */
	if (fattach(did, DOOR_PATH) < 0) {
		perror("fattach");
		exit(2);
	}
	char *args[] = { "c_door_create", "client", "hello", NULL };
	int console[] = { 0, 1, 2 };
	pid_t pid = spawn_np("c_door_create", args, console, 3);
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		perror("spawn_np");
		exit(3);
	}
	if (fdetach(DOOR_PATH) < 0 || unlink(DOOR_PATH) < 0) {
		perror("fdetach");
		exit(4);
	}
	printf("server: the client exited with status %d\n",
	    WEXITSTATUS(status));
	return (WEXITSTATUS(status));
}
