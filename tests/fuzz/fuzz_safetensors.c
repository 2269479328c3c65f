// SPDX-License-Identifier: MIT
/* libFuzzer target: the model loader (safetensors container, JSON header,
 * metadata, tensors) on arbitrary bytes; a model that loads also classifies
 * a window, as the agent would right after loading it. */
#include <stddef.h>
#include <stdint.h>

#include "engine/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model *m = NULL;
	char err[256];

	if (model_load_buffer(data, size, &m, err, sizeof(err)) == 0) {
		const struct model_config *c = model_config(m);
		size_t nparams;
		/* big models are slow under ASan and add nothing to the loader's
		 * coverage: classify only small ones */
		struct model_ws *ws = model_params(m, &nparams) && nparams <= 20000 ?
				      model_ws_new(m, 1) : NULL;
		float sizes[ODEFLOW_MAX_WINDOW], lp[ODEFLOW_MAX_CLASSES];
		double times[ODEFLOW_MAX_WINDOW];

		for (int i = 0; i < c->window; i++) {
			sizes[i] = (float)(40 + 97 * i % 1460);
			times[i] = 0.01 * i * i;
		}
		if (ws)
			model_classify(m, ws, 1, sizes, times, lp);
		model_ws_free(ws);
		model_free(m);
	}
	return 0;
}
