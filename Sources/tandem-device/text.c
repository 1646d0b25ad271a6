#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *scalar, bool *valid) {
    unsigned char c = s[0];
    size_t need;
    uint32_t value, minimum;
    if (c < 0x80) {
        *scalar = c;
        *valid = true;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 2, value = c & 0x1F, minimum = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, value = c & 0x0F, minimum = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, value = c & 0x07, minimum = 0x10000;
    } else {
        goto bad;
    }
    if (n < need) goto bad;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        value = value << 6 | (s[i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) goto bad;
    *scalar = value;
    *valid = true;
    return need;
bad:
    *scalar = 0xFFFD;
    *valid = false;
    return 1;
}

bool text_needs_escape(uint32_t s) {
    return s <= 0x1F || (s >= 0x7F && s <= 0x9F) || s == 0x2028 || s == 0x2029 ||
           (s >= 0x202A && s <= 0x202E) || (s >= 0x2066 && s <= 0x2069);
}

char *text_escape_terminal(const char *text, size_t len, char *out, size_t cap) {
    static const char ellipsis[] = "...";
    const unsigned char *s = (const unsigned char *)text;
    size_t used = 0, i = 0;
    /* Keep room for the ellipsis and the NUL. */
    size_t limit = cap - sizeof(ellipsis);
    while (i < len) {
        uint32_t scalar;
        bool valid;
        size_t step = utf8_decode(s + i, len - i, &scalar, &valid);
        char piece[16];
        size_t piece_len;
        if (!valid || text_needs_escape(scalar)) {
            if (scalar == '\n') piece_len = (size_t)snprintf(piece, sizeof piece, "\\n");
            else if (scalar == '\r') piece_len = (size_t)snprintf(piece, sizeof piece, "\\r");
            else if (scalar == '\t') piece_len = (size_t)snprintf(piece, sizeof piece, "\\t");
            else piece_len = (size_t)snprintf(piece, sizeof piece, "\\u{%X}", (unsigned)scalar);
        } else {
            memcpy(piece, s + i, step);
            piece_len = step;
        }
        if (used + piece_len > limit) {
            memcpy(out + used, ellipsis, sizeof(ellipsis));
            return out;
        }
        memcpy(out + used, piece, piece_len);
        used += piece_len;
        i += step;
    }
    out[used] = '\0';
    return out;
}

char *text_escape_json(const char *json, size_t len, size_t max_len, size_t *out_len) {
    const unsigned char *s = (const unsigned char *)json;
    /* First pass: the length of the result. */
    size_t total = 0;
    for (size_t i = 0; i < len;) {
        uint32_t scalar;
        bool valid;
        size_t step = utf8_decode(s + i, len - i, &scalar, &valid);
        total += (!valid || (scalar >= 0x7F && text_needs_escape(scalar))) ? 6 : step;
        i += step;
        if (total > max_len) return NULL;
    }
    char *out = malloc(total + 1);
    if (out == NULL) return NULL;
    size_t used = 0;
    for (size_t i = 0; i < len;) {
        uint32_t scalar;
        bool valid;
        size_t step = utf8_decode(s + i, len - i, &scalar, &valid);
        if (!valid || (scalar >= 0x7F && text_needs_escape(scalar))) {
            /* Every escaped scalar is in the BMP, so one \uXXXX escape holds it. */
            snprintf(out + used, 7, "\\u%04X", (unsigned)scalar);
            used += 6;
        } else {
            memcpy(out + used, s + i, step);
            used += step;
        }
        i += step;
    }
    out[used] = '\0';
    *out_len = used;
    return out;
}
