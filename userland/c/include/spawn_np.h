/*
 * <spawn_np.h>: starting another program, this kernel's way (it has no
 * fork yet). spawn_np starts program `name` of the boot file system with
 * the arguments argv[1], argv[2], ... (NULL-terminated; argument 0 is the
 * name), handing it the caller's descriptors fds[0..nfds) as its
 * descriptors 0, 1, ... (it gets nothing else). Returns the child's pid,
 * or -1 with errno (ENOENT: no such program, ENOEXEC, EBADF, E2BIG,
 * EAGAIN). Wait for it with waitpid().
 */
#ifndef _SPAWN_NP_H
#define _SPAWN_NP_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

pid_t spawn_np(const char *name, char *const argv[], const int *fds,
    unsigned int nfds);

#ifdef __cplusplus
}
#endif

#endif /* _SPAWN_NP_H */
