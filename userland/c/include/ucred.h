/*
 * <ucred.h>: user credentials as illumos declares them, for door_ucred(3C).
 * A ucred_t is opaque: get one from door_ucred() (which allocates it when
 * *info is NULL), read it with the ucred_get* functions, free it with
 * ucred_free().
 */
#ifndef _UCRED_H
#define _UCRED_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ucred_s ucred_t;

void ucred_free(ucred_t *);
uid_t ucred_geteuid(const ucred_t *);
uid_t ucred_getruid(const ucred_t *);
gid_t ucred_getegid(const ucred_t *);
gid_t ucred_getrgid(const ucred_t *);
pid_t ucred_getpid(const ucred_t *);
size_t ucred_size(void);

#ifdef __cplusplus
}
#endif

#endif /* _UCRED_H */
