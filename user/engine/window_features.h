/* SPDX-License-Identifier: MIT */
/* (Not features.h: that name would shadow glibc's <features.h> under -Iuser.)
 * The feature transform "odeflow-v1": raw packet sizes and arrival times of
 * one window in, the model's inputs out. Every model file names the
 * transform it was trained with, so the agent, the trainer and the offline
 * tools cannot disagree about features. */
#ifndef ODEFLOW_WINDOW_FEATURES_H
#define ODEFLOW_WINDOW_FEATURES_H

#define FEATURES_TRANSFORM "odeflow-v1"
#define FEATURES_PER_PACKET 5  /* size_norm, log_size, iat, small, full */

enum { FEAT_SIZE_NORM, FEAT_LOG_SIZE, FEAT_IAT, FEAT_SMALL, FEAT_FULL };

/* One window of n packets. sizes in bytes, times in seconds (any origin).
 * x: n * FEATURES_PER_PACKET features, packet-major.
 * dtau: n ODE-RNN time steps, dtau[0] = 0, dtau[i] = ln(1 + dt_i / 0.01) / 4.
 * tau: n times in seconds after the first packet (lstm-ode's ODE time).
 * Any output may be NULL. Returns 0, or -1 if a size is negative, above
 * 65535 or not finite, or a time is not finite or earlier than the one before. */
int features_window(int n, const float *sizes, const double *times,
		    float *x, float *dtau, float *tau);

/* The feature transform "odeflow-v2" (odernn-emb), for discretised inputs.
 * Per packet i, with gap g_i = t_i - t_{i-1} (g_0 = 0), clamped below at
 * 1 us where a logarithm needs it:
 * raw: V2_RAW scalars size / 1500, ln(max(size, 1)) / 7, log10(g) / 6;
 * gap_bin: log10(g) in quarter decades from 1 us (bin 0) to 100 s and
 * beyond (bin V2_GAP_BINS - 1);
 * dtau: the ODE's time step, dtau[0] = 0, dtau[i] = ln(1 + 1000 g_i) / 2.
 * The size's bucket comes from edges the model learnt from its data.
 * Returns -1 on invalid input, as features_window. */
#define FEATURES_V2_TRANSFORM "odeflow-v2"
#define V2_RAW 3
#define V2_GAP_BINS 32
int features_v2(int n, const float *sizes, const double *times, float *raw, int *gap_bin,
		float *dtau);

/* The feature transform "odeflow-trees-v1" (arch_trees.c; the trainer
 * computes it with this same function, so XGBoost and the engine see the
 * same floats): the n sizes in bytes, the n-1 log10(gap + 1e-6 s), then the
 * window's summaries in enum trees_summary's order. */
#define FEATURES_TREES_TRANSFORM "odeflow-trees-v1"
enum trees_summary {
	TREES_SIZE_MEAN, TREES_SIZE_STD, TREES_SIZE_MIN, TREES_SIZE_MAX, TREES_SIZE_MEDIAN,
	TREES_SIZES_DISTINCT,   /* how many different sizes */
	TREES_SIZE_CHANGES,     /* packets whose size differs from the one before */
	TREES_SMALL, TREES_FULL,/* packets of <= 100 and >= 1400 bytes */
	TREES_LOG_DURATION,     /* log10(last time - first time + 1e-6 s) */
	TREES_GAP_MEAN, TREES_GAP_STD,  /* of the n-1 log10 gaps */
	TREES_ZERO_GAPS,        /* packets with the time of the one before */
	TREES_LOG_RATE,         /* log10((bytes + 1) / (duration + 1 ms)) */
	TREES_SUMMARIES
};
#define FEATURES_TREES(n) (2 * (n) - 1 + TREES_SUMMARIES)
/* x: FEATURES_TREES(n) floats. Returns -1 on the inputs features_window refuses. */
int features_trees(int n, const float *sizes, const double *times, float *x);

#endif
