/* A contestant's result JSON (the last JSON object line of its stdout that is
 * not an event), read as src/harness/bench.c reads it. bench.c is included
 * here because result_json() is static there (the harness is not edited for
 * the fuzzer); re-point this target if that function moves or is renamed. */
#include "../../src/harness/bench.c"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int bad = 0;
    json_t *res = result_json(text, &bad);
    if (res) {
        char s[64];
        (void)jnumber(res, "samples_per_second");
        (void)jnumber(res, "final_loss");
        (void)jnumber(res, "peak_rss_mib");
        jstring(res, "framework", s, sizeof s);
        jstring(res, "framework_version", s, sizeof s);
        json_t *acc = json_object_get(res, "test_accuracy");
        if (json_is_array(acc))
            for (size_t e = 0; e < json_array_size(acc) && e < NL_BENCH_MAX_EPOCHS; e++)
                (void)json_number_value(json_array_get(acc, e));
        json_decref(res);
    }
    free(text);
    return 0;
}
