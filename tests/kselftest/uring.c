// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal io_uring client for the tests that pin pages with fixed
 * buffers (IORING_REGISTER_BUFFERS: long-term FOLL_PIN of user memory):
 * dup_pin and concurrency.  No liburing in the guest.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "uring.h"

int ring_init(struct ring *r, unsigned int entries)
{
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, entries, &r->p);
	if (r->fd < 0)
		return -errno;
	r->sq_sz = r->p.sq_off.array + r->p.sq_entries * sizeof(__u32);
	r->cq_sz = r->p.cq_off.cqes +
		   r->p.cq_entries * sizeof(struct io_uring_cqe);
	if (r->p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_sz > r->sq_sz)
			r->sq_sz = r->cq_sz;
		r->cq_sz = r->sq_sz;
	}
	r->sq = mmap(NULL, r->sq_sz, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->sq == MAP_FAILED)
		return -errno;
	if (r->p.features & IORING_FEAT_SINGLE_MMAP) {
		r->cq = r->sq;
	} else {
		r->cq = mmap(NULL, r->cq_sz, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_POPULATE, r->fd,
			     IORING_OFF_CQ_RING);
		if (r->cq == MAP_FAILED)
			return -errno;
	}
	r->sqes_sz = r->p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_sz, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	return 0;
}

#define RING_U32(base, off) ((_Atomic __u32 *)((char *)(base) + (off)))

int ring_run(struct ring *r, const struct io_uring_sqe *sqe)
{
	_Atomic __u32 *tail = RING_U32(r->sq, r->p.sq_off.tail);
	__u32 mask = *RING_U32(r->sq, r->p.sq_off.ring_mask);
	__u32 *array = (__u32 *)((char *)r->sq + r->p.sq_off.array);
	_Atomic __u32 *chead = RING_U32(r->cq, r->p.cq_off.head);
	_Atomic __u32 *ctail = RING_U32(r->cq, r->p.cq_off.tail);
	__u32 cmask = *RING_U32(r->cq, r->p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (void *)((char *)r->cq + r->p.cq_off.cqes);
	__u32 t = atomic_load_explicit(tail, memory_order_relaxed), h;
	int res, n;

	r->sqes[t & mask] = *sqe;
	array[t & mask] = t & mask;
	atomic_store_explicit(tail, t + 1, memory_order_release);
	n = syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0);
	if (n < 0)
		return -errno;
	h = atomic_load_explicit(chead, memory_order_relaxed);
	while (h == atomic_load_explicit(ctail, memory_order_acquire))
		;
	res = cqes[h & cmask].res;
	atomic_store_explicit(chead, h + 1, memory_order_release);
	return res;
}

void ring_exit(struct ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_sz);
	if (r->cq && r->cq != MAP_FAILED && r->cq != r->sq)
		munmap(r->cq, r->cq_sz);
	if (r->sq && r->sq != MAP_FAILED)
		munmap(r->sq, r->sq_sz);
	if (r->fd >= 0)
		close(r->fd);
}
