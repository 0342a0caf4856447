/* Model files (format versions 1 and 2): the CRC-32 trailer is recomputed here
 * so that mutations reach the parser; a model that loads runs one forward and
 * backward pass on a batch of two with its own loss (labels for cross-entropy,
 * float targets for mse) when its activations are small, and a training state
 * that loads gives its schedule's learning rate at a few steps. */
#include <math.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/core.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"
#include "nnlab/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        nl_set_threads(1);
        init = 1;
    }
    if (size < 8 || size > (1u << 20)) return 0;
    uint8_t *buf = malloc(size);
    memcpy(buf, data, size);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(size - 4));
    buf[size - 4] = (uint8_t)crc, buf[size - 3] = (uint8_t)(crc >> 8);
    buf[size - 2] = (uint8_t)(crc >> 16), buf[size - 1] = (uint8_t)(crc >> 24);
    fz_write("m.nnlab", buf, size);
    free(buf);
    char path[512];
    snprintf(path, sizeof path, "%s", fz_path("m.nnlab"));
    nl_model *m = NULL;
    nl_optimizer opt;
    nl_train_state ts;
    int has_state = 0;
    char workload[64];
    nl_error err = {0};
    if (nl_model_load_checkpoint(path, 2, &m, &opt, workload, sizeof workload, &ts, &has_state,
                                 &err) != NL_OK)
        return 0;
    const size_t in = nl_model_input_size(m);
    const size_t outs = (size_t)nl_model_num_outputs(m);
    if (in <= (1u << 16) && outs <= (1u << 16) && nl_model_activation_bytes(m) <= (64u << 20)) {
        float *x = calloc(2 * in, sizeof *x);
        for (size_t i = 0; i < 2 * in; i++) x[i] = (float)((i * 37) % 255) / 255.0f;
        (void)nl_model_forward(m, x, 2, 1);
        if (nl_model_loss_kind(m) == NL_LOSS_MSE) {
            float *y = calloc(2 * outs + 1, sizeof *y);
            for (size_t i = 0; i < 2 * outs; i++) y[i] = (float)(i % 3) - 1.0f;
            (void)nl_model_loss_backward_values(m, y, 2, 1);
            free(y);
        } else {
            uint8_t labels[2] = {0, 0};
            int correct = 0;
            (void)nl_model_loss_backward(m, labels, 2, 1, &correct);
        }
        if (opt.n) nl_optim_step(&opt, nl_model_params(m), nl_model_grads(m));
        free(x);
    }
    if (has_state && opt.n) {
        const uint64_t spe = ts.samples / (uint64_t)ts.batch + 1;
        const uint64_t total = spe * (uint64_t)ts.epochs;
        const uint64_t at[3] = {0, (uint64_t)ts.epoch * spe, total ? total - 1 : 0};
        for (int i = 0; i < 3; i++) {
            float lr = nl_schedule_lr(&ts.schedule, opt.cfg.lr, at[i], spe, total);
            if (!(lr >= 0.0f) || isinf(lr)) abort(); /* a checked schedule gives a rate */
        }
    }
    nl_optim_free(&opt);
    nl_model_free(m);
    return 0;
}
