// SPDX-License-Identifier: MIT
#include <math.h>
#include <stddef.h>

#include "model.h"
#include "window_features.h"

int features_window(int n, const float *sizes, const double *times,
		    float *x, float *dtau, float *tau)
{
	for (int i = 0; i < n; i++) {
		double s = sizes[i], t = times[i];
		/* dt in double: float32 loses microseconds after ~16 s */
		double dt = i ? t - times[i - 1] : 0.0;

		if (!isfinite(s) || s < 0 || s > 65535 || !isfinite(t) || !(dt >= 0))
			return -1;
		if (x) {
			float *xi = x + (size_t)i * FEATURES_PER_PACKET;

			xi[FEAT_SIZE_NORM] = (float)(s / 1500.0);
			xi[FEAT_LOG_SIZE] = (float)(log1p(s) / log1p(1500.0));
			xi[FEAT_IAT] = (float)((log10(dt + 1e-6) + 6.0) / 6.0);
			xi[FEAT_SMALL] = s <= 100 ? 1.0f : 0.0f;
			xi[FEAT_FULL] = s >= 1400 ? 1.0f : 0.0f;
		}
		if (dtau)
			dtau[i] = (float)(log1p(dt / 0.01) / 4.0);
		if (tau)
			tau[i] = (float)(t - times[0]);
	}
	return 0;
}

int features_v2(int n, const float *sizes, const double *times, float *raw, int *gap_bin,
		float *dtau)
{
	for (int i = 0; i < n; i++) {
		double s = sizes[i], t = times[i];
		double dt = i ? t - times[i - 1] : 0.0;
		double lg;
		int bin;

		if (!isfinite(s) || s < 0 || s > 65535 || !isfinite(t) || !(dt >= 0))
			return -1;
		lg = log10(dt > 1e-6 ? dt : 1e-6);
		bin = (int)((lg + 6.0) * 4.0);
		raw[i * V2_RAW] = (float)(s / 1500.0);
		raw[i * V2_RAW + 1] = (float)(log(s > 1 ? s : 1) / 7.0);
		raw[i * V2_RAW + 2] = (float)(lg / 6.0);
		gap_bin[i] = bin < V2_GAP_BINS ? bin : V2_GAP_BINS - 1;
		dtau[i] = (float)(log1p(1000.0 * dt) / 2.0);
	}
	return 0;
}

/* Summaries of n values: mean and standard deviation (two passes). */
static void mean_std(int n, const double *v, double *mean, double *std)
{
	double sum = 0, sq = 0;

	for (int i = 0; i < n; i++)
		sum += v[i];
	*mean = sum / n;
	for (int i = 0; i < n; i++)
		sq += (v[i] - *mean) * (v[i] - *mean);
	*std = sqrt(sq / n);
}

int features_trees(int n, const float *sizes, const double *times, float *x)
{
	double size[ODEFLOW_MAX_WINDOW], gap[ODEFLOW_MAX_WINDOW], sorted[ODEFLOW_MAX_WINDOW];
	double mean, std, gap_mean, gap_std, duration, bytes = 0;
	float *sum = x + 2 * n - 1;
	int distinct = 1, changes = 0, small = 0, full = 0, zero = 0;

	if (n < 2 || n > ODEFLOW_MAX_WINDOW || features_window(n, sizes, times, NULL, NULL, NULL))
		return -1;
	duration = times[n - 1] - times[0];
	for (int i = 0; i < n; i++) {
		int j = i;

		size[i] = sizes[i];
		bytes += size[i];
		x[i] = sizes[i];
		small += size[i] <= 100;
		full += size[i] >= 1400;
		changes += i && size[i] != size[i - 1];
		for (; j > 0 && sorted[j - 1] > size[i]; j--)  /* insertion sort */
			sorted[j] = sorted[j - 1];
		sorted[j] = size[i];
	}
	for (int i = 1; i < n; i++) {
		gap[i - 1] = log10(times[i] - times[i - 1] + 1e-6);
		x[n + i - 1] = (float)gap[i - 1];
		zero += times[i] == times[i - 1];
		distinct += sorted[i] != sorted[i - 1];
	}
	mean_std(n, size, &mean, &std);
	mean_std(n - 1, gap, &gap_mean, &gap_std);
	sum[TREES_SIZE_MEAN] = (float)mean;
	sum[TREES_SIZE_STD] = (float)std;
	sum[TREES_SIZE_MIN] = (float)sorted[0];
	sum[TREES_SIZE_MAX] = (float)sorted[n - 1];
	sum[TREES_SIZE_MEDIAN] = (float)((sorted[(n - 1) / 2] + sorted[n / 2]) / 2);
	sum[TREES_SIZES_DISTINCT] = (float)distinct;
	sum[TREES_SIZE_CHANGES] = (float)changes;
	sum[TREES_SMALL] = (float)small;
	sum[TREES_FULL] = (float)full;
	sum[TREES_LOG_DURATION] = (float)log10(duration + 1e-6);
	sum[TREES_GAP_MEAN] = (float)gap_mean;
	sum[TREES_GAP_STD] = (float)gap_std;
	sum[TREES_ZERO_GAPS] = (float)zero;
	sum[TREES_LOG_RATE] = (float)log10((bytes + 1) / (duration + 1e-3));
	return 0;
}
