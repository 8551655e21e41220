/*
 * <stropts.h>: the C library's, plus fattach(3C) and fdetach(3C) as
 * illumos declares them here. fattach names a door by a path: open(2) of
 * the path then yields the door.
 */
#ifndef _DOORS_STROPTS_H
#define _DOORS_STROPTS_H

#include_next <stropts.h>

#ifdef __cplusplus
extern "C" {
#endif

int fattach(int, const char *);
int fdetach(const char *);

#ifdef __cplusplus
}
#endif

#endif /* _DOORS_STROPTS_H */
