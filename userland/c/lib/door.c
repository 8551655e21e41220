/*
 * libdoor: the door calls of <door.h> over this kernel's native calls, and
 * the server side. As in illumos, a server thread calls door_return(), which
 * parks it in the kernel with its stack registered; an invocation resumes
 * it on that stack with the invocation in registers (abi::invocation), at
 * door_invocation, which runs the door_server_create procedure first when
 * the pool ran dry, then the door's server procedure. A procedure that
 * returns instead of calling door_return ends its thread.
 */
#include <door.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "native.h"

/* A failed call: errno from its -errno, and -1 (out of line, so the
 * callers' common path saves no registers for it). */
__attribute__((noinline, cold)) static long
libdoor_fail(long raw)
{
	errno = (int)-raw;
	return (-1);
}

long
libdoor_result(long raw)
{
	if (raw < 0 && raw > -4096)
		return (libdoor_fail(raw));
	return (raw);
}

/* The process's door_server_create procedure (NULL: the default). */
static _Atomic(door_server_func_t *) create_proc;

/* Server threads the default procedure started that have not reached
 * their pool yet (each counts itself out at its first invocation, which
 * starts in libdoor_first_invocation, or when it cannot park). */
static atomic_int starting;

/* The calling thread's door stack area, found at its first door_return. */
static __thread uintptr_t area_base;
static __thread size_t area_size;

static int return_in_area(char *, size_t, door_desc_t *, uint_t, int);
static void find_area(void);

static void *
server_thread(void *arg)
{
	(void) arg;
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	find_area();
	(void) return_in_area(NULL, 0, NULL, 0, 1);
	/* It could not park. */
	atomic_fetch_sub(&starting, 1);
	return (NULL);
}

/*
 * The default door_server_create procedure: one more detached thread for
 * the shared pool, parked in door_return, unless one it made is still on
 * its way there (it will take the waiting work: without this a caller and
 * a server handing the CPU to each other would make a thread at every
 * depletion). As in illumos it binds no thread to a private door: programs
 * with DOOR_PRIVATE doors install a procedure whose threads door_bind.
 */
static void
default_create_proc(door_info_t *info)
{
	pthread_attr_t attr;
	pthread_t thread;

	(void) info;
	if (atomic_load(&starting) > 0)
		return;
	if (atomic_fetch_add(&starting, 1) > 0) {
		atomic_fetch_sub(&starting, 1);
		return;
	}
	(void) pthread_attr_init(&attr);
	(void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, server_thread, NULL) != 0)
		atomic_fetch_sub(&starting, 1);
	(void) pthread_attr_destroy(&attr);
}

/* Whether the procedure is the default one and would return at once: a
 * server thread it started is still on its way to the pool. */
static inline __attribute__((always_inline)) int
default_would_wait(void)
{
	return (atomic_load_explicit(&create_proc, memory_order_relaxed) ==
	    NULL && atomic_load_explicit(&starting, memory_order_relaxed) > 0);
}

static void
run_create_proc(door_info_t *info)
{
	door_server_func_t *f = atomic_load(&create_proc);

	if (f == NULL)
		default_create_proc(info);
	else
		f(info);
}

door_server_func_t *
door_server_create(door_server_func_t *f)
{
	door_server_func_t *old = atomic_exchange(&create_proc, f);

	return (old == NULL ? default_create_proc : old);
}

int
door_create(void (*proc)(void *, char *, size_t, door_desc_t *, uint_t),
    void *cookie, uint_t attributes)
{
	long ret = native3(SYS_door_create, proc, cookie, attributes);
	int fd;

	if (libdoor_result(ret) < 0)
		return (-1);
	fd = (int)(ret & 0xffffffff);
	if (ret & DOOR_CREATE_RUN_SERVER_CREATE) {
		if (attributes & DOOR_PRIVATE) {
			door_info_t info;

			if (door_info(fd, &info) == 0)
				run_create_proc(&info);
		} else {
			run_create_proc(NULL);
		}
	}
	return (fd);
}

int
door_call(int d, door_arg_t *params)
{
	return ((int)libdoor_result(native_call_of_two(SYS_door_call, d,
	    (long)params)));
}

/* libdoor_invocation with work before the procedure: the create
 * procedure runs (unless the default one would do nothing). */
__attribute__((noreturn, noinline, cold)) static void
start_invocation(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc, door_server_procedure_t *proc, long status)
{
	if (status == INVOCATION_DEPLETED_SHARED) {
		if (!default_would_wait())
			run_create_proc(NULL);
	} else if (status != INVOCATION_RUN)
		run_create_proc((door_info_t *)status);
	proc(cookie, argp, arg_size, dp, n_desc);
	/* The procedure returned instead of calling door_return. */
	pthread_exit(NULL);
}

/*
 * Where an invocation starts: on the server thread's stack area, with the
 * cookie, argument pointer and size, descriptors and their count, the
 * server procedure and (seventh, on the stack) the status in registers.
 * The common start (nothing to do before the procedure: what the default
 * procedure would find on a depletion is checked here) calls nothing
 * first, so it keeps nothing across a call.
 */
__attribute__((noreturn, used, visibility("hidden"))) void
libdoor_invocation(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc, door_server_procedure_t *proc, long status)
{
	int nothing_first = status == INVOCATION_RUN ||
	    (status == INVOCATION_DEPLETED_SHARED && default_would_wait());

	if (!nothing_first)
		start_invocation(cookie, argp, arg_size, dp, n_desc, proc,
		    status);
	proc(cookie, argp, arg_size, dp, n_desc);
	/* The procedure returned instead of calling door_return. */
	pthread_exit(NULL);
}

/* libdoor_invocation for the first invocation of a thread the default
 * procedure started: it has reached its pool (its first return chose this
 * entry, so later invocations check nothing for it). */
__attribute__((noreturn, used, visibility("hidden"))) void
libdoor_first_invocation(void *cookie, char *argp, size_t arg_size,
    door_desc_t *dp, uint_t n_desc, door_server_procedure_t *proc,
    long status)
{
	atomic_fetch_sub(&starting, 1);
	start_invocation(cookie, argp, arg_size, dp, n_desc, proc, status);
}

/* The calling thread's door stack area: the main thread's stack below its
 * arguments, or the pthread's whole stack. */
static void
find_area(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (sp < MAIN_STACK_TOP && sp >= MAIN_STACK_TOP - MAIN_STACK_SIZE) {
		area_base = MAIN_STACK_TOP - MAIN_STACK_SIZE;
		area_size = MAIN_STACK_SIZE - MAIN_STACK_ARGS_RESERVE;
		return;
	}
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		area_base = (uintptr_t)addr;
		area_size = size;
	}
	(void) pthread_attr_destroy(&attr);
}

/* door_return once the calling thread's area is known; the next
 * invocation starts in libdoor_first_invocation when `first` (a constant:
 * the first return of a thread the default procedure started), in
 * libdoor_invocation otherwise. As illumos's __door_return, a return that
 * fails with EINTR (a signal's handler ran in the thread, which had left
 * its pool for it; any results were delivered before it parked) is
 * issued again as door_return(NULL, 0, NULL, 0) in the same area: the
 * thread parks again, and the program never sees that EINTR. */
#define RETURN_STUB(entry)						\
	"0:\n\t"							\
	"syscall\n\t"							\
	"test %%rax, %%rax\n\t"						\
	"jle 2f\n\t"							\
	"mov %%r10, %%rcx\n\t"						\
	"sub $8, %%rsp\n\t"						\
	"push %%rax\n\t"							\
	"call " entry "\n\t"						\
	"ud2\n"								\
	"2:\n\t"							\
	"cmp %[eintr], %%rax\n\t"					\
	"jne 1f\n\t"							\
	"xor %%edi, %%edi\n\t"						\
	"xor %%esi, %%esi\n\t"						\
	"xor %%edx, %%edx\n\t"						\
	"xor %%r10d, %%r10d\n\t"						\
	"mov %[nr], %%eax\n\t"						\
	"jmp 0b\n"							\
	"1:"

static inline __attribute__((always_inline)) int
return_in_area(char *data, size_t size, door_desc_t *desc, uint_t n_desc,
    int first)
{
	register long r10 __asm__("r10") = n_desc;
	register long r8 __asm__("r8") = (long)area_base;
	register long r9 __asm__("r9") = (long)area_size;
	long ret;

	/*
	 * On success the kernel resumes this thread on a fresh stack pointer
	 * inside its area with the invocation in registers: the old frames
	 * are abandoned and libdoor_invocation (the status as its seventh,
	 * stacked, argument) never returns. On failure only rax changed
	 * (a handler that ran meanwhile gave every register back); the
	 * restart after EINTR clears the arguments in place.
	 */
	if (first)
		__asm__ volatile (RETURN_STUB("libdoor_first_invocation")
		    : "=a"(ret), "+D"(data), "+S"(size), "+d"(desc), "+r"(r10)
		    : "a"((long)SYS_door_return), "r"(r8), "r"(r9),
		      [eintr] "i"(-EINTR), [nr] "i"(SYS_door_return)
		    : "rcx", "r11", "memory");
	else
		__asm__ volatile (RETURN_STUB("libdoor_invocation")
		    : "=a"(ret), "+D"(data), "+S"(size), "+d"(desc), "+r"(r10)
		    : "a"((long)SYS_door_return), "r"(r8), "r"(r9),
		      [eintr] "i"(-EINTR), [nr] "i"(SYS_door_return)
		    : "rcx", "r11", "memory");
	return ((int)libdoor_result(ret));
}

/* A thread's first door_return: its area is found first (out of line, so
 * the common door_return calls nothing and saves no registers). */
__attribute__((noinline, cold)) static int
first_return(char *data, size_t size, door_desc_t *desc, uint_t n_desc)
{
	find_area();
	return (return_in_area(data, size, desc, n_desc, 0));
}

int
door_return(char *data, size_t size, door_desc_t *desc, uint_t n_desc)
{
	if (area_size == 0)
		return (first_return(data, size, desc, n_desc));
	return (return_in_area(data, size, desc, n_desc, 0));
}

int
door_info(int d, door_info_t *info)
{
	return ((int)libdoor_result(native2(SYS_door_info, d, info)));
}

int
door_revoke(int d)
{
	return ((int)libdoor_result(native1(SYS_door_revoke, d)));
}

int
door_setparam(int d, int param, size_t value)
{
	return ((int)libdoor_result(native3(SYS_door_setparam, d, param,
	    value)));
}

int
door_getparam(int d, int param, size_t *out)
{
	return ((int)libdoor_result(native3(SYS_door_getparam, d, param,
	    out)));
}

int
door_cred(door_cred_t *info)
{
	return ((int)libdoor_result(native1(SYS_door_cred, info)));
}

int
door_bind(int d)
{
	return ((int)libdoor_result(native1(SYS_door_bind, d)));
}

int
door_unbind(void)
{
	return ((int)libdoor_result(native0(SYS_door_unbind)));
}

int
door_cancelled(void)
{
	return ((int)libdoor_result(native0(SYS_door_cancelled)));
}

int
door_abort(pid_t tid)
{
	return ((int)libdoor_result(native1(SYS_door_abort, tid)));
}
