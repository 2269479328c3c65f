/* SPDX-License-Identifier: MIT */
/* Confidence that means what it says: temperature scaling (Guo et al. 2017)
 * fitted on held-out predictions, and the expected calibration error that
 * says how far confidence and accuracy are apart. */
#ifndef ODEFLOW_CALIBRATE_H
#define ODEFLOW_CALIBRATE_H

#include <stddef.h>

#define CALIB_BINS 15       /* equal-width confidence bins of the ECE */

/* The temperature T (0.05..20) that minimises the mean negative
 * log-likelihood of softmax(logprobs / T) for the labels: n rows of C
 * log-probabilities (or logits). */
double calib_fit_temperature(const float *logprobs, const int *labels, size_t n, int C);
/* Rows rescaled to the log-probabilities of softmax(logprobs / T), in place. */
void calib_apply(float *logprobs, size_t n, int C, double T);
/* Cross-fitted calibration of cross-validated predictions: each fold's rows
 * (fold[i] in 0..k-1) rescaled by the temperature fitted on the other
 * folds' rows, written to out (n * C), so the calibrated figures are
 * measured on rows their temperature never saw. Returns -1 when out of
 * memory. */
int calib_crossfit(const float *logprobs, const int *labels, const int *fold, int k, size_t n,
		   int C, float *out);
/* Expected calibration error: over CALIB_BINS bins of top-class confidence,
 * the windows' share times |accuracy - mean confidence| in the bin. */
double calib_ece(const float *logprobs, const int *labels, size_t n, int C);
/* The mean negative log-likelihood of the labels. */
double calib_nll(const float *logprobs, const int *labels, size_t n, int C);

#endif
