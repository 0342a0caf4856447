/* Model files (.nnm text): the parser on any bytes; a model that parses is
 * built and, when it is small, compiled at batch 1 and run forward and
 * backward once. Every message must start with the file name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nnlab/core.h"
#include "nnlab/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    static nl_nnm f;
    if (!init) {
        nl_set_threads(1);
        init = 1;
    }
    nl_error err = {0};
    if (nl_nnm_parse("fuzz.nnm", (const char *)data, size, &f, &err) != NL_OK) {
        if (strncmp(err.msg, "fuzz.nnm:", 9) != 0) abort(); /* a message without its file */
        return 0;
    }
    if (f.nlayers < 1 || f.h < 1 || f.w < 1 || f.c < 1) abort();
    int small = f.params + f.state <= (1u << 20) && f.values <= (1u << 18);
    for (int i = 0; i < f.nlayers; i++)
        if (f.layers[i].spec.kernel > 8) small = 0; /* conv scratch grows with the kernel */
    if (!small) return 0;
    nl_model *m = NULL;
    if (nl_nnm_build(&f, 0, &m, &err) != NL_OK) abort(); /* a parsed model always builds */
    if (nl_nnm_compile(&f, m, 1, &err) == NL_OK) {
        if (nl_model_num_params(m) != f.params || nl_model_num_state(m) != f.state) abort();
        const size_t in = nl_model_input_size(m);
        float *x = calloc(in, sizeof *x);
        for (size_t i = 0; i < in; i++) x[i] = (float)((i * 37) % 255) / 255.0f;
        (void)nl_model_forward(m, x, 1, 1);
        if (f.loss == NL_LOSS_MSE) {
            float *y = calloc((size_t)nl_model_num_outputs(m), sizeof *y);
            (void)nl_model_loss_backward_values(m, y, 1, 1);
            free(y);
        } else {
            uint8_t label = 1;
            int correct = 0;
            (void)nl_model_loss_backward(m, &label, 1, 1, &correct);
        }
        free(x);
    } else if (strncmp(err.msg, "fuzz.nnm:", 9) != 0 && nl_model_error_layer(m) >= 0) {
        abort(); /* a layer's failure not named by its line */
    }
    nl_model_free(m);
    return 0;
}
