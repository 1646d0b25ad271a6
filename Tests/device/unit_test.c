/*
 * Unit tests of tandem-device's pure parts: terminal and JSON escaping, join codes, links
 * and broker URLs, the JPEG SOF reader and Huffman-table insertion, the PNG encoder.
 *
 * usage: unit_test                      run the tests
 *        unit_test --fix-jpeg IN OUT    write IN with the standard Huffman tables added when
 *                                       it has none (device_test.py decodes the result)
 *        unit_test --png OUT            write a 300x100 test PNG (two stored blocks)
 */
#define _GNU_SOURCE 1
#include "args.h"
#include "jpeg.h"
#include "png.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        checks++;                                                                                                    \
        if (!(cond)) {                                                                                               \
            failures++;                                                                                              \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                              \
            printf(__VA_ARGS__);                                                                                     \
            printf("\n");                                                                                            \
        }                                                                                                            \
    } while (0)

static void test_terminal_escape(void) {
    char out[256];
    struct {
        const char *in, *want;
    } cases[] = {
        {"plain text", "plain text"},
        {"hi\x1b[2J\nnext\r\tx", "hi\\u{1B}[2J\\nnext\\r\\tx"},
        {"bell\x07 del\x7f", "bell\\u{7} del\\u{7F}"},
        {"csi\xc2\x9b", "csi\\u{9B}"},
        {"rtl\xe2\x80\xae!", "rtl\\u{202E}!"},
        {"sep\xe2\x80\xa8", "sep\\u{2028}"},
        {"iso\xe2\x81\xa6", "iso\\u{2066}"},
        {"bad\xff\xc3", "bad\\u{FFFD}\\u{FFFD}"},
        {"overlong\xc0\xaf", "overlong\\u{FFFD}\\u{FFFD}"},
        {"surrogate\xed\xa0\x80", "surrogate\\u{FFFD}\\u{FFFD}\\u{FFFD}"},
        {"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"},
        {"back\\slash", "back\\slash"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        text_escape_terminal(cases[i].in, strlen(cases[i].in), out, sizeof out);
        CHECK(strcmp(out, cases[i].want) == 0, "terminal escape of case %zu: got '%s'", i, out);
    }
    /* Long text is cut, with an ellipsis, and stays within the buffer. */
    char long_text[1000];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    char small[16];
    text_escape_terminal(long_text, strlen(long_text), small, sizeof small);
    CHECK(strlen(small) < sizeof small && strcmp(small + strlen(small) - 3, "...") == 0, "cut: '%s'", small);
    /* An escape is never cut in half. */
    char esc[12];
    text_escape_terminal("\x1b\x1b\x1b", 3, esc, sizeof esc);
    CHECK(strcmp(esc, "\\u{1B}...") == 0, "cut between escapes: '%s'", esc);
}

static void test_json_escape(void) {
    const char *in = "{\"text\":\"a\x7f\xc2\x85\xe2\x80\xa8\xe2\x80\xae\xff z\"}";
    size_t len = 0;
    char *out = text_escape_json(in, strlen(in), 1024, &len);
    CHECK(out != NULL && strcmp(out, "{\"text\":\"a\\u007F\\u0085\\u2028\\u202E\\uFFFD z\"}") == 0, "json: %s",
          out ? out : "(null)");
    CHECK(out != NULL && len == strlen(out), "json length");
    free(out);
    CHECK(text_escape_json(in, strlen(in), 10, &len) == NULL, "json over its cap is refused");
}

static void test_codes(void) {
    char code[CODE_DIGITS + 1];
    CHECK(args_normalize_code("482-913-557-301", code) == 0 && strcmp(code, "482913557301") == 0, "dashes");
    CHECK(args_normalize_code("482 913 557 301", code) == 0 && strcmp(code, "482913557301") == 0, "spaces");
    CHECK(args_normalize_code("482913557301", code) == 0, "bare");
    CHECK(args_normalize_code("48291355730", code) != 0, "11 digits");
    CHECK(args_normalize_code("4829135573011", code) != 0, "13 digits");
    CHECK(args_normalize_code("48291355730a", code) != 0, "a letter");
    CHECK(args_normalize_code("482_913_557_301", code) != 0, "underscores");
    CHECK(args_normalize_code("", code) != 0, "empty");
    CHECK(args_valid_key("q2Zt0d3X9vYc8Lw1RkP5_A"), "key");
    CHECK(!args_valid_key("q2Zt0d3X9vYc8Lw1RkP5_"), "short key");
    CHECK(!args_valid_key("q2Zt0d3X9vYc8Lw1RkP5_AA"), "long key");
    CHECK(!args_valid_key("q2Zt0d3X9vYc8Lw1RkP5+A"), "key with +");
}

static void test_urls(void) {
    struct server s;
    char code[CODE_DIGITS + 1], key[LINK_KEY_LENGTH + 1], err[512];
    bool dropped;
    int r = args_parse_link("https://127.0.0.1:8443/j/482913557301#k=q2Zt0d3X9vYc8Lw1RkP5_A", &s, code, key,
                            &dropped, err, sizeof err);
    CHECK(r == 0 && strcmp(s.host, "127.0.0.1") == 0 && s.port == 8443 && strcmp(s.tls_name, "localhost") == 0 &&
              strcmp(code, "482913557301") == 0 && strcmp(key, "q2Zt0d3X9vYc8Lw1RkP5_A") == 0 && !dropped,
          "link: %s", err);
    r = args_parse_link("https://[::1]:9/j/482-913-557-301", &s, code, key, &dropped, err, sizeof err);
    CHECK(r == 0 && strcmp(s.host, "::1") == 0 && s.port == 9 && strcmp(s.tls_name, "localhost") == 0 &&
              strcmp(s.url, "https://[::1]:9") == 0 && key[0] == '\0',
          "ipv6 link: %s", err);
    r = args_parse_link("https://Support.Example.com/j/482913557301#x=1&k=bad", &s, code, key, &dropped, err,
                        sizeof err);
    CHECK(r == 0 && s.port == 443 && strcmp(s.tls_name, "support.example.com") == 0 && dropped && key[0] == '\0',
          "link with a bad key: %s", err);
    r = args_parse_link("https://h:1/j/482913557301#a=b&k=q2Zt0d3X9vYc8Lw1RkP5_A", &s, code, key, &dropped, err,
                        sizeof err);
    CHECK(r == 0 && strcmp(key, "q2Zt0d3X9vYc8Lw1RkP5_A") == 0, "key after another member");
    CHECK(args_parse_link("https://h:1/x/482913557301", &s, code, key, &dropped, err, sizeof err) != 0, "not /j/");
    CHECK(args_parse_link("https://h:1/j/4829135573", &s, code, key, &dropped, err, sizeof err) != 0, "short code");
    CHECK(args_parse_link("https://h:1/j/482913557301?x", &s, code, key, &dropped, err, sizeof err) != 0, "query");
    CHECK(args_parse_server("https://10.0.0.5:8443", &s, err, sizeof err) == 0 && strcmp(s.tls_name, "10.0.0.5") == 0,
          "ip server");
    CHECK(args_parse_server("https://127.1.2.3:8443/", &s, err, sizeof err) == 0 && strcmp(s.tls_name, "localhost") == 0,
          "loopback server");
    CHECK(args_parse_server("http://h:1", &s, err, sizeof err) != 0, "http refused");
    CHECK(args_parse_server("https://h:0", &s, err, sizeof err) != 0, "port 0");
    CHECK(args_parse_server("https://h:65536", &s, err, sizeof err) != 0, "port 65536");
    CHECK(args_parse_server("https://h:+1", &s, err, sizeof err) != 0, "port +1");
    CHECK(args_parse_server("https://h:1/path", &s, err, sizeof err) != 0, "a path");
    CHECK(args_parse_server("https://u@h:1", &s, err, sizeof err) != 0, "user info");
    CHECK(args_parse_server("https://h_x:1", &s, err, sizeof err) != 0, "underscore host");
    CHECK(args_parse_server("https://[::1", &s, err, sizeof err) != 0, "unclosed bracket");
    CHECK(args_parse_server("https://[zz]:1", &s, err, sizeof err) != 0, "bad ipv6");
    char huge[600];
    memset(huge, 'a', sizeof huge);
    memcpy(huge, "https://", 8);
    huge[sizeof huge - 1] = '\0';
    CHECK(args_parse_server(huge, &s, err, sizeof err) != 0, "a host too long");
}

/* SOI, APP0, SOF0 160x120, SOS, EOI. */
static const uint8_t tiny_jpeg[] = {
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J',  'F',  'I',  'F',  0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x78, 0x00, 0xA0, 0x01, 0x01, 0x11, 0x00, 0xFF,
    0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9,
};

static void test_jpeg(void) {
    unsigned w = 0, h = 0;
    CHECK(jpeg_dimensions(tiny_jpeg, sizeof tiny_jpeg, &w, &h) == JPEG_OK && w == 160 && h == 120, "size %ux%u", w,
          h);
    CHECK(jpeg_dimensions(tiny_jpeg, 24, &w, &h) == JPEG_TRUNCATED, "cut before SOF");
    CHECK(jpeg_dimensions((const uint8_t *)"GIF89a", 6, &w, &h) == JPEG_NOT_JPEG, "not a JPEG");
    uint8_t bad[sizeof tiny_jpeg];
    memcpy(bad, tiny_jpeg, sizeof bad);
    bad[5] = 0x01; /* segment length 1 */
    CHECK(jpeg_dimensions(bad, sizeof bad, &w, &h) == JPEG_MALFORMED, "segment length below 2");
    memcpy(bad, tiny_jpeg, sizeof bad);
    bad[4] = 0xFF, bad[5] = 0xFF; /* APP0 longer than the data */
    CHECK(jpeg_dimensions(bad, sizeof bad, &w, &h) == JPEG_TRUNCATED, "segment past the end");
    CHECK(!jpeg_has_huffman_tables(tiny_jpeg, sizeof tiny_jpeg), "no DHT");
    uint8_t buf[sizeof tiny_jpeg + 1024];
    memcpy(buf, tiny_jpeg, sizeof tiny_jpeg);
    size_t len = sizeof tiny_jpeg;
    CHECK(jpeg_insert_huffman_tables(buf, &len, sizeof tiny_jpeg + 100) == -1 && len == sizeof tiny_jpeg,
          "too small a buffer is refused");
    CHECK(jpeg_insert_huffman_tables(buf, &len, sizeof buf) == 0 && len == sizeof tiny_jpeg + 420, "DHT added");
    CHECK(jpeg_has_huffman_tables(buf, len), "DHT found after insertion");
    CHECK(memcmp(buf, tiny_jpeg, 33) == 0 && buf[33] == 0xFF && buf[34] == 0xC4 &&
              memcmp(buf + 33 + 420, tiny_jpeg + 33, sizeof tiny_jpeg - 33) == 0,
          "the DHT is before SOS, the rest unchanged");
    size_t again = len;
    CHECK(jpeg_insert_huffman_tables(buf, &again, sizeof buf) == 0 && again == len, "a JPEG with DHT is left alone");
    /* Each table's 16 counts add up to its number of values. */
    const uint8_t *p = buf + 33 + 4, *end = buf + 33 + 420;
    int tables = 0;
    while (p < end) {
        size_t total = 0;
        for (int i = 1; i <= 16; i++) total += p[i];
        p += 17 + total;
        tables++;
    }
    CHECK(p == end && tables == 4, "four consistent Huffman tables");
}

static void test_png(void) {
    CHECK(png_crc32(0, (const uint8_t *)"IEND", 4) == 0xAE426082u, "crc32 of IEND");
    CHECK(png_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u, "crc32 check value");
    CHECK(png_adler32(1, (const uint8_t *)"Wikipedia", 9) == 0x11E60398u, "adler32");
    uint8_t rgb[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
    size_t size = png_encoded_size(2, 2);
    uint8_t *out = malloc(size);
    CHECK(out != NULL && png_encode_rgb(rgb, 2, 2, out, size) == size, "png size");
    CHECK(out != NULL && memcmp(out, "\x89PNG\r\n\x1a\n", 8) == 0, "png signature");
    CHECK(out != NULL && png_encode_rgb(rgb, 2, 2, out, size - 1) == 0, "too small a buffer");
    free(out);
    CHECK(png_encoded_size(0, 5) == 0 && png_encoded_size(20000, 1) == 0, "invalid sizes");
    /* A picture larger than one stored block (65535 bytes). */
    size = png_encoded_size(300, 100);
    /* rows of 1 + 900 bytes: 90100 bytes in two stored blocks */
    CHECK(size == 8 + 25 + 12 + (2 + 2 * 5 + 90100 + 4) + 12, "png of two stored blocks: %zu bytes", size);
}

static int write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int fix_jpeg(const char *in_path, const char *out_path) {
    FILE *f = fopen(in_path, "rb");
    if (f == NULL) return 2;
    size_t cap = 8 << 20;
    uint8_t *buf = malloc(cap);
    size_t len = buf != NULL ? fread(buf, 1, cap - 1024, f) : 0;
    fclose(f);
    int r = buf != NULL && jpeg_insert_huffman_tables(buf, &len, cap) == 0 && write_file(out_path, buf, len) == 0;
    free(buf);
    return r ? 0 : 1;
}

static int write_png(const char *path) {
    unsigned w = 300, h = 100;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    size_t size = png_encoded_size(w, h);
    uint8_t *out = malloc(size);
    int r = 1;
    if (rgb != NULL && out != NULL) {
        for (size_t i = 0; i < (size_t)w * h * 3; i++) rgb[i] = (uint8_t)(i * 7);
        r = png_encode_rgb(rgb, w, h, out, size) == size && write_file(path, out, size) == 0 ? 0 : 1;
    }
    free(rgb);
    free(out);
    return r;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--fix-jpeg") == 0) return fix_jpeg(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--png") == 0) return write_png(argv[2]);
    test_terminal_escape();
    test_json_escape();
    test_codes();
    test_urls();
    test_jpeg();
    test_png();
    printf("unit tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
