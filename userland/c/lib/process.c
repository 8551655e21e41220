/* fattach(3C) and fdetach(3C) (<stropts.h>), and spawn_np (<spawn_np.h>),
 * over the native calls. */
#include <errno.h>
#include <spawn_np.h>
#include <stdlib.h>
#include <string.h>
#include <stropts.h>

#include "native.h"

int
fattach(int d, const char *path)
{
	return ((int)libdoor_result(native3(SYS_fattach, d, path,
	    strlen(path))));
}

int
fdetach(const char *path)
{
	return ((int)libdoor_result(native2(SYS_fdetach, path,
	    strlen(path))));
}

pid_t
spawn_np(const char *name, char *const argv[], const int *fds,
    unsigned int nfds)
{
	struct native_spawn_args args;
	size_t len = 0;
	char *blob, *at;
	long ret;

	for (int i = 1; argv != NULL && argv[0] != NULL && argv[i] != NULL; i++)
		len += strlen(argv[i]) + 1;
	if ((blob = malloc(len + 1)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	at = blob;
	for (int i = 1; argv != NULL && argv[0] != NULL && argv[i] != NULL; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(at, argv[i], n);
		at += n;
	}
	args.name_ptr = (uintptr_t)name;
	args.name_len = strlen(name);
	args.args_ptr = (uintptr_t)blob;
	args.args_len = len;
	args.descs_ptr = (uintptr_t)fds;
	args.descs_len = nfds;
	ret = native1(SYS_native_spawn, &args);
	free(blob);
	return ((pid_t)libdoor_result(ret));
}
