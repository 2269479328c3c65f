/* SPDX-License-Identifier: MIT */
/* A small deterministic random number generator (splitmix64) for shuffles
 * and splits: the same seed gives the same sequence on every machine. */
#ifndef ODEFLOW_RNG_H
#define ODEFLOW_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) for n > 0 (the modulo bias is below 2^-40 for any n we shuffle). */
static inline size_t rng_below(struct rng *r, size_t n)
{
	return (size_t)(rng_next(r) % n);
}

/* Fisher-Yates shuffle of an index array. */
static inline void rng_shuffle(struct rng *r, size_t *idx, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(r, i), t = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

#endif
