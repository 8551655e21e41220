/*
 * The C door benchmark, for `cargo run -- bench` (QEMU with -icount
 * shift=0: the time-stamp counter counts instructions): the same round
 * trips as the Rust bench program's door_null_same_process,
 * door_null_cross_process and door_1KiB_cross_process, through libdoor and
 * musl, so that libdoor's cost shows beside the Rust library's; and the
 * longest Linux memory calls, one anonymous mmap of 64 MiB (demand-zero: its
 * cost does not grow with the size) and its munmap (which walks the page
 * range). Prints `BENCH name value unit` lines.
 */
#include <door.h>
#include <spawn_np.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define ROUNDS 10000
#define COPY_ROUNDS 1000

static void
null_server(void *cookie, char *argp, size_t size, door_desc_t *dp, uint_t n)
{
	(void) cookie, (void) argp, (void) size, (void) dp, (void) n;
	door_return(NULL, 0, NULL, 0);
}

static unsigned long long
null_calls(int d, int rounds)
{
	for (int i = 0; i < 100; i++)
		door_call(d, NULL);
	unsigned long long t0 = __builtin_ia32_rdtsc();
	for (int i = 0; i < rounds; i++) {
		if (door_call(d, NULL) != 0) {
			perror("c_bench: door_call");
			exit(1);
		}
	}
	return ((__builtin_ia32_rdtsc() - t0) / rounds);
}

static unsigned long long
data_calls(int d, size_t size, int rounds)
{
	char *data = malloc(size);
	door_arg_t a;

	memset(data, 7, size);
	for (int i = -10; i < rounds; i++) {
		static unsigned long long t0;
		if (i == 0)
			t0 = __builtin_ia32_rdtsc();
		a = (door_arg_t){ .data_ptr = data, .data_size = size };
		if (door_call(d, &a) != 0) {
			perror("c_bench: door_call with data");
			exit(1);
		}
		if (i == rounds - 1)
			return ((__builtin_ia32_rdtsc() - t0) / rounds);
	}
	return (0);
}

/* One anonymous mmap of 64 MiB, untouched, and its munmap. */
static void
linux_mmap(void)
{
	size_t len = 64 << 20;
	unsigned long long t0 = __builtin_ia32_rdtsc();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long long took = __builtin_ia32_rdtsc() - t0;
	if (p == MAP_FAILED) {
		perror("c_bench: mmap of 64 MiB");
		exit(1);
	}
	t0 = __builtin_ia32_rdtsc();
	munmap(p, len);
	unsigned long long unmap = __builtin_ia32_rdtsc() - t0;
	printf("BENCH syscall_linux_mmap_64MiB %llu instructions\n", took);
	printf("BENCH syscall_linux_munmap_64MiB %llu instructions\n", unmap);
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "client") == 0) {
		/* Descriptors 0 to 2: the console; 3: the door. */
		printf("BENCH c_door_null_cross_process %llu instructions\n",
		    null_calls(3, ROUNDS));
		printf("BENCH c_door_1KiB_cross_process %llu instructions\n",
		    data_calls(3, 1024, COPY_ROUNDS));
		return (0);
	}
	linux_mmap();
	int d = door_create(null_server, NULL, 0);
	if (d < 0) {
		perror("c_bench: door_create");
		return (1);
	}
	printf("BENCH c_door_null_same_process %llu instructions\n",
	    null_calls(d, ROUNDS));
	fflush(stdout);
	int fds[] = { 0, 1, 2, d };
	char *args[] = { "c_bench", "client", NULL };
	pid_t c = spawn_np("c_bench", args, fds, 4);
	int status;
	if (c < 0 || waitpid(c, &status, 0) != c || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "c_bench: the client failed\n");
		return (1);
	}
	return (0);
}
