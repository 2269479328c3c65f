// SPDX-License-Identifier: MIT
#include "memory.h"

#include <stdio.h>
#include <sys/mman.h>

uint64_t memory_available(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb * 1024;
}

void *memory_table(size_t bytes, bool resident)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (!resident)
		return p;
	madvise(p, bytes, MADV_HUGEPAGE); /* a hint: nothing changes where THP is off */
	if (madvise(p, bytes, MADV_POPULATE_WRITE)) {
		munmap(p, bytes);
		return NULL;
	}
	return p;
}

void memory_release(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}
