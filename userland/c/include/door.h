/*
 * <door.h>: the doors interface as illumos declares it (door_create(3C),
 * door_call(3C), door_return(3C), door_info(3C), door_server_create(3C),
 * door_bind(3C), ...), with illumos's types, layouts and constant values,
 * implemented by libdoor over this kernel's native door calls.
 *
 * Every function returns -1 and sets errno (the C library's names: EBADF,
 * EOVERFLOW, ...) on failure, as on illumos. Server threads are the C
 * library's threads (the default door_server_create procedure makes
 * detached pthreads), so printf, malloc and errno work in server
 * procedures.
 */
#ifndef _DOOR_H
#define _DOOR_H

#include <stddef.h>
#include <sys/types.h>
#include <ucred.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef _UINT_T_DECLARED
#define _UINT_T_DECLARED
typedef unsigned int uint_t;
#endif

typedef unsigned long long door_ptr_t;	/* a pointer, 64 bits wide */
typedef unsigned long long door_id_t;	/* a door's unique id */
typedef unsigned int door_attr_t;	/* door attributes */

#define	DOOR_INVAL		-1
#define	DOOR_UNREF_DATA		((void *)1)
#define	DOOR_QUERY		-2

/* Attributes of door_create and door_info. */
#define	DOOR_UNREF		0x01
#define	DOOR_PRIVATE		0x02
#define	DOOR_LOCAL		0x04	/* door_info only */
#define	DOOR_REVOKED		0x08	/* door_info only */
#define	DOOR_UNREF_MULTI	0x10
#define	DOOR_IS_UNREF		0x20	/* door_info only */
#define	DOOR_REFUSE_DESC	0x40
#define	DOOR_NO_CANCEL		0x80
#define	DOOR_CREATE_MASK	(DOOR_UNREF | DOOR_PRIVATE | DOOR_UNREF_MULTI | \
				DOOR_REFUSE_DESC | DOOR_NO_CANCEL)

/* Attributes of door_desc_t entries. */
#define	DOOR_DESCRIPTOR		0x10000	/* the entry carries a descriptor */
#define	DOOR_RELEASE		0x40000	/* close the sender's copy once passed */

/* door_setparam and door_getparam. */
#define	DOOR_PARAM_DESC_MAX	1	/* most descriptors per call */
#define	DOOR_PARAM_DATA_MAX	2	/* most argument bytes per call */
#define	DOOR_PARAM_DATA_MIN	3	/* fewest argument bytes per call */

#pragma pack(4)
typedef struct door_desc {
	door_attr_t	d_attributes;	/* DOOR_DESCRIPTOR [| DOOR_RELEASE] */
	union {
		struct {
			int		d_descriptor;
			door_id_t	d_id;	/* the door's unique id */
		} d_desc;
		int		d_resv[5];
	} d_data;
} door_desc_t;

typedef struct door_info {
	pid_t		di_target;	/* server process, -1 once it exited */
	door_ptr_t	di_proc;	/* server procedure */
	door_ptr_t	di_data;	/* cookie */
	door_attr_t	di_attributes;
	door_id_t	di_uniquifier;	/* unique among all doors, never reused */
	int		di_resv[4];
} door_info_t;
#pragma pack()

typedef struct door_arg {
	char		*data_ptr;	/* argument (on return, result) data */
	size_t		data_size;
	door_desc_t	*desc_ptr;	/* argument (on return, result) descriptors */
	uint_t		desc_num;
	char		*rbuf;		/* result buffer */
	size_t		rsize;
} door_arg_t;

typedef struct door_cred {
	uid_t		dc_euid;
	gid_t		dc_egid;
	uid_t		dc_ruid;
	gid_t		dc_rgid;
	pid_t		dc_pid;
	int		dc_resv[4];
} door_cred_t;

typedef void door_server_procedure_t(void *, char *, size_t, door_desc_t *,
    uint_t);
typedef void door_server_func_t(door_info_t *);

int door_create(void (*)(void *, char *, size_t, door_desc_t *, uint_t),
    void *, uint_t);
int door_revoke(int);
int door_info(int, door_info_t *);
int door_call(int, door_arg_t *);
int door_return(char *, size_t, door_desc_t *, uint_t);
int door_cred(door_cred_t *);
int door_ucred(ucred_t **);
int door_bind(int);
int door_unbind(void);
int door_getparam(int, int, size_t *);
int door_setparam(int, int, size_t);
door_server_func_t *door_server_create(door_server_func_t *);

/*
 * This kernel's additions (not in illumos). It has no signals, so a client
 * that abandons a call cannot cancel the server thread: the server asks
 * door_cancelled() instead (1 if the client of the invocation it serves
 * went away and the door lacks DOOR_NO_CANCEL; its results are then
 * discarded). door_abort(tid) abandons the door_call that thread `tid` of
 * the calling process is blocked in (the C library's gettid()).
 */
int door_cancelled(void);
int door_abort(pid_t);

#ifdef __cplusplus
}
#endif

#endif /* _DOOR_H */
