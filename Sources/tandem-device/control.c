#define _GNU_SOURCE 1
#include "control.h"

#include "text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static cJSON *hello_base(void) {
    cJSON *m = cJSON_CreateObject();
    if (m == NULL) return NULL;
    cJSON *codecs = cJSON_CreateArray();
    bool ok = codecs != NULL;
    static const char *const decodes[] = {"jpeg", "png", "webp"};
    for (size_t i = 0; ok && i < sizeof decodes / sizeof decodes[0]; i++) {
        cJSON *name = cJSON_CreateString(decodes[i]);
        ok = name != NULL && cJSON_AddItemToArray(codecs, name);
        if (!ok) cJSON_Delete(name);
    }
    if (!ok) {
        cJSON_Delete(codecs);
        cJSON_Delete(m);
        return NULL;
    }
    ok = cJSON_AddStringToObject(m, "type", "hello") && cJSON_AddNumberToObject(m, "protocol", 1) &&
         cJSON_AddStringToObject(m, "role", "customer") &&
         cJSON_AddStringToObject(m, "client", CONTROL_CLIENT_NAME) && cJSON_AddItemToObject(m, "codecs", codecs);
    if (!ok) {
        if (cJSON_GetObjectItemCaseSensitive(m, "codecs") == NULL) cJSON_Delete(codecs);
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

cJSON *control_hello_join(const char *code, const char *key) {
    cJSON *m = hello_base();
    if (m == NULL) return NULL;
    if (!cJSON_AddStringToObject(m, "code", code) || (key != NULL && !cJSON_AddStringToObject(m, "key", key))) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

cJSON *control_hello_resume(const char *token) {
    cJSON *m = hello_base();
    if (m == NULL) return NULL;
    if (!cJSON_AddStringToObject(m, "resume", token)) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

cJSON *control_consent(bool granted, const char *source, int recording) {
    cJSON *m = cJSON_CreateObject();
    if (m == NULL) return NULL;
    bool ok = cJSON_AddStringToObject(m, "type", "consent") && cJSON_AddBoolToObject(m, "granted", granted) &&
              cJSON_AddStringToObject(m, "source", source) &&
              (recording < 0 || cJSON_AddBoolToObject(m, "recording", recording > 0));
    if (!ok) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

cJSON *control_stream_start(unsigned stream_id, const char *source, const char *codec, unsigned width,
                            unsigned height, double fps) {
    cJSON *m = cJSON_CreateObject();
    if (m == NULL) return NULL;
    bool ok = cJSON_AddStringToObject(m, "type", "stream.start") &&
              cJSON_AddNumberToObject(m, "streamId", stream_id) && cJSON_AddStringToObject(m, "source", source) &&
              cJSON_AddStringToObject(m, "codec", codec) && cJSON_AddNumberToObject(m, "width", width) &&
              cJSON_AddNumberToObject(m, "height", height) && cJSON_AddNumberToObject(m, "fps", fps);
    if (!ok) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

cJSON *control_stream_ref(const char *type, unsigned stream_id) {
    cJSON *m = cJSON_CreateObject();
    if (m == NULL) return NULL;
    if (!cJSON_AddStringToObject(m, "type", type) || !cJSON_AddNumberToObject(m, "streamId", stream_id)) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

cJSON *control_session_end(void) {
    cJSON *m = cJSON_CreateObject();
    if (m == NULL) return NULL;
    if (!cJSON_AddStringToObject(m, "type", "session.end")) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

size_t control_print(const cJSON *message, char *buf, size_t cap) {
    if (cap < 8) return 0;
    /* cJSON wants 5 spare bytes to be sure of its estimate. */
    if (!cJSON_PrintPreallocated((cJSON *)message, buf, (int)(cap > 1u << 30 ? 1u << 30 : cap), 0)) return 0;
    size_t len = strnlen(buf, cap);
    return len < cap ? len : 0;
}

const char *control_string(const cJSON *object, const char *name, size_t max_bytes) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsString(item) || item->valuestring == NULL) return NULL;
    if (strnlen(item->valuestring, max_bytes + 1) > max_bytes) return NULL;
    return item->valuestring;
}

bool control_number(const cJSON *object, const char *name, double min, double max, double *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) return false;
    if (item->valuedouble < min || item->valuedouble > max) return false;
    *out = item->valuedouble;
    return true;
}

bool control_integer(const cJSON *object, const char *name, double min, double max, long long *out) {
    double value;
    if (!control_number(object, name, min, max, &value)) return false;
    if (value < -9.0e15 || value > 9.0e15) return false;
    long long whole = (long long)value;
    if ((double)whole != value) return false; /* not a whole number */
    *out = whole;
    return true;
}

int control_bool(const cJSON *object, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsBool(item)) return -1;
    return cJSON_IsTrue(item) ? 1 : 0;
}

int control_list_contains(const cJSON *object, const char *name, const char *value) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsArray(list)) return -1;
    const cJSON *item;
    int seen = 0;
    cJSON_ArrayForEach(item, list) {
        /* At most 16 names are meaningful (§5.1); do not walk an endless list. */
        if (++seen > 64) break;
        if (cJSON_IsString(item) && item->valuestring != NULL && strcmp(item->valuestring, value) == 0) return 1;
    }
    return 0;
}

int control_write_line(FILE *out, const cJSON *message, size_t max_line) {
    char *printed = cJSON_PrintUnformatted(message);
    if (printed == NULL) return -1;
    size_t len = 0;
    char *safe = text_escape_json(printed, strlen(printed), max_line, &len);
    free(printed);
    int result = 0;
    if (safe == NULL) {
        /* Too long for a line (or no memory): say what it was, not what it said. */
        cJSON *stub = cJSON_CreateObject();
        const char *type = control_string(message, "type", 64);
        char buf[256];
        if (stub == NULL || !cJSON_AddStringToObject(stub, "type", type != NULL ? type : "?") ||
            !cJSON_AddTrueToObject(stub, "truncated") || !cJSON_AddNumberToObject(stub, "maxBytes", (double)max_line)) {
            cJSON_Delete(stub);
            return -1;
        }
        size_t n = control_print(stub, buf, sizeof buf);
        cJSON_Delete(stub);
        char *escaped = n > 0 ? text_escape_json(buf, n, sizeof buf * 6, &len) : NULL;
        if (escaped == NULL) return -1;
        safe = escaped;
    }
    if (fwrite(safe, 1, len, out) != len || fputc('\n', out) == EOF || fflush(out) != 0) result = -1;
    free(safe);
    return result;
}
