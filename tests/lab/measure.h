/*
 * measure.h — what the benchmarks and soak tests measure of their own
 * process, defined once: monotonic seconds and resident memory from /proc.
 * Header only (static inline): include it from bench/ or tests/.
 */
#ifndef SLUICE_LAB_MEASURE_H
#define SLUICE_LAB_MEASURE_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident memory of this process now, in KiB (/proc/self/statm); 0 when
 * it cannot be read. */
static inline long rss_kib(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
