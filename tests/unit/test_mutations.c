/* Hostile files: thousands of random mutations (bit flips, byte changes,
 * truncations, extensions, header fields set to extremes) of valid IDX, gzip
 * and model files. Every load must either succeed or fail with a message;
 * under the sanitizer build any out-of-bounds access or UB aborts the test. */
#include "check.h"
#include "core/rng.h"
#include "nnlab/train.h"
#include "testutil.h"

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* Writes a mutated copy of src to name; returns 1 when it differs from src. */
static int mutate(const uint8_t *src, size_t n, nl_rng *r, const char *name) {
    size_t cap = n + 64;
    uint8_t *b = malloc(cap);
    memcpy(b, src, n);
    size_t len = n;
    int kind = (int)nl_rng_below(r, 6);
    int edits = 1 + (int)nl_rng_below(r, 4);
    for (int e = 0; e < edits; e++) {
        switch (kind) {
        case 0:
            b[nl_rng_below(r, len)] ^= (uint8_t)(1u << nl_rng_below(r, 8));
            break;
        case 1:
            b[nl_rng_below(r, len)] = (uint8_t)nl_rng_next(r);
            break;
        case 2:
            len = nl_rng_below(r, len + 1);
            break; /* truncate */
        case 3: {  /* extend with junk */
            size_t add = nl_rng_below(r, 64);
            for (size_t i = 0; i < add && len < cap; i++) b[len++] = (uint8_t)nl_rng_next(r);
            break;
        }
        case 4: /* a header word (first 64 bytes) set to an extreme */
            if (len >= 8) {
                size_t off = nl_rng_below(r, (len < 64 ? len : 64) - 3);
                uint32_t v = nl_rng_below(r, 2) ? 0xffffffffu : 0x7fffffffu;
                memcpy(b + off, &v, 4);
            }
            break;
        default: /* zero a run */
            if (len) {
                size_t off = nl_rng_below(r, len), k = nl_rng_below(r, 32);
                for (size_t i = off; i < len && i < off + k; i++) b[i] = 0;
            }
        }
        if (len == 0) break;
    }
    tu_write(name, b, len);
    int changed = len != n || memcmp(b, src, n) != 0;
    free(b);
    return changed;
}

int main(void) {
    tu_tmpdir();
    nl_rng r;
    nl_rng_seed(&r, 2024);
    /* a valid IDX image and label file, raw and gzip */
    uint8_t img[16 + 3 * 5 * 4] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 4};
    for (int i = 16; i < (int)sizeof img; i++) img[i] = (uint8_t)i;
    uint8_t lab[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 9};
    tu_write("lab", lab, sizeof lab);
    tu_write_gz("img.gz", img, sizeof img);
    size_t gzn = 0;
    uint8_t *gz = slurp(tu_path("img.gz"), &gzn);
    /* a valid model file */
    nl_model *m = nl_model_new(4, 4, 1);
    nl_model_dense(m, 5, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    nl_error err = {0};
    CHECK(nl_model_compile(m, 2, &err) == NL_OK);
    nl_optimizer o;
    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err) == NL_OK);
    CHECK(nl_model_save(tu_path("m.nnlab"), m, "tiny", &o, &err) == NL_OK);
    size_t mn = 0;
    uint8_t *mf = slurp(tu_path("m.nnlab"), &mn);
    CHECK(mf != NULL && gz != NULL);

    int idx_ok = 0, idx_err = 0, gz_err = 0, model_err = 0, model_ok = 0, silent = 0;
    int changed_models = 0;
    for (int it = 0; it < 3000; it++) {
        nl_dataset d;
        mutate(img, sizeof img, &r, "mut");
        nl_status st = nl_idx_load(tu_path("mut"), tu_path("lab"), 10, &d, &err);
        if (st == NL_OK)
            idx_ok++, nl_dataset_free(&d);
        else
            idx_err++, silent += err.msg[0] == '\0';
        mutate(gz, gzn, &r, "mut.gz");
        st = nl_idx_load(tu_path("mut.gz"), tu_path("lab"), 10, &d, &err);
        if (st == NL_OK)
            nl_dataset_free(&d);
        else
            gz_err++, silent += err.msg[0] == '\0';
        if (!mutate(mf, mn, &r, "mut.nnlab")) continue;
        changed_models++;
        nl_model *m2 = NULL;
        nl_optimizer o2;
        err.msg[0] = '\0';
        st = nl_model_load(tu_path("mut.nnlab"), 2, &m2, &o2, NULL, 0, &err);
        if (st == NL_OK) {
            model_ok++;
            nl_optim_free(&o2);
            nl_model_free(m2);
        } else {
            model_err++;
            silent += err.msg[0] == '\0';
        }
    }
    printf("idx: %d loaded, %d refused; gzip: %d refused; model: %d loaded, %d refused\n", idx_ok,
           idx_err, gz_err, model_ok, model_err);
    CHECK_MSG(silent == 0, "%d failures without a message", silent);
    CHECK(idx_err > 1000 && gz_err > 1000);
    /* A model file is protected by its CRC: no changed file may load. */
    CHECK_MSG(model_ok == 0 && model_err == changed_models && changed_models > 2000,
              "changed model files: %d, loaded anyway: %d", changed_models, model_ok);
    free(gz), free(mf);
    nl_optim_free(&o);
    nl_model_free(m);
    tu_cleanup();
    CHECK_DONE();
}
