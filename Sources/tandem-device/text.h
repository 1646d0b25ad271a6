/*
 * Peer-supplied text made safe for a terminal and for JSON lines (protocol/README.md §5.5).
 */
#ifndef TANDEM_DEVICE_TEXT_H
#define TANDEM_DEVICE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the UTF-8 scalar at s (n > 0 bytes available) into *scalar and returns the bytes
 * it takes (1–4). A malformed sequence (overlong, surrogate, above U+10FFFF, cut short)
 * takes one byte and gives U+FFFD with *valid false. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *scalar, bool *valid);

/* Whether a scalar is printed escaped: C0 controls, DEL, C1 controls, U+2028/U+2029 and
 * the bidi controls U+202A–U+202E, U+2066–U+2069 (as the tandem CLI does). */
bool text_needs_escape(uint32_t scalar);

/* Writes `text` (len bytes) to `out` (cap >= 8 bytes) as one printable line: line feed,
 * carriage return and tab as \n \r \t, every other escaped scalar as \u{HEX}, malformed
 * UTF-8 as \u{FFFD}. Text that does not fit ends with "..." . Always NUL-terminates and
 * returns `out`. */
char *text_escape_terminal(const char *text, size_t len, char *out, size_t cap);

/* JSON text made safe for a terminal and still the same JSON: DEL, C1, U+2028/U+2029 and
 * the bidi controls become \uXXXX escapes, malformed UTF-8 becomes \uFFFD. Returns a
 * malloc'd NUL-terminated string (its length in *out_len), or NULL when out of memory or
 * when the result would exceed `max_len` bytes. */
char *text_escape_json(const char *json, size_t len, size_t max_len, size_t *out_len);

#endif
