/* maxpool2d: finite-difference gradients, and the argmax routing by hand:
 * the gradient goes to the first maximum of each window only, overlapping
 * windows add up, positions no window reaches get zero. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"

static nl_layer_spec pool_spec(int k, int s) {
    nl_layer_spec p = {.kind = NL_LAYER_MAXPOOL2D, .kernel = k, .stride = s};
    return p;
}

typedef struct pool {
    nl_layer l;
    float *scr;
} pool;

static void pool_make(pool *p, nl_shape in, int k, int s, int max_batch) {
    memset(p, 0, sizeof *p);
    p->l.spec = pool_spec(k, s);
    p->l.in = in;
    p->l.ops = nl_layer_ops_find(NL_LAYER_MAXPOOL2D);
    nl_error err = {0};
    CHECK(p->l.ops && p->l.ops->plan(&p->l, &err) == NL_OK);
    p->scr = calloc(p->l.ops->scratch_floats(&p->l, max_batch) + 1, 4);
}

static void pool_run(pool *p, const float *x, float *y, int batch, float *dy, float *dx) {
    nl_layer_ctx c = {0};
    c.batch = batch, c.training = 1, c.in = x, c.out = y, c.scratch = p->scr;
    p->l.ops->forward(&p->l, &c);
    if (dy) {
        c.dout = dy, c.din = dx;
        p->l.ops->backward(&p->l, &c);
    }
}

static void gradients(void) {
    struct {
        nl_shape in;
        int k, s, batch;
    } cases[] = {
        {{6, 6, 3}, 2, 2, 2},    /* tiles the input */
        {{7, 7, 2}, 2, 2, 2},    /* last row/column dropped */
        {{7, 7, 2}, 3, 2, 2},    /* overlapping windows */
        {{8, 7, 5}, 2, 3, 3},    /* gaps between windows */
        {{30, 30, 32}, 2, 2, 2}, /* cifar10 pool 1 */
        {{7, 7, 19}, 3, 2, 2},   /* 16-lane chunks + remainder, overlapping */
        {{7, 9, 35}, 2, 2, 3},   /* 16-lane chunks + remainder, uncovered edge */
    };
    for (int i = 0; i < 7; i++) {
        nl_layer_spec s = pool_spec(cases[i].k, cases[i].s);
        /* inputs spread over [-100, 100]: two values of a window within the
         * finite-difference step (a kink of max) become very unlikely */
        gc_result r = gradcheck_layer(&s, cases[i].in, cases[i].batch, 300, 100.0f, 100 + i);
        CHECK_MSG(GC_PASSED(r), "case %d: input %d/%d bad (max %.3g)", i, r.bad_in, r.checked_in,
                  r.max_err_in);
        CHECK(r.checked_param == 0);
    }
}

static void routing(void) {
    /* 4x4x1, 2x2 windows, stride 2; a tie in the top-right window */
    const float x[16] = {1,  5,  7, 7,  /* */
                         2,  3,  0, -1, /* */
                         -4, -3, 9, 8,  /* */
                         -2, -8, 8, 9};
    pool p;
    pool_make(&p, (nl_shape){4, 4, 1}, 2, 2, 1);
    CHECK(p.l.out.h == 2 && p.l.out.w == 2 && p.l.out.c == 1);
    float y[4], dy[4] = {1, 2, 3, 4}, dx[16];
    for (int i = 0; i < 16; i++) dx[i] = NAN;
    pool_run(&p, x, y, 1, dy, dx);
    CHECK(y[0] == 5 && y[1] == 7 && y[2] == -2 && y[3] == 9);
    const float want[16] = {0, 1, 2, 0, /* tie 7/7: the first in scan order */
                            0, 0, 0, 0, /* */
                            0, 0, 4, 0, /* 9 at (2,2) is first, (3,3) loses the tie */
                            3, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        CHECK_MSG(dx[i] == want[i], "dx[%d] = %g, want %g", i, dx[i], want[i]);
    free(p.scr);

    /* overlapping windows (3x3 input, 2x2 kernel, stride 1): a central maximum
     * collects the gradient of all four windows; 2 channels are independent */
    float x2[18], y2[8], dy2[8] = {1, 10, 2, 20, 3, 30, 4, 40}, dx2[18];
    for (int i = 0; i < 9; i++) x2[2 * i] = (float)i, x2[2 * i + 1] = i == 4 ? 100.0f : -(float)i;
    pool_make(&p, (nl_shape){3, 3, 2}, 2, 1, 1);
    pool_run(&p, x2, y2, 1, dy2, dx2);
    /* channel 0: maxima at 4, 5, 7, 8 (bottom-right of each window) */
    CHECK(y2[0] == 4 && y2[2] == 5 && y2[4] == 7 && y2[6] == 8);
    CHECK(dx2[8] == 1 && dx2[10] == 2 && dx2[14] == 3 && dx2[16] == 4);
    CHECK(dx2[0] == 0 && dx2[2] == 0 && dx2[4] == 0 && dx2[6] == 0 && dx2[12] == 0);
    /* channel 1: the centre wins every window */
    CHECK(y2[1] == 100 && y2[3] == 100 && y2[5] == 100 && y2[7] == 100);
    CHECK(dx2[9] == 100);
    int rest = 1;
    for (int i = 1; i < 18; i += 2)
        if (i != 9) rest &= dx2[i] == 0;
    CHECK(rest);
    free(p.scr);

    /* uncovered trailing row/column (5x5, 2x2 stride 2) get zero, batch of 2 */
    float x3[50], y3[8], dy3[8], dx3[50];
    for (int i = 0; i < 50; i++) x3[i] = (float)((i * 37) % 50), dx3[i] = NAN;
    for (int i = 0; i < 8; i++) dy3[i] = 1.0f + i;
    pool_make(&p, (nl_shape){5, 5, 1}, 2, 2, 2);
    pool_run(&p, x3, y3, 2, dy3, dx3);
    double s = 0;
    int finite = 1;
    for (int i = 0; i < 50; i++) finite &= !isnan(dx3[i]), s += dx3[i];
    CHECK(finite);
    CHECK_NEAR(s, 36.0, 0);
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 5; k++)
            CHECK(dx3[b * 25 + 4 * 5 + k] == 0 && dx3[b * 25 + k * 5 + 4] == 0);
    free(p.scr);
}

static void plan_errors(void) {
    nl_layer l = {0};
    l.ops = nl_layer_ops_find(NL_LAYER_MAXPOOL2D);
    l.in = (nl_shape){3, 3, 2};
    nl_error err = {0};
    l.spec = pool_spec(4, 2);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "smaller than the 4x4 window");
    l.spec = pool_spec(2, 0);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    l.in = (nl_shape){13, 13, 64};
    l.spec = pool_spec(2, 2);
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.out.h == 6 && l.out.w == 6 && l.out.c == 64);
    CHECK(l.nparams == 0);
}

int main(void) {
    plan_errors();
    gradients();
    routing();
    CHECK_DONE();
}
