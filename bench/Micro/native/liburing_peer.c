// The liburing side of the ring micro benchmarks: the same NOP round trips as RingBenchmarks.cs, through liburing
// (the C library most io_uring programs use), so the ratio shows what Fuselage's own binding costs over it.
#include <liburing.h>
#include <stdlib.h>

struct peer {
    struct io_uring ring;
    unsigned long long user_data;
};

/// A ring of `entries` with no setup flags (as Fuselage's Ring(entries) benchmarks it). NULL on failure.
struct peer *peer_create(unsigned entries)
{
    struct peer *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    if (io_uring_queue_init(entries, &p->ring, 0) < 0) { free(p); return NULL; }
    return p;
}

/// One NOP: prepare, submit and wait in one io_uring_enter, reap. Returns the NOP's result (0).
int peer_nop_round_trip(struct peer *p)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = ++p->user_data;
    if (io_uring_submit_and_wait(&p->ring, 1) < 0) return -1;
    struct io_uring_cqe *cqe;
    if (io_uring_peek_cqe(&p->ring, &cqe) != 0) return -1;
    int res = cqe->res;
    io_uring_cqe_seen(&p->ring, cqe);
    return res;
}

/// `count` NOPs submitted and waited for with one io_uring_enter, then reaped. Returns the sum of their results.
int peer_nop_batch(struct peer *p, int count)
{
    for (int i = 0; i < count; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
        io_uring_prep_nop(sqe);
        sqe->user_data = ++p->user_data;
    }
    if (io_uring_submit_and_wait(&p->ring, (unsigned)count) < 0) return -1;
    int sum = 0;
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&p->ring, &cqe) == 0) {
        sum += cqe->res;
        io_uring_cqe_seen(&p->ring, cqe);
    }
    return sum;
}

void peer_destroy(struct peer *p)
{
    if (p == NULL) return;
    io_uring_queue_exit(&p->ring);
    free(p);
}
