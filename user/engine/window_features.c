// SPDX-License-Identifier: MIT
#include <math.h>
#include <stddef.h>

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
