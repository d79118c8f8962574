/*
 * gup-pin: pin pages of a device-dax mapping through the ordinary system calls
 * that take page references, so that kprobe hit counts show which GUP path the
 * kernel used (Debian kernels have no CONFIG_GUP_TEST, so no gup_test ioctls).
 *
 *   gup-pin MODE /dev/daxX.Y MAP_BYTES PIN_BYTES [SOURCE_BLOCKDEV]
 *
 * MODE:
 *   fault     only the first touch of every 4 KiB of PIN_BYTES, which every
 *             mode does before its pin (page faults; the baseline)
 *   odirect   pread(O_DIRECT) from SOURCE_BLOCKDEV into the mapping:
 *             iov_iter_extract_pages -> pin_user_pages_fast (FOLL_PIN)
 *   iouring   io_uring_register(IORING_REGISTER_BUFFERS) on the mapping:
 *             pin_user_pages_fast with FOLL_PIN|FOLL_LONGTERM
 *   vmsplice  vmsplice the mapping into a pipe: get_user_pages_fast (no pin)
 *   procvm    process_vm_readv of the mapping from this process:
 *             pin_user_pages_remote (the slow path, __get_user_pages)
 *
 * The mapping is MAP_SHARED of MAP_BYTES (a multiple of the device's align);
 * PIN_BYTES at its start are used. Built static on the host:
 *   gcc -static -O2 -o gup-pin gup-pin.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s fault|odirect|iouring|vmsplice|procvm /dev/daxX.Y MAP_BYTES PIN_BYTES [SOURCE_BLOCKDEV]\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1];
	size_t maplen = strtoull(argv[3], NULL, 0), len = strtoull(argv[4], NULL, 0);
	int fd = open(argv[2], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	char *p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "mmap %s %zu: %s\n", argv[2], maplen, strerror(errno));
		return 1;
	}
	/* Populate the page tables first (every mode), so that a pin sees them. */
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	double t0 = now();
	long rc = 0;
	if (!strcmp(mode, "fault")) {
		/* nothing more: the baseline of the other modes */
	} else if (!strcmp(mode, "odirect")) {
		if (argc < 6) {
			fprintf(stderr, "odirect needs a source block device\n");
			return 2;
		}
		int src = open(argv[5], O_RDONLY | O_DIRECT);
		if (src < 0) {
			fprintf(stderr, "open %s O_DIRECT: %s\n", argv[5], strerror(errno));
			return 1;
		}
		rc = pread(src, p, len, 0);
		if (rc < 0)
			fprintf(stderr, "pread: %s\n", strerror(errno));
		close(src);
	} else if (!strcmp(mode, "iouring")) {
		struct io_uring_params par;
		memset(&par, 0, sizeof(par));
		int ring = syscall(__NR_io_uring_setup, 4, &par);
		if (ring < 0) {
			fprintf(stderr, "io_uring_setup: %s\n", strerror(errno));
			return 1;
		}
		struct iovec iov = { p, len };
		rc = syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1);
		if (rc < 0)
			fprintf(stderr, "IORING_REGISTER_BUFFERS: %s\n", strerror(errno));
		else
			syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
		close(ring);
	} else if (!strcmp(mode, "vmsplice")) {
		int pfd[2];
		if (pipe(pfd) < 0)
			return 1;
		fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
		size_t chunk = len < (1 << 16) ? len : (1 << 16);
		struct iovec iov = { p, chunk };
		rc = vmsplice(pfd[1], &iov, 1, 0);
		if (rc < 0)
			fprintf(stderr, "vmsplice: %s\n", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
	} else if (!strcmp(mode, "procvm")) {
		char *buf = malloc(len);
		struct iovec local = { buf, len }, remote = { p, len };
		rc = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (rc < 0)
			fprintf(stderr, "process_vm_readv: %s\n", strerror(errno));
		free(buf);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	printf("mode=%s dev=%s map=%zu len=%zu rc=%ld seconds=%.6f\n", mode, argv[2], maplen, len, rc, now() - t0);
	munmap(p, maplen);
	close(fd);
	return rc < 0;
}
