/* SHA-256 (FIPS 180-2 / NIST CAVP examples) and MD5 (RFC 1321 test suite)
 * through nnlab's hash API. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nnlab/fetch.h"

static void check_vec(nl_hash_algo a, const char *msg, const char *want) {
    char hex[NL_HASH_HEX_MAX];
    nl_error err = {0};
    CHECK(nl_hash_buffer(a, msg, strlen(msg), hex, &err) == NL_OK);
    CHECK_MSG(!strcmp(hex, want), "%s(\"%.20s\") = %s, expected %s", nl_hash_name(a), msg, hex,
              want);
}

int main(void) {
    /* FIPS 180-2 appendix B: one block, two blocks; plus the empty message. */
    check_vec(NL_HASH_SHA256, "abc",
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_vec(NL_HASH_SHA256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_vec(NL_HASH_SHA256, "",
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* FIPS 180-2 B.3: one million 'a', fed in uneven pieces. */
    {
        nl_hasher *h = NULL;
        nl_error err = {0};
        char hex[NL_HASH_HEX_MAX];
        char *a = malloc(1000000);
        memset(a, 'a', 1000000);
        CHECK(nl_hasher_new(NL_HASH_SHA256, &h, &err) == NL_OK);
        size_t done = 0, step = 1;
        while (done < 1000000) {
            size_t k = step < 1000000 - done ? step : 1000000 - done;
            CHECK(nl_hasher_update(h, a + done, k, &err) == NL_OK);
            done += k;
            step = step * 3 + 1;
        }
        CHECK(nl_hasher_final(h, hex, &err) == NL_OK);
        CHECK_MSG(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
                  "million a: %s", hex);
        /* no use after final */
        CHECK(nl_hasher_update(h, "x", 1, &err) == NL_EINVAL);
        CHECK(nl_hasher_final(h, hex, &err) == NL_EINVAL);
        nl_hasher_free(h);

        /* the same through a file */
        char path[] = "/tmp/nnlab-test-hash-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        CHECK(write(fd, a, 1000000) == 1000000);
        close(fd);
        uint64_t bytes = 0;
        CHECK(nl_hash_file(path, NL_HASH_SHA256, hex, &bytes, &err) == NL_OK);
        CHECK(bytes == 1000000);
        CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
        CHECK(nl_hash_file(path, NL_HASH_MD5, hex, NULL, &err) == NL_OK);
        CHECK_MSG(!strcmp(hex, "7707d6ae4e027c70eea2a935c2296f21"), "md5 million a: %s", hex);
        unlink(path);
        CHECK(nl_hash_file(path, NL_HASH_SHA256, hex, NULL, &err) == NL_EIO);
        CHECK_CONTAINS(err.msg, path);
        free(a);
    }

    /* RFC 1321 appendix A.5 */
    check_vec(NL_HASH_MD5, "", "d41d8cd98f00b204e9800998ecf8427e");
    check_vec(NL_HASH_MD5, "a", "0cc175b9c0f1b6a831c399e269772661");
    check_vec(NL_HASH_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72");
    check_vec(NL_HASH_MD5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0");
    check_vec(NL_HASH_MD5, "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
    check_vec(NL_HASH_MD5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
              "d174ab98d277d9f5a5611c2c9f419d9f");
    check_vec(NL_HASH_MD5,
              "1234567890123456789012345678901234567890123456789012345678901234567890123456789"
              "0",
              "57edf4a22be3c955ac49da2e2107b67a");

    /* names, lengths, comparison */
    CHECK(!strcmp(nl_hash_name(NL_HASH_MD5), "md5"));
    CHECK(!strcmp(nl_hash_name(NL_HASH_SHA256), "sha256"));
    CHECK(nl_hash_hex_len(NL_HASH_MD5) == 32 && nl_hash_hex_len(NL_HASH_SHA256) == 64);
    CHECK(nl_hash_equal("ABCdef01", "abcDEF01"));
    CHECK(!nl_hash_equal("abcdef01", "abcdef02"));
    CHECK(!nl_hash_equal("abcdef01", "abcdef0"));
    CHECK(!nl_hash_equal("", ""));
    CHECK(!nl_hash_equal(NULL, "ab"));
    CHECK(!nl_hash_equal("zz", "zz")); /* not hex */
    {
        nl_hasher *h = NULL;
        nl_error err = {0};
        CHECK(nl_hasher_new((nl_hash_algo)7, &h, &err) == NL_EINVAL && h == NULL);
    }
    CHECK_DONE();
}
