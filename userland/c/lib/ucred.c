/* ucred_t (<ucred.h>) and door_ucred(3C): the caller's credentials, as the
 * kernel fills them (abi::Ucred). */
#include <door.h>
#include <errno.h>
#include <stdlib.h>
#include <ucred.h>

#include "native.h"

int
door_ucred(ucred_t **info)
{
	ucred_t *cred = *info;
	long ret;

	if (cred == NULL && (cred = malloc(sizeof (*cred))) == NULL) {
		errno = EAGAIN;
		return (-1);
	}
	ret = native1(SYS_door_ucred, cred);
	if (libdoor_result(ret) < 0) {
		if (*info == NULL)
			free(cred);
		return (-1);
	}
	*info = cred;
	return (0);
}

void
ucred_free(ucred_t *cred)
{
	free(cred);
}

uid_t
ucred_geteuid(const ucred_t *cred)
{
	return (cred->uc_euid);
}

uid_t
ucred_getruid(const ucred_t *cred)
{
	return (cred->uc_ruid);
}

gid_t
ucred_getegid(const ucred_t *cred)
{
	return (cred->uc_egid);
}

gid_t
ucred_getrgid(const ucred_t *cred)
{
	return (cred->uc_rgid);
}

pid_t
ucred_getpid(const ucred_t *cred)
{
	return (cred->uc_pid);
}

size_t
ucred_size(void)
{
	return (sizeof (ucred_t));
}
