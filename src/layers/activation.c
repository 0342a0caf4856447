/* The activation table (activation.h). A new activation adds a row here and
 * its code in the kernels of the layers that fuse it. */
#include <stddef.h>

#include "layers/activation.h"

static const nl_activation all_acts[] = {
    {NL_ACT_NONE, "none", 0, 0},
    {NL_ACT_RELU, "relu", 1, 0},
    {NL_ACT_SOFTMAX, "softmax", 0, 1},
};

const nl_activation *nl_activation_find(int act) {
    for (size_t i = 0; i < sizeof all_acts / sizeof all_acts[0]; i++)
        if ((int)all_acts[i].act == act) return &all_acts[i];
    return NULL;
}

const char *nl_act_name(int act) {
    const nl_activation *a = nl_activation_find(act);
    return a ? a->name : NULL;
}
