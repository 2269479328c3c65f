// SPDX-License-Identifier: MIT
#include "flow_hash.h"

#include <sodium.h>
#include <string.h>
#include <sys/random.h>

_Static_assert(sizeof(struct flow_hash_key) == crypto_shorthash_KEYBYTES, "SipHash's key");
_Static_assert(crypto_shorthash_BYTES == sizeof(uint64_t), "SipHash's output");

int flow_hash_key_random(struct flow_hash_key *key)
{
	return getrandom(key->bytes, sizeof(key->bytes), 0) == sizeof(key->bytes) ? 0 : -1;
}

uint64_t flow_hash(const struct flow_hash_key *key, const struct flow_key *k)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)k, sizeof(*k), key->bytes);
	memcpy(&h, out, sizeof(h));
	return h;
}
