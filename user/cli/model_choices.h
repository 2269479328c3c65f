/* SPDX-License-Identifier: MIT */
/* The engine's architectures and solvers as the choices of an option
 * (command.h): --arch and --solver list and take what the engine's tables
 * hold, so a new architecture needs no change here. */
#ifndef ODEFLOW_MODEL_CHOICES_H
#define ODEFLOW_MODEL_CHOICES_H

const char *model_arch_choice(int i, const char **about);
const char *model_solver_choice(int i, const char **about);

#endif
