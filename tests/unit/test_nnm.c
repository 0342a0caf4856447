/* The .nnm model-file reader (src/model/nnm.c): every directive and option,
 * the defaults, every error with its line and column, the compile-failure
 * mapping, loading from a file, building for another class count, the
 * shipped files. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"
#include "testutil.h"

static nl_nnm f; /* big: not on the stack */

static nl_status parse(const char *text, nl_error *err) {
    return nl_nnm_parse("m.nnm", text, strlen(text), &f, err);
}

/* The text must fail with a message containing frag (which names line:col). */
#define CHECK_FAILS(text, frag)                                                                    \
    do {                                                                                           \
        nl_error e_ = {0};                                                                         \
        CHECK_MSG(parse(text, &e_) == NL_EFORMAT, "parsed: %s", text);                             \
        CHECK_CONTAINS(e_.msg, frag);                                                              \
    } while (0)

static void test_every_directive(void) {
    nl_error err = {0};
    const char *text = "# first comment\n"
                       "#   second line  \n"
                       "\n"
                       "# not in the description\n"
                       "dataset cifar10\n"
                       "input 16 16 3\n"
                       "conv2d 8 3 relu stride=2 padding=same    # 8x8x8\n"
                       "batchnorm eps=0.001 momentum=0.2\n"
                       "maxpool2d 2 stride=1  # 7x7x8\n"
                       "\tavgpool2d 3 stride=2 # 3x3x8\n"
                       "conv2d 4 1 leakyrelu alpha=0.2 padding=valid\n"
                       "tanh\n"
                       "sigmoid\n"
                       "gelu\n"
                       "leakyrelu alpha=0.3\n"
                       "leakyrelu\n"
                       "relu\n"
                       "globalavgpool2d\n"
                       "flatten\n"
                       "dense 6 tanh\n"
                       "batchnorm\n"
                       "dropout 0.25\n"
                       "dense 3\n"
                       "softmax\n"
                       "loss crossentropy\n"
                       "optimizer adamw lr=0.002 beta1=0.8 beta2=0.99 eps=1e-8 weight_decay=0.05\n"
                       "schedule step warmup=10 step_size=2 gamma=0.5\n"
                       "batch 16\n"
                       "epochs 5\n"
                       "seed 18446744073709551615";
    CHECK_MSG(parse(text, &err) == NL_OK, "%s", err.msg);
    CHECK(!strcmp(f.description, "first comment second line"));
    CHECK(!strcmp(f.dataset, "cifar10"));
    CHECK(f.h == 16 && f.w == 16 && f.c == 3 && f.input_line == 6);
    CHECK(f.nlayers == 17);
    const nl_layer_spec *s = &f.layers[0].spec;
    CHECK(s->kind == NL_LAYER_CONV2D && s->units == 8 && s->kernel == 3 && s->act == NL_ACT_RELU);
    CHECK(s->stride == 2 && s->padding == NL_PAD_SAME);
    CHECK(f.layers[0].line == 7 && f.layers[0].col == 1 && f.layers[0].act_col == 12);
    CHECK(!strcmp(f.layers[0].text, "conv2d 8 3 relu stride=2 padding=same"));
    s = &f.layers[1].spec;
    CHECK(s->kind == NL_LAYER_BATCHNORM && s->eps == 0.001f && s->momentum == 0.2f);
    s = &f.layers[2].spec;
    CHECK(s->kind == NL_LAYER_MAXPOOL2D && s->kernel == 2 && s->stride == 1);
    s = &f.layers[3].spec;
    CHECK(s->kind == NL_LAYER_AVGPOOL2D && s->kernel == 3 && s->stride == 2);
    CHECK(f.layers[3].line == 10 && f.layers[3].col == 2);
    s = &f.layers[4].spec;
    CHECK(s->kind == NL_LAYER_CONV2D && s->act == NL_ACT_LEAKYRELU && s->alpha == 0.2f &&
          s->padding == NL_PAD_VALID && s->stride == 1);
    CHECK(f.layers[5].spec.kind == NL_LAYER_ACTIVATION && f.layers[5].spec.act == NL_ACT_TANH);
    CHECK(f.layers[6].spec.kind == NL_LAYER_ACTIVATION && f.layers[6].spec.act == NL_ACT_SIGMOID);
    CHECK(f.layers[7].spec.kind == NL_LAYER_ACTIVATION && f.layers[7].spec.act == NL_ACT_GELU);
    CHECK(f.layers[8].spec.act == NL_ACT_LEAKYRELU && f.layers[8].spec.alpha == 0.3f);
    CHECK(f.layers[9].spec.act == NL_ACT_LEAKYRELU && f.layers[9].spec.alpha == 0.01f);
    CHECK(f.layers[10].spec.kind == NL_LAYER_RELU);
    CHECK(f.layers[11].spec.kind == NL_LAYER_GLOBALAVGPOOL2D);
    CHECK(f.layers[12].spec.kind == NL_LAYER_FLATTEN);
    CHECK(f.layers[13].spec.kind == NL_LAYER_DENSE && f.layers[13].spec.units == 6 &&
          f.layers[13].spec.act == NL_ACT_TANH);
    /* batchnorm's defaults */
    CHECK(f.layers[14].spec.eps == 1e-5f && f.layers[14].spec.momentum == 0.1f);
    CHECK(f.layers[15].spec.kind == NL_LAYER_DROPOUT && f.layers[15].spec.rate == 0.25f);
    /* "dense 3" then "softmax": one layer, the softmax its activation */
    s = &f.layers[16].spec;
    CHECK(s->kind == NL_LAYER_DENSE && s->units == 3 && s->act == NL_ACT_SOFTMAX);
    CHECK(f.layers[16].line == 23 && f.layers[16].act_line == 24 && f.layers[16].act_col == 1);
    CHECK(f.loss == NL_LOSS_CROSSENTROPY);
    CHECK(f.optim.kind == NL_OPT_ADAMW && f.optim.lr == 0.002f && f.optim.beta1 == 0.8f &&
          f.optim.beta2 == 0.99f && f.optim.eps == 1e-8f && f.optim.weight_decay == 0.05f);
    CHECK(f.schedule.kind == NL_SCHED_STEP && f.schedule.warmup == 10 &&
          f.schedule.step_size == 2 && f.schedule.gamma == 0.5f);
    CHECK(f.batch == 16 && f.epochs == 5 && f.seed == UINT64_MAX);
    CHECK(f.set == (NL_NNM_SET_LOSS | NL_NNM_SET_OPTIMIZER | NL_NNM_SET_SCHEDULE |
                    NL_NNM_SET_BATCH | NL_NNM_SET_EPOCHS | NL_NNM_SET_SEED | NL_NNM_SET_DATASET));
    /* conv 3*3*3*8+8, bn 2*8, conv 8*4+4, dense 4*6+6, bn 2*6, dense 6*3+3 */
    CHECK(f.params == 224 + 16 + 36 + 30 + 12 + 21);
    CHECK(f.state == 16 + 12);
}

static void test_defaults_and_variants(void) {
    nl_error err = {0};
    /* the defaults; input N; CRLF line ends; comments after words */
    CHECK_MSG(parse("input 4\r\ndense 2 softmax # out\r\n", &err) == NL_OK, "%s", err.msg);
    nl_optim_config adam = nl_optim_defaults(NL_OPT_ADAM);
    CHECK(f.h == 1 && f.w == 1 && f.c == 4 && f.nlayers == 1 && f.set == 0);
    CHECK(f.loss == NL_LOSS_CROSSENTROPY && !memcmp(&f.optim, &adam, sizeof adam));
    CHECK(f.schedule.kind == NL_SCHED_CONSTANT && f.schedule.warmup == 0);
    CHECK(f.batch == 32 && f.epochs == 3 && f.seed == 0 && f.dataset[0] == '\0');
    CHECK(f.description[0] == '\0');
    CHECK(f.params == 10);
    /* settings before input; mse ends in any linear layer; sgd; cosine */
    CHECK_MSG(parse("loss mse\noptimizer sgd lr=0.05 momentum=0.9\nschedule cosine warmup=5\n"
                    "input 3\ndense 4 gelu\ndense 2 linear\n",
                    &err) == NL_OK,
              "%s", err.msg);
    CHECK(f.loss == NL_LOSS_MSE && f.optim.kind == NL_OPT_SGD && f.optim.lr == 0.05f &&
          f.optim.momentum == 0.9f);
    CHECK(f.schedule.kind == NL_SCHED_COSINE && f.schedule.warmup == 5);
    CHECK(f.layers[1].spec.act == NL_ACT_NONE);
    /* the step schedule's defaults; padding=same keeps odd and even sizes (ceil(H/S)) */
    CHECK_MSG(parse("schedule step\ninput 7 6 1\nconv2d 2 4 padding=same stride=2\nflatten\n"
                    "dense 2 softmax\n",
                    &err) == NL_OK,
              "%s", err.msg);
    CHECK(f.schedule.step_size == 1 && f.schedule.gamma == 0.1f);
    CHECK(f.params == 4 * 4 * 1 * 2 + 2 + (4 * 3 * 2 + 1) * 2); /* 7x6 -> 4x3x2 */
    /* the same for optimizer adam: betas, eps */
    CHECK_MSG(parse("input 2\ndense 2 softmax\noptimizer adam beta1=0.5 beta2=0 eps=1\n", &err) ==
                  NL_OK,
              "%s", err.msg);
    CHECK(f.optim.beta1 == 0.5f && f.optim.beta2 == 0.0f && f.optim.eps == 1.0f);
    /* an empty name, a long line of blanks and comments only */
    CHECK(nl_nnm_parse(NULL, "input 2\ndense 2 softmax", 23, &f, &err) == NL_OK);
    CHECK(!strcmp(f.name, "(model)"));
}

static void test_errors(void) {
    CHECK_FAILS("input 4 4 1\nfoo 3\n", "m.nnm:2:1: unknown directive 'foo' (expected input,");
    CHECK_FAILS("input 4 4 1\n  dense x\n",
                "m.nnm:2:9: dense: 'x' is not a whole number (expected UNITS in 1..65536)");
    CHECK_FAILS("input 4 4 1\ndense\n", "m.nnm:2:7: dense: missing UNITS");
    CHECK_FAILS("input 4 4 1\ndense 0\n", "m.nnm:2:7: dense: UNITS 0 is out of range (expected "
                                          "1..65536)");
    CHECK_FAILS("input 4 4 1\ndense 99999999999999999999\n", "m.nnm:2:7: dense: UNITS");
    CHECK_FAILS("dense 10 softmax\n", "m.nnm:1:1: dense before input");
    CHECK_FAILS("# c\nsoftmax\n", "m.nnm:2:1: softmax before input");
    CHECK_FAILS("input 4\ninput 5\n", "m.nnm:2:1: a second input (the first is on line 1)");
    CHECK_FAILS("input 4 4\n", "m.nnm:1:9: input: 2 numbers (expected 'input H W C' or 'input N')");
    CHECK_FAILS("input\n", "m.nnm:1:7: input: missing the shape");
    CHECK_FAILS("input 65536 65536 1\n", "m.nnm:1:7: input: 65536x65536x1 is 4294967296 values");
    /* a shape that does not fit */
    CHECK_FAILS("input 6 6 1\nconv2d 64 3 relu\nmaxpool2d 2\nmaxpool2d 2\nmaxpool2d 2\nflatten\n"
                "dense 10 softmax\n",
                "m.nnm:5:1: maxpool2d 2 on a 1x1x64 input: the 2x2 window is larger than the "
                "input");
    CHECK_FAILS("input 2 2 1\nconv2d 4 3\n",
                "m.nnm:2:1: conv2d 4 3 on a 2x2x1 input: the 3x3 kernel does not fit with "
                "padding=valid");
    CHECK_FAILS("input 8 8 1\nconv2d 4 3\n avgpool2d 7 stride=2\n",
                "m.nnm:3:2: avgpool2d 7 stride=2 on a 6x6x4 input: the 7x7 window");
    CHECK_FAILS("input 8192\ndense 16384\ndense 16384\n",
                "m.nnm:3:1: dense 16384 on a 1x1x16384 input: the model reaches 402685952 "
                "parameters, at most 2^28");
    /* softmax and the loss */
    CHECK_FAILS("input 4\ndense 8 softmax\ndense 2 softmax\n",
                "m.nnm:2:9: softmax is not on the last layer");
    CHECK_FAILS("input 4\ndense 8\nsoftmax\ndense 2 softmax\n",
                "m.nnm:3:1: softmax is not on the last layer");
    CHECK_FAILS("input 4\ndense 2 softmax\nloss mse\n",
                "m.nnm:2:9: softmax with loss mse (line 3)");
    CHECK_FAILS("loss mse\ninput 4\ndense 2\nsoftmax\n",
                "m.nnm:4:1: softmax with loss mse (line 1)");
    CHECK_FAILS("input 4\ndense 2\n", "m.nnm:2:1: 'dense 2' is the last layer: with loss "
                                      "crossentropy the model ends in 'dense N softmax'");
    CHECK_FAILS("input 4 4 1\nflatten\n", "m.nnm:2:1: 'flatten' is the last layer");
    CHECK_FAILS("input 4\ndense 300 softmax\n", "m.nnm:2:1: 'dense 300 softmax': 300 classes");
    CHECK_FAILS("input 8 8 1\nconv2d 4 3\nsoftmax\n", "m.nnm:3:1: softmax after 'conv2d 4 3'");
    CHECK_FAILS("input 8 8 1\nconv2d 4 3 softmax\n",
                "m.nnm:2:12: conv2d: softmax is only the activation of the last dense layer");
    CHECK_FAILS("input 4\ndense 4 relu\nsoftmax\n", "m.nnm:3:1: softmax after 'dense 4 relu'");
    CHECK_FAILS("input 4\ndense 2 swish\n", "m.nnm:2:9: dense: unknown activation 'swish' "
                                            "(expected linear, relu, tanh");
    CHECK_FAILS("loss hinge\n", "m.nnm:1:6: loss: unknown loss 'hinge' (expected crossentropy or "
                                "mse)");
    CHECK_FAILS("loss\n", "m.nnm:1:6: loss: missing the loss (crossentropy or mse)");
    /* trailing words, options */
    CHECK_FAILS("input 4\ndense 2 softmax extra\n", "m.nnm:2:17: dense: unexpected 'extra' "
                                                    "(trailing words");
    CHECK_FAILS("input 4 4 1\nflatten now\n", "m.nnm:2:9: flatten: unexpected 'now'");
    CHECK_FAILS("batch 32 64\n", "m.nnm:1:10: batch: unexpected '64'");
    CHECK_FAILS("input 8 8 1\nconv2d 4 3 strides=2\n",
                "m.nnm:2:12: conv2d: unknown option 'strides=' (expected stride=, padding=, "
                "alpha=)");
    CHECK_FAILS("input 4 4 1\nflatten x=1\n", "m.nnm:2:9: flatten: unknown option 'x=' (flatten "
                                              "takes none)");
    CHECK_FAILS("input 8 8 1\nmaxpool2d 2 stride=1 stride=2\n",
                "m.nnm:2:22: maxpool2d: option 'stride=' given twice");
    CHECK_FAILS("input 8 8 1\nmaxpool2d 2 stride=\n", "m.nnm:2:20: maxpool2d: missing value "
                                                      "after 'stride='");
    CHECK_FAILS("input 8 8 1\nconv2d 4 3 stride=2 relu\n",
                "m.nnm:2:21: conv2d: 'relu' after the options");
    CHECK_FAILS("input 8 8 1\nconv2d 4 3 padding=full\n",
                "m.nnm:2:20: conv2d: padding 'full' (expected valid or same)");
    CHECK_FAILS("input 8 8 1\nconv2d 4 65\n", "m.nnm:2:10: conv2d: KERNEL 65 is out of range "
                                              "(expected 1..64)");
    CHECK_FAILS("input 8 8 1\nconv2d 4\n", "m.nnm:2:10: conv2d: missing KERNEL");
    CHECK_FAILS("input 4\ndense 4 relu alpha=0.2\n",
                "m.nnm:2:14: dense: alpha= applies to leakyrelu only");
    CHECK_FAILS("input 4\nleakyrelu alpha=2\n", "m.nnm:2:17: leakyrelu: alpha 2 is out of range");
    CHECK_FAILS("input 4\ntanh alpha=0.1\n", "m.nnm:2:6: tanh: unknown option 'alpha='");
    CHECK_FAILS("=3\n", "m.nnm:1:1: '=3': a line starts with a directive");
    /* numbers */
    CHECK_FAILS("input 4\ndropout 1.5\n", "m.nnm:2:9: dropout: RATE 1.5 is out of range");
    CHECK_FAILS("input 4\ndropout 1\n", "m.nnm:2:9: dropout: RATE 1 is out of range");
    CHECK_FAILS("input 4\ndropout nan\n", "m.nnm:2:9: dropout: 'nan' is not a number");
    CHECK_FAILS("input 4\ndropout\n", "m.nnm:2:9: dropout: missing RATE");
    CHECK_FAILS("input 4\nbatchnorm eps=0\n", "m.nnm:2:15: batchnorm: eps 0 is out of range");
    CHECK_FAILS("input 4\nbatchnorm momentum=1e999\n", "m.nnm:2:20: batchnorm: '1e999' is not a "
                                                       "number");
    CHECK_FAILS("optimizer adam lr=fast\n", "m.nnm:1:19: optimizer: 'fast' is not a number "
                                            "(expected lr in (0, 100])");
    CHECK_FAILS("optimizer adam lr=0\n", "m.nnm:1:19: optimizer: lr 0 is out of range");
    CHECK_FAILS("optimizer adam momentum=0.9\n",
                "m.nnm:1:16: optimizer: momentum= does not apply to adam (it is for sgd)");
    CHECK_FAILS("optimizer sgd weight_decay=0.1\n",
                "m.nnm:1:15: optimizer: weight_decay= does not apply to sgd (it is for adamw)");
    CHECK_FAILS("optimizer rmsprop\n", "m.nnm:1:11: optimizer: unknown optimizer 'rmsprop'");
    CHECK_FAILS("schedule cosine gamma=0.5\n",
                "m.nnm:1:17: schedule: gamma= applies to the step schedule only");
    CHECK_FAILS("schedule linear\n", "m.nnm:1:10: schedule: unknown schedule 'linear'");
    CHECK_FAILS("schedule step step_size=0\n", "m.nnm:1:25: schedule: step_size 0 is out of range");
    CHECK_FAILS("epochs -1\n", "m.nnm:1:8: epochs: N -1 is out of range (expected 1..100000)");
    CHECK_FAILS("batch 3.5\n", "m.nnm:1:7: batch: '3.5' is not a whole number");
    CHECK_FAILS("seed 18446744073709551616\n", "m.nnm:1:6: seed: '18446744073709551616' is not");
    CHECK_FAILS("seed -1\n", "m.nnm:1:6: seed: '-1' is not");
    CHECK_FAILS("dataset ../x\n", "m.nnm:1:9: dataset: '../x' is not a dataset name");
    CHECK_FAILS("batch 8\n\nbatch 9\n", "m.nnm:3:1: batch given twice (the first is on line 1)");
    CHECK_FAILS("dataset a\ndataset b\n", "m.nnm:2:1: dataset given twice");
    /* the whole file */
    CHECK_FAILS("# just a comment\n", "m.nnm:1:1: no input directive");
    CHECK_FAILS("", "m.nnm:1:1: no input directive");
    CHECK_FAILS("input 4\n", "m.nnm:1:1: no layers after input");
    {
        nl_error e = {0};
        CHECK(nl_nnm_parse("m.nnm", "input 4\nde\0nse\n", 15, &f, &e) == NL_EFORMAT);
        CHECK_CONTAINS(e.msg, "m.nnm:2:3: a NUL byte");
    }
    /* a word that is not printable comes back as '?', a long one cut */
    CHECK_FAILS("\x01\xff\n", "m.nnm:1:1: unknown directive '?"
                              "?'");
    CHECK_FAILS("input 4\ndense aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
                "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is not a whole number");
    /* too many layers, too many words, too long a line */
    {
        size_t cap = 16 + 300 * 8;
        char *t = malloc(cap), *p = t;
        p += sprintf(p, "input 4\n");
        for (int i = 0; i < 300; i++) p += sprintf(p, "relu\n");
        CHECK_FAILS(t, "m.nnm:258:1: more than 256 layers");
        char *l = malloc(5000);
        memset(l, 'x', 4999);
        l[4999] = '\0';
        CHECK_FAILS(l, "m.nnm:1:4097: line longer than 4096 bytes");
        free(l);
        strcpy(t, "input");
        for (int i = 0; i < 40; i++) strcat(t, " 1");
        CHECK_FAILS(t, "m.nnm:1:69: more than 32 words on a line");
        free(t);
    }
    nl_error e = {0};
    CHECK(nl_nnm_parse("m.nnm", NULL, 0, &f, &e) == NL_EFORMAT);
    CHECK(nl_nnm_parse("m.nnm", "x", NL_NNM_MAX_BYTES + 1, &f, &e) == NL_EFORMAT);
    CHECK_CONTAINS(e.msg, "m.nnm: 1048577 bytes, a model file has at most 1048576");
}

/* Files: a regular file only, bounded; the name in messages is the path. */
static void test_load(void) {
    tu_tmpdir();
    nl_error err = {0};
    const char *path = tu_path("a.nnm");
    tu_write("a.nnm", "input 4\ndense 2 softmax\n", 24);
    CHECK_MSG(nl_nnm_load(path, &f, &err) == NL_OK, "%s", err.msg);
    CHECK(!strcmp(f.name, path) && f.nlayers == 1);
    tu_write("a.nnm", "input 4\ndense 2 soft\n", 21);
    CHECK(nl_nnm_load(path, &f, &err) == NL_EFORMAT);
    char want[1200];
    snprintf(want, sizeof want, "%s:2:9: dense: unknown activation 'soft'", path);
    CHECK_CONTAINS(err.msg, want);
    CHECK(nl_nnm_load(tu_path("missing.nnm"), &f, &err) == NL_ENOTFOUND);
    CHECK(nl_nnm_load(tu_dir, &f, &err) != NL_OK);
    CHECK_CONTAINS(err.msg, "directory");
    const char *fifo = tu_path("fifo.nnm");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(nl_nnm_load(fifo, &f, &err) != NL_OK); /* refused, never blocks */
    CHECK_CONTAINS(err.msg, "FIFO");
    /* larger than 1 MiB */
    char *big = malloc(NL_NNM_MAX_BYTES + 10);
    memset(big, '\n', NL_NNM_MAX_BYTES + 10);
    tu_write("a.nnm", big, NL_NNM_MAX_BYTES + 10);
    CHECK(nl_nnm_load(path, &f, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "a model file has at most 1048576");
    free(big);
    tu_cleanup();
}

/* Build: one model layer per file layer, the loss set, another class count. */
static void test_build_and_compile(void) {
    nl_error err = {0};
    nl_model *m = NULL;
    CHECK(parse("input 6 6 2\nconv2d 4 3 relu\nbatchnorm\nmaxpool2d 2\nflatten\ndense 8 relu\n"
                "dropout 0.5\ndense 10 softmax\n",
                &err) == NL_OK);
    CHECK(nl_nnm_build(&f, 0, &m, &err) == NL_OK);
    CHECK(nl_model_num_layers(m) == f.nlayers);
    for (int i = 0; i < f.nlayers; i++)
        CHECK(!memcmp(nl_model_layer_spec(m, i), &f.layers[i].spec, sizeof(nl_layer_spec)));
    CHECK_MSG(nl_nnm_compile(&f, m, 4, &err) == NL_OK, "%s", err.msg);
    CHECK(nl_model_num_params(m) == f.params && nl_model_num_state(m) == f.state);
    CHECK(nl_model_num_classes(m) == 10);
    nl_model_free(m);
    CHECK(nl_nnm_build(&f, 3, &m, &err) == NL_OK && nl_nnm_compile(&f, m, 2, &err) == NL_OK);
    CHECK(nl_model_num_outputs(m) == 3);
    nl_model_free(m);
    CHECK(nl_nnm_check(&f, &err) == NL_OK);

    /* a failure the library's plan finds is named by its directive */
    f.layers[2].spec.kernel = 0;
    CHECK(nl_nnm_check(&f, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "m.nnm:4:1: maxpool2d 2 on a 4x4x4 input: layer 2 (maxpool2d): "
                            "maxpool2d: kernel size must be in 1..64 (got 0)");
    f.layers[0].spec.units = 0;
    CHECK(nl_nnm_check(&f, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "m.nnm:2:1: conv2d 4 3 relu on a 6x6x2 input: layer 0 (conv2d)");

    /* another class count needs a dense last layer */
    CHECK(parse("input 3\ndense 4 relu\nloss mse\n", &err) == NL_OK);
    CHECK(nl_nnm_build(&f, 5, &m, &err) == NL_OK && nl_nnm_compile(&f, m, 1, &err) == NL_OK);
    CHECK(nl_model_num_outputs(m) == 5);
    nl_model_free(m);
    CHECK(parse("input 3\nrelu\nloss mse\n", &err) == NL_OK);
    CHECK(nl_nnm_build(&f, 5, &m, &err) == NL_EINVAL && m == NULL);
    CHECK_CONTAINS(err.msg, "m.nnm:2:1: 5 outputs asked for, but the last layer 'relu' is not "
                            "dense");

    /* mse: a regression model trains one step on float targets */
    CHECK(parse("input 3\ndense 4 relu\ndense 2\nloss mse\n", &err) == NL_OK);
    CHECK(nl_nnm_build(&f, 0, &m, &err) == NL_OK);
    CHECK(nl_model_loss_kind(m) == NL_LOSS_MSE);
    CHECK_MSG(nl_nnm_compile(&f, m, 2, &err) == NL_OK, "%s", err.msg);
    const float x[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, y[4] = {1, 0, 0, 1};
    nl_model_forward(m, x, 2, 1);
    float loss = nl_model_loss_backward_values(m, y, 2, 1);
    CHECK(isfinite(loss) && loss > 0);
    nl_model_free(m);
    CHECK(nl_nnm_build(NULL, 0, &m, &err) == NL_EINVAL);
}

/* Whether the library has the layers and activations of this wave. */
static int has_new_layers(void) {
    const int kinds[] = {NL_LAYER_AVGPOOL2D, NL_LAYER_GLOBALAVGPOOL2D, NL_LAYER_ACTIVATION};
    const int acts[] = {NL_ACT_TANH, NL_ACT_SIGMOID, NL_ACT_GELU, NL_ACT_LEAKYRELU};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(nl_layer_kind_name(kinds[i]), "unknown")) return 0;
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (!nl_act_name(acts[i])) return 0;
    return 1;
}

/* The shipped files parse, and what the workloads take from them. */
static void test_shipped(void) {
    nl_error err = {0};
    int n = 0;
    const char *prev = "";
    for (const nl_shipped_model *s = nl_shipped_models(); s->name; s++, n++) {
        CHECK_MSG(strcmp(prev, s->name) < 0, "%s after %s", s->name, prev);
        prev = s->name;
        CHECK_MSG(nl_nnm_parse(s->name, s->text, s->len, &f, &err) == NL_OK, "%s", err.msg);
        CHECK(strlen(s->text) == s->len);
        CHECK_MSG(f.description[0] && f.dataset[0], "%s", s->name);
        CHECK(nl_shipped_model_find(s->name) == s);
    }
    CHECK(n == 5);
    CHECK(nl_shipped_model_find("resnet") == NULL && nl_shipped_model_find(NULL) == NULL);
    const nl_shipped_model *k = nl_shipped_model_find("cifar10-keras-paper");
    CHECK(k && nl_nnm_parse("k", k->text, k->len, &f, &err) == NL_OK);
    CHECK(f.optim.kind == NL_OPT_SGD && f.optim.lr == 0.01f);
    const nl_shipped_model *v = nl_shipped_model_find("vgg-cifar10");
    CHECK(v && nl_nnm_parse("v", v->text, v->len, &f, &err) == NL_OK);
    CHECK(f.params == 72730 && f.nlayers == 10);

    if (has_new_layers())
        CHECK_MSG(nl_nnm_check(&f, &err) == NL_OK, "%s", err.msg);
    else
        printf("SKIP: vgg-cifar10 compiles (the library lacks the new layers)\n");
}

/* Models of the new layers and activations train one step, and the library's
 * shapes agree with the reader's (padding=same: ceil(H/S), odd and even
 * kernels, stride 2). Skipped while the library lacks them. */
static void test_new_layers(void) {
    if (!has_new_layers()) {
        printf("SKIP: models of the new layers (the library lacks avgpool2d, globalavgpool2d, "
               "the activation layer or tanh/sigmoid/gelu/leakyrelu)\n");
        return;
    }
    static const char *const texts[] = {
        "input 8 8 2\nconv2d 4 3 gelu padding=same\navgpool2d 2\n"
        "conv2d 4 2 tanh padding=same stride=2\nbatchnorm\nleakyrelu alpha=0.2\nsigmoid\n"
        "globalavgpool2d\ndense 3 softmax\n",
        "input 7 6 1\nconv2d 2 4 gelu padding=same stride=2\nflatten\ndense 2 softmax\n",
        "input 9 9 1\nconv2d 3 3 leakyrelu alpha=0.1 padding=same stride=2\navgpool2d 3 stride=2\n"
        "flatten\ndense 4 sigmoid\nbatchnorm\ndense 2\nloss mse\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        nl_error err = {0};
        nl_model *m = NULL;
        CHECK_MSG(parse(texts[k], &err) == NL_OK, "%s", err.msg);
        CHECK(nl_nnm_build(&f, 0, &m, &err) == NL_OK);
        CHECK_MSG(nl_nnm_compile(&f, m, 2, &err) == NL_OK, "model %zu: %s", k, err.msg);
        CHECK_MSG(nl_model_num_params(m) == f.params && nl_model_num_state(m) == f.state,
                  "model %zu: %zu parameters, the reader counted %zu", k, nl_model_num_params(m),
                  f.params);
        const size_t in = nl_model_input_size(m);
        float *x = malloc(2 * in * sizeof *x);
        for (size_t i = 0; i < 2 * in; i++) x[i] = (float)(i % 7) / 7.0f;
        nl_model_forward(m, x, 2, 1);
        float loss;
        if (f.loss == NL_LOSS_MSE) {
            const float y[4] = {0.5f, -0.5f, 1.0f, 0.0f};
            loss = nl_model_loss_backward_values(m, y, 2, 1);
        } else {
            const uint8_t labels[2] = {0, 1};
            int correct = 0;
            loss = nl_model_loss_backward(m, labels, 2, 1, &correct);
        }
        CHECK_MSG(isfinite(loss) && loss > 0, "model %zu: loss %g", k, (double)loss);
        free(x);
        nl_model_free(m);
    }
}

int main(void) {
    test_every_directive();
    test_defaults_and_variants();
    test_errors();
    test_load();
    test_build_and_compile();
    test_shipped();
    test_new_layers();
    CHECK_DONE();
}
