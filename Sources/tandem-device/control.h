/*
 * JSON control messages (protocol/README.md §5), built and read with cJSON.
 */
#ifndef TANDEM_DEVICE_CONTROL_H
#define TANDEM_DEVICE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define CONTROL_CLIENT_NAME "tandem-device/0.1"

/* Messages this client sends. Each returns a new cJSON object (NULL when out of memory). */
cJSON *control_hello_join(const char *code, const char *key);
cJSON *control_hello_resume(const char *token);
/* recording: -1 leaves the member out, 0 refuses, 1 agrees (§19). */
cJSON *control_consent(bool granted, const char *source, int recording);
cJSON *control_stream_start(unsigned stream_id, const char *source, const char *codec, unsigned width,
                            unsigned height, double fps);
/* stream.pause, stream.resume, stream.stop */
cJSON *control_stream_ref(const char *type, unsigned stream_id);
cJSON *control_session_end(void);

/* Serializes `message` without white space into buf (cap bytes); returns its length, or
 * 0 when it does not fit. Frees nothing. */
size_t control_print(const cJSON *message, char *buf, size_t cap);

/* Reading received messages. Each returns NULL / false when the member is missing, of
 * the wrong type or out of bounds, so a hostile peer's values never reach the caller
 * unchecked. */
const char *control_string(const cJSON *object, const char *name, size_t max_bytes);
bool control_number(const cJSON *object, const char *name, double min, double max, double *out);
bool control_integer(const cJSON *object, const char *name, double min, double max, long long *out);
/* 1 true, 0 false, -1 absent or not a boolean. */
int control_bool(const cJSON *object, const char *name);
/* Whether `array` (a member of object) is an array of strings that contains `value`;
 * -1 when the member is absent or not an array. */
int control_list_contains(const cJSON *object, const char *name, const char *value);

/*
 * Writes `message` to `out` as one JSON line: serialized by cJSON (peer text JSON-escaped),
 * with DEL, C1, U+2028/2029 and bidi controls escaped too, so the line is safe on a
 * terminal. A line longer than max_line bytes is replaced by
 * {"type":T,"truncated":true,"maxBytes":N}. Returns 0, or -1 when writing failed.
 */
int control_write_line(FILE *out, const cJSON *message, size_t max_line);

#endif
