/* CSV tables (src/data/csv.c) and the validation split (src/data/table.c):
 * good files in their variations, and every hostile case an error that names
 * the file, the line and column, and loads nothing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "nnlab/data.h"
#include "testutil.h"

static nl_status parse(const char *text, const nl_table_options *o, nl_dataset *d, nl_error *e) {
    memset(e, 0, sizeof *e);
    return nl_csv_parse("t.csv", text, strlen(text), o, d, e);
}

/* The text must fail with NL_EFORMAT, load nothing, and name every fragment. */
static void bad(const char *text, const nl_table_options *o, const char *f1, const char *f2) {
    nl_dataset d;
    nl_error e;
    memset(&d, 0xab, sizeof d);
    nl_status st = parse(text, o, &d, &e);
    CHECK_MSG(st == NL_EFORMAT, "status %d for %s", (int)st, text);
    CHECK(d.x == NULL && d.labels == NULL && d.y == NULL && d.n == 0);
    CHECK_CONTAINS(e.msg, "t.csv");
    if (f1) CHECK_CONTAINS(e.msg, f1);
    if (f2) CHECK_CONTAINS(e.msg, f2);
    if (st == NL_OK) nl_dataset_free(&d);
}

static void test_good(void) {
    nl_dataset d;
    nl_error e;
    /* CRLF, spaces around cells, a BOM, blank trailing lines, label in the middle */
    const char *t = "\xEF\xBB\xBF a , label ,b\r\n1.5, 2 ,-3\r\n 0,0,4e2 \r\n7,1,  8\r\n\r\n  \n";
    CHECK(parse(t, NULL, &d, &e) == NL_OK);
    CHECK(d.n == 3 && d.h == 1 && d.w == 1 && d.c == 2);
    CHECK(d.x && d.labels && !d.y && !d.images && d.targets == 0);
    CHECK(d.num_classes == 3); /* max label 2, + 1 */
    if (d.x) {
        CHECK(d.x[0] == 1.5f && d.x[1] == -3.0f && d.x[2] == 0.0f && d.x[3] == 400.0f);
        CHECK(d.x[4] == 7.0f && d.x[5] == 8.0f);
        CHECK(d.labels[0] == 2 && d.labels[1] == 0 && d.labels[2] == 1);
    }
    nl_dataset_free(&d);

    /* no line end at the end; the label column first */
    CHECK(parse("label,f\n9,0.25", NULL, &d, &e) == NL_OK);
    CHECK(d.n == 1 && d.c == 1 && d.labels && d.labels[0] == 9 && d.x[0] == 0.25f);
    CHECK(d.num_classes == 10);
    nl_dataset_free(&d);

    /* another target column, classes given */
    nl_table_options o = nl_table_defaults();
    o.label = "kind";
    o.num_classes = 5;
    CHECK(parse("x1,x2,kind\n1,2,0\n3,4,1\n", &o, &d, &e) == NL_OK);
    CHECK(d.n == 2 && d.num_classes == 5 && d.labels[1] == 1);
    nl_dataset_free(&d);

    /* values (mse): y, one target a sample */
    o = nl_table_defaults();
    o.targets = NL_TABLE_VALUES;
    CHECK(parse("a,label\n1,0.5\n2,-1e-3\n", &o, &d, &e) == NL_OK);
    CHECK(d.y && !d.labels && d.targets == 1 && d.num_classes == 0);
    if (d.y) CHECK(d.y[0] == 0.5f && d.y[1] == -1e-3f);
    nl_dataset_free(&d);

    /* inputs only: the label column is ignored (even when it is not a number) */
    o = nl_table_defaults();
    o.targets = NL_TABLE_INPUTS;
    CHECK(parse("a,label,b\n1,cat,2\n", &o, &d, &e) == NL_OK);
    CHECK(d.n == 1 && d.c == 2 && !d.labels && !d.y && d.x[0] == 1 && d.x[1] == 2);
    nl_dataset_free(&d);
    CHECK(parse("a,b\n1,2\n3,4\n", &o, &d, &e) == NL_OK); /* no label column at all */
    CHECK(d.n == 2 && d.c == 2 && d.x[3] == 4);
    nl_dataset_free(&d);

    /* the model's input shape: 4 features as 2x2x1 */
    o = nl_table_defaults();
    o.h = 2, o.w = 2, o.c = 1;
    CHECK(parse("a,b,c,d,label\n1,2,3,4,0\n", &o, &d, &e) == NL_OK);
    CHECK(d.h == 2 && d.w == 2 && d.c == 1 && d.x[3] == 4);
    nl_dataset_free(&d);
}

static void test_hostile(void) {
    nl_table_options o = nl_table_defaults();
    bad("a,label\n1,0\n2,x\n", NULL, "line 3, column 2", "'x' is not a number");
    bad("a,label\n1,0\nabc,1\n", NULL, "line 3, column 1", "'abc'");
    bad("a,label\n1 2,0\n", NULL, "line 2, column 1", "not a number");
    bad("a,b,label\n1,2,0\n1,2\n", NULL, "line 3 has 2 cells, the header has 3", NULL);
    bad("a,b,label\n1,2,0\n1,2,0,4\n", NULL, "line 3 has 4 cells, the header has 3", NULL);
    bad("a,b,label\n1,2,0,\n", NULL, "line 2 has 4 cells", NULL);
    bad("a,b,label\n1,,0\n", NULL, "line 2, column 2", "empty cell");
    bad("a,b\n1,2\n", NULL, "no column named 'label'", "a,b");
    o.label = "target";
    bad("a,label\n1,2\n", &o, "no column named 'target'", NULL);
    bad("a,label\nnan,0\n", NULL, "line 2, column 1", "NaN");
    bad("a,label\n1,0\n-inf,0\n", NULL, "line 3, column 1", "infinite");
    bad("a,label\n1e999,0\n", NULL, "line 2, column 1", "infinite");
    bad("a,label\n1e39,0\n", NULL, "line 2, column 1", "float32");
    bad("a,label\n1,256\n", NULL, "line 2, column 2 ('label')", "too large");
    bad("a,label\n1,1.5\n", NULL, "label 1.5", "not an integer");
    bad("a,label\n1,-1\n", NULL, "label -1", "negative");
    bad("a,label\n1,nan\n", NULL, "line 2, column 2", "NaN");
    o = nl_table_defaults();
    o.num_classes = 3;
    bad("a,label\n1,2\n1,3\n", &o, "line 3, column 2", "0..2");
    bad("", NULL, "line 1 is empty", "header");
    bad("\n\na,label\n", NULL, "line 1 is empty", NULL);
    bad("a,label\n", NULL, "no data rows", NULL);
    bad("a,label\r\n\r\n", NULL, "no data rows", NULL);
    bad("a,label\n1,0\n\n2,0\n", NULL, "line 3 is empty but line 4 has data", NULL);
    bad("a,,label\n1,2,0\n", NULL, "column 2", "empty column name");
    bad("label,a,label\n1,2,0\n", NULL, "columns 1 and 3", "'label'");
    bad("label\n1\n", NULL, "no feature columns", NULL);
    {
        nl_dataset d0;
        nl_error e0;
        CHECK(nl_csv_parse("t.csv", "a,label\n1,0\0\n", 12, NULL, &d0, &e0) == NL_EFORMAT);
        CHECK_CONTAINS(e0.msg, "NUL byte at offset 11");
        CHECK(d0.x == NULL);
    }
    o = nl_table_defaults();
    o.h = 28, o.w = 28, o.c = 1;
    bad("a,b,label\n1,2,0\n", &o, "2 features", "28x28x1 = 784");
    o = nl_table_defaults();
    o.targets = NL_TABLE_VALUES;
    bad("a,label\n1,x\n", &o, "line 2, column 2", "'x'");
    o.num_targets = 2;
    bad("a,label\n1,2\n", &o, "one target column", "2 values");

    /* bad options are NL_EINVAL */
    nl_dataset d;
    nl_error e;
    o = nl_table_defaults();
    o.num_classes = 300;
    CHECK(parse("a,label\n1,0\n", &o, &d, &e) == NL_EINVAL);
    CHECK_CONTAINS(e.msg, "num_classes");
    o = nl_table_defaults();
    o.h = 2;
    CHECK(parse("a,label\n1,0\n", &o, &d, &e) == NL_EINVAL);
}

static void test_files(void) {
    tu_tmpdir();
    nl_dataset d;
    nl_error e = {0};
    const char *text = "a,b,label\n1,2,1\n3,4,0\n";
    tu_write("t.csv", text, strlen(text));
    CHECK(nl_csv_load(tu_path("t.csv"), NULL, &d, &e) == NL_OK);
    CHECK(d.n == 2 && d.c == 2 && d.labels[0] == 1);
    nl_dataset_free(&d);
    /* by extension, any case */
    tu_write("T.CSV", text, strlen(text));
    CHECK(nl_table_load(tu_path("T.CSV"), NULL, &d, &e) == NL_OK && d.n == 2);
    nl_dataset_free(&d);
    CHECK(nl_table_load(tu_path("t.txt"), NULL, &d, &e) == NL_EINVAL);
    CHECK_CONTAINS(e.msg, ".csv or .npz");
    CHECK(nl_csv_load(tu_path("missing.csv"), NULL, &d, &e) == NL_ENOTFOUND);
    CHECK_CONTAINS(e.msg, "missing.csv");
    /* a FIFO (no writer: a blocking open would hang) and a directory */
    CHECK(mkfifo(tu_path("fifo.csv"), 0600) == 0);
    CHECK(nl_csv_load(tu_path("fifo.csv"), NULL, &d, &e) == NL_EIO);
    CHECK_CONTAINS(e.msg, "FIFO");
    tu_mkdir("dir.csv");
    CHECK(nl_table_load(tu_path("dir.csv"), NULL, &d, &e) != NL_OK);
    CHECK(d.x == NULL);
    /* the byte limit */
    nl_table_options o = nl_table_defaults();
    o.max_bytes = 10;
    CHECK(nl_csv_load(tu_path("t.csv"), &o, &d, &e) == NL_EFORMAT);
    CHECK_CONTAINS(e.msg, "larger than 10 bytes");
    /* a larger file (grows past the first read) */
    FILE *f = fopen(tu_path("big.csv"), "w");
    fputs("f0,f1,f2,label\n", f);
    for (int i = 0; i < 30000; i++) fprintf(f, "%d,%d.5,%d,%d\n", i, i, -i, i % 7);
    fclose(f);
    CHECK(nl_csv_load(tu_path("big.csv"), NULL, &d, &e) == NL_OK);
    CHECK(d.n == 30000 && d.num_classes == 7);
    if (d.x) CHECK(d.x[3 * 29999] == 29999.0f && d.x[3 * 29999 + 1] == 29999.5f);
    if (d.labels) CHECK(d.labels[29999] == 29999 % 7);
    nl_dataset_free(&d);
    tu_cleanup();
}

static void test_split(void) {
    nl_dataset d, held;
    nl_error e = {0};
    char text[512] = "a,label\n";
    for (int i = 0; i < 10; i++) snprintf(text + strlen(text), 64, "%d,%d\n", i, i % 3);
    CHECK(parse(text, NULL, &d, &e) == NL_OK);
    CHECK(nl_dataset_split(&d, 0.2, &held, &e) == NL_OK);
    CHECK(d.n == 8 && held.n == 2); /* Keras: int(10 * 0.8) = 8 kept */
    CHECK(held.x && held.labels && held.x[0] == 8.0f && held.x[1] == 9.0f);
    CHECK(held.labels[0] == 8 % 3 && held.labels[1] == 9 % 3);
    CHECK(held.h == d.h && held.w == d.w && held.c == d.c && held.num_classes == d.num_classes);
    CHECK(d.x[7] == 7.0f);
    nl_dataset_free(&held);
    /* 0.33 of 8: int(8 * 0.67) = 5 kept, 3 held */
    CHECK(nl_dataset_split(&d, 0.33, &held, &e) == NL_OK);
    CHECK(d.n == 5 && held.n == 3 && held.x[0] == 5.0f);
    nl_dataset_free(&held);
    /* never empty, and nothing changes on an error */
    CHECK(nl_dataset_split(&d, 1e-18, &held, &e) == NL_EINVAL); /* none held out */
    CHECK_CONTAINS(e.msg, "both parts");
    CHECK(d.n == 5 && held.n == 0 && held.x == NULL);
    CHECK(nl_dataset_split(&d, 0.999, &held, &e) == NL_EINVAL && d.n == 5);
    CHECK(nl_dataset_split(&d, 0.0, &held, &e) == NL_EINVAL);
    CHECK(nl_dataset_split(&d, 1.0, &held, &e) == NL_EINVAL);
    CHECK(nl_dataset_split(&d, NAN, &held, &e) == NL_EINVAL);
    nl_dataset_free(&d);

    /* u8 images (the built-in datasets) and float values */
    nl_dataset im = {0};
    im.n = 4, im.h = 1, im.w = 2, im.c = 1, im.num_classes = 10;
    im.images = malloc(8);
    im.labels = malloc(4);
    for (int i = 0; i < 8; i++) im.images[i] = (uint8_t)(10 + i);
    for (int i = 0; i < 4; i++) im.labels[i] = (uint8_t)i;
    CHECK(nl_dataset_split(&im, 0.25, &held, &e) == NL_OK);
    CHECK(im.n == 3 && held.n == 1 && held.images && held.images[0] == 16 && held.images[1] == 17 &&
          held.labels[0] == 3 && !held.x);
    nl_dataset_free(&held);
    nl_dataset_free(&im);
    nl_table_options o = nl_table_defaults();
    o.targets = NL_TABLE_VALUES;
    CHECK(parse("a,label\n1,0.5\n2,1.5\n", &o, &d, &e) == NL_OK);
    CHECK(nl_dataset_split(&d, 0.5, &held, &e) == NL_OK);
    CHECK(held.n == 1 && held.y && held.y[0] == 1.5f && held.targets == 1 && !held.labels);
    nl_dataset_free(&held);
    nl_dataset_free(&d);
}

int main(void) {
    test_good();
    test_hostile();
    test_files();
    test_split();
    CHECK_DONE();
}
