/*
 * Checks the device's frame codec (Sources/tandem-device/frame.c) against
 * protocol/vectors/frames.json: valid and extended-header frames decode to the listed
 * fields and re-encode to the listed (canonical) bytes; invalid ones fail with the listed
 * error identifier. The vectors are read with cJSON.
 *
 * usage: vectors_test [path/to/frames.json]
 */
#define _GNU_SOURCE 1
#include "frame.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

static void check(bool ok, const char *vector, const char *what) {
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL %s: %s\n", vector, what);
    }
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap + 1);
    for (size_t n; buf != NULL && (n = fread(buf + used, 1, cap - used, f)) > 0;) {
        used += n;
        if (used == cap && cap < (1u << 26)) {
            char *grown = realloc(buf, cap * 2 + 1);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) buf[used] = '\0';
    *len = used;
    return buf;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Malloc'd bytes of a hex string (at least 1 byte allocated); NULL when malformed. */
static uint8_t *unhex(const char *hex, size_t *len) {
    size_t n = strlen(hex);
    if (n % 2 != 0) return NULL;
    uint8_t *out = malloc(n / 2 + 1);
    if (out == NULL) return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

static const char *string_member(const cJSON *o, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Compares an unsigned field with a JSON number. JSON numbers are doubles in cJSON: values
 * up to 2^53 compare exactly; a larger one (the vector's 2^64-1 timestamp) compares as the
 * nearest double, and its exact bits are checked by the byte-exact re-encoding below. */
static bool same_number(const cJSON *o, const char *name, uint64_t value) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(item)) return false;
    double expected = item->valuedouble;
    if (expected < 9007199254740992.0) return expected >= 0 && (uint64_t)expected == value;
    return (double)value == expected;
}

static bool same_header(const struct frame_header *a, const struct frame_header *b) {
    return a->header_length == b->header_length && a->flags == b->flags && a->codec == b->codec &&
           a->stream_id == b->stream_id && a->sequence == b->sequence && a->capture_micros == b->capture_micros &&
           a->payload_length == b->payload_length;
}

static void check_valid(const cJSON *v, bool extended) {
    const char *name = string_member(v, "name");
    const char *hex = string_member(v, "hex");
    const char *canonical_hex = string_member(v, extended ? "canonicalHex" : "hex");
    const char *payload_hex = string_member(v, "payloadHex");
    const char *codec = string_member(v, "codec");
    if (name == NULL) name = "(unnamed)";
    if (hex == NULL || canonical_hex == NULL || payload_hex == NULL || codec == NULL) {
        check(false, name, "vector lacks hex, canonicalHex, payloadHex or codec");
        return;
    }
    size_t len = 0, canonical_len = 0, payload_len = 0;
    uint8_t *bytes = unhex(hex, &len), *canonical = unhex(canonical_hex, &canonical_len),
            *expected_payload = unhex(payload_hex, &payload_len);
    if (bytes == NULL || canonical == NULL || expected_payload == NULL) {
        check(false, name, "malformed hex in the vector");
        goto done;
    }
    struct frame_header h;
    const uint8_t *payload = NULL;
    enum frame_error e = frame_decode(bytes, len, &h, &payload);
    check(e == FRAME_OK, name, frame_error_id(e));
    if (e != FRAME_OK) goto done;
    const char *decoded_codec = frame_codec_name(h.codec);
    check(decoded_codec != NULL && strcmp(decoded_codec, codec) == 0, name, "codec");
    const cJSON *keyframe = cJSON_GetObjectItemCaseSensitive(v, "keyframe");
    check(cJSON_IsBool(keyframe) && (cJSON_IsTrue(keyframe) != 0) == ((h.flags & FRAME_FLAG_KEYFRAME) != 0), name,
          "keyframe");
    check(same_number(v, "streamId", h.stream_id), name, "streamId");
    check(same_number(v, "sequence", h.sequence), name, "sequence");
    check(same_number(v, "timestampMicros", h.capture_micros), name, "timestampMicros");
    check(h.payload_length == payload_len && memcmp(payload, expected_payload, payload_len) == 0, name, "payload");
    /* A receiver that keeps only the first bytes of a message decodes the same header. */
    struct frame_header prefix;
    size_t keep = len < 256 ? len : 256;
    check(frame_decode_header(bytes, keep, len, &prefix) == FRAME_OK && same_header(&prefix, &h), name,
          "header decoded from a prefix");
    /* Re-encoding gives the (canonical) bytes. */
    uint8_t *encoded = malloc(FRAME_HEADER_SIZE + payload_len + 1);
    if (encoded == NULL) {
        check(false, name, "out of memory");
        goto done;
    }
    struct frame_header out = h;
    out.header_length = FRAME_HEADER_SIZE;
    frame_encode_header(&out, encoded);
    memcpy(encoded + FRAME_HEADER_SIZE, payload, payload_len);
    check(FRAME_HEADER_SIZE + payload_len == canonical_len &&
              memcmp(encoded, canonical, canonical_len) == 0,
          name, extended ? "re-encoding differs from canonicalHex" : "re-encoding differs from hex");
    free(encoded);
done:
    free(bytes);
    free(canonical);
    free(expected_payload);
}

static void check_invalid(const cJSON *v) {
    const char *name = string_member(v, "name");
    const char *hex = string_member(v, "hex");
    const char *error = string_member(v, "error");
    if (name == NULL) name = "(unnamed)";
    if (hex == NULL || error == NULL) {
        check(false, name, "vector lacks hex or error");
        return;
    }
    size_t len = 0;
    uint8_t *bytes = unhex(hex, &len);
    if (bytes == NULL) {
        check(false, name, "malformed hex in the vector");
        return;
    }
    enum frame_error e = frame_decode(bytes, len, NULL, NULL);
    char what[160];
    snprintf(what, sizeof what, "expected %s, got %s", error, frame_error_id(e));
    check(strcmp(frame_error_id(e), error) == 0, name, what);
    size_t keep = len < 256 ? len : 256;
    check(frame_decode_header(bytes, keep, len, NULL) == e, name, "a prefix decodes to another error");
    free(bytes);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "protocol/vectors/frames.json";
    size_t len;
    char *text = read_all(path, &len);
    if (text == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        fprintf(stderr, "%s is not a JSON object\n", path);
        cJSON_Delete(root);
        return 2;
    }
    int counts[3] = {0, 0, 0};
    static const char *const groups[] = {"valid", "extendedHeader", "invalid"};
    for (int g = 0; g < 3; g++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, groups[g]);
        if (!cJSON_IsArray(list)) {
            check(false, groups[g], "missing group");
            continue;
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, list) {
            counts[g]++;
            if (g == 2) check_invalid(v);
            else check_valid(v, g == 1);
        }
    }
    cJSON_Delete(root);
    printf("%s: %d valid, %d extended-header and %d invalid vectors, %d checks, %d failures\n", path, counts[0],
           counts[1], counts[2], checks, failures);
    if (counts[0] == 0 || counts[2] == 0) return 1;
    return failures == 0 ? 0 : 1;
}
