/* SPDX-License-Identifier: GPL-2.0 */
#ifndef COWDUP_TEST_URING_H
#define COWDUP_TEST_URING_H

#include <stddef.h>
#include <linux/io_uring.h>

struct ring {
	int fd;
	struct io_uring_params p;
	void *sq, *cq;
	size_t sq_sz, cq_sz, sqes_sz;
	struct io_uring_sqe *sqes;
};

/* Set up a ring of @entries and map it; 0 or -errno (ring_exit() either way) */
int ring_init(struct ring *r, unsigned int entries);
/* Submit one SQE and wait for its completion: cqe->res, or -errno */
int ring_run(struct ring *r, const struct io_uring_sqe *sqe);
/* Unmap and close what ring_init() made */
void ring_exit(struct ring *r);

#endif
